"""Exposure report pages, exports and alert actions.

Every view fetches through accounts.access (404 outside reach), calls one selector or service,
and renders. An investor with a stake sees stake × every money figure, never the forms.
"""

from __future__ import annotations

from csp.decorators import csp_update
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.access import (
    get_alert_for_user,
    get_pdf_export_for_user,
    get_portfolio_for_user,
    investor_share,
)
from accounts.types import AuthenticatedRequest
from portfolio.selectors import NotCurrent, not_current_locations
from riskmodels import exports, pdf_jobs, tasks
from riskmodels.alert_pages import subject_names
from riskmodels.charts import PLOTLY_STYLE_HASHES
from riskmodels.models import Alert, ExportState, PdfExport
from riskmodels.pdf_jobs import report_context
from riskmodels.selectors import holding_lines, not_current_by_group
from riskmodels.services import acknowledge_alert


class AcknowledgeForm(forms.Form):
    reason = forms.CharField(max_length=2000, strip=True)


@login_required
@require_POST
def acknowledge(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    alert = get_alert_for_user(request.user, pk, manage=True)
    form = AcknowledgeForm(request.POST)
    if not form.is_valid():
        return HttpResponse("Say why the alert is acknowledged.", status=400)
    try:
        acknowledge_alert(alert=alert, user=request.user, reason=form.cleaned_data["reason"])
    except ValidationError as error:
        return HttpResponse(" ".join(error.messages), status=400)
    subject = subject_names([alert], whole=True).get(alert.subject, alert.subject)
    messages.success(request, f"Alert acknowledged: {alert.get_rule_display()}, {subject}.")
    return redirect(_return_to(request, alert))


def _return_to(request: AuthenticatedRequest, alert: Alert) -> str:
    """Back where the alert was acknowledged (the form's `next`, when it is on this site), else
    the portfolio's alerts page: never an open redirect."""
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if safe else reverse("riskmodels:alerts", args=[alert.portfolio.slug])


@login_required
# django-csp types its decorators for views without URL arguments; this one takes the slug.
@csp_update({"style-src": PLOTLY_STYLE_HASHES})  # type: ignore[arg-type]
def report(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    portfolio = get_portfolio_for_user(request.user, slug)
    return render(request, "riskmodels/report.html", report_context(request.user, portfolio))


@login_required
@require_POST
def compute_now(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    portfolio = get_portfolio_for_user(request.user, slug, manage=True)
    # After the commit, so that the worker never looks for a request's uncommitted writes.
    transaction.on_commit(lambda: tasks.compute_exposure.delay(portfolio.pk))
    messages.info(request, "Computing the exposure report: reload this page in a moment.")
    return redirect("riskmodels:report", slug=portfolio.slug)


def _download(content: str | bytes, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def export_holdings_csv(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    portfolio = get_portfolio_for_user(request.user, slug)
    share = investor_share(request.user, portfolio)
    lines = holding_lines(portfolio, share)
    marks = {
        row.location.name: _not_current_words(row, reason=share is None)
        for row in not_current_locations(portfolio)
    }
    name = exports.filename(portfolio, "holdings", timezone.localdate()) + ".csv"
    return _download(exports.holdings_csv(lines, marks), "text/csv; charset=utf-8", name)


def _not_current_words(row: NotCurrent, *, reason: bool) -> str:
    """ "Not current since <time>", with the reason for managers (investors see no reasons)."""
    since = f" since {row.data_as_of.isoformat()}" if row.data_as_of else ""
    return f"Not current{since}" + (f": {row.reason}" if reason else "")


@login_required
def export_exposures_csv(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    portfolio = get_portfolio_for_user(request.user, slug)
    page = report_context(request.user, portfolio)["page"]
    if page is None:
        raise Http404("No exposure report yet.")
    marks = not_current_by_group(portfolio, reasons=investor_share(request.user, portfolio) is None)
    name = exports.filename(portfolio, "exposures", timezone.localdate()) + ".csv"
    csv_text = exports.exposures_csv(page["document"], marks)
    return _download(csv_text, "text/csv; charset=utf-8", name)


@login_required
def export_pdf(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """GET: the user's PDFs of this report; POST: ask for one, printed by a worker."""
    portfolio = get_portfolio_for_user(request.user, slug)
    if request.method == "POST":
        try:
            export = pdf_jobs.request_pdf_export(user=request.user, portfolio=portfolio)
        except pdf_jobs.ExportRefused as refusal:
            messages.error(request, str(refusal))
            return redirect("riskmodels:export_pdf", slug=portfolio.slug)
        return redirect("riskmodels:pdf_export", pk=export.pk)
    mine = PdfExport.objects.filter(portfolio=portfolio, requested_by=request.user)
    context = {"portfolio": portfolio, "exports": mine.defer("pdf").order_by("-requested_at")[:10]}
    return render(request, "riskmodels/pdf_exports.html", context)


@login_required
def pdf_export(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """One PDF job: its progress (the page reloads itself until it is done), then the file."""
    export = get_pdf_export_for_user(request.user, pk)
    return render(request, "riskmodels/pdf_export.html", {"export": export})


@login_required
def download_pdf_export(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    export = get_pdf_export_for_user(request.user, pk)
    if export.state != ExportState.DONE or not export.pdf:
        raise Http404("This PDF is not ready.")
    return _download(bytes(export.pdf), "application/pdf", export.filename)

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

from accounts.access import can_manage, get_alert_for_user, get_portfolio_for_user, investor_share
from accounts.types import AuthenticatedRequest
from portfolio.models import Portfolio
from portfolio.selectors import NotCurrent, not_current_locations
from riskmodels import exports, tasks
from riskmodels.alert_pages import subject_names
from riskmodels.freshness import report_freshness
from riskmodels.models import Alert
from riskmodels.selectors import holding_lines, not_current_by_group, report_page
from riskmodels.services import acknowledge_alert

# plotly.js adds two <style> elements when it loads, which style-src 'self' blocks: an empty one
# ("plotly.js-style-global") that it then fills through the CSSOM (insertRule, which CSP allows),
# and maplibre's map stylesheet. Allowing exactly these two contents by hash, on the chart pages
# only, keeps 'unsafe-inline' out; a nonce cannot work, plotly creates the elements itself.
# tests/riskmodels/test_report_views.py recomputes the second hash from the installed plotly.
PLOTLY_STYLE_HASHES = [
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",  # the empty <style>
    "'sha256-ji27qzEtxXZW+7dun6UwjHXJ18e6WAin1VvNtkzIE/o='",  # maplibre's CSS, plotly.js 4.1.1
]


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


def _page_context(request: AuthenticatedRequest, portfolio: Portfolio) -> dict:
    """The report as this user may see it: an investor's share, forms only for managers."""
    stake = investor_share(request.user, portfolio)
    manage = can_manage(request.user, portfolio)
    context = {
        "portfolio": portfolio,
        "investor": stake is not None,
        "can_manage": manage,
        "page": report_page(portfolio=portfolio, stake=stake, alerts=stake is None),
    }
    page = context["page"]
    snapshot = page["snapshot"] if isinstance(page, dict) else None
    context["freshness"] = report_freshness(portfolio, snapshot, investor=stake is not None)
    return context


@login_required
# django-csp types its decorators for views without URL arguments; this one takes the slug.
@csp_update({"style-src": PLOTLY_STYLE_HASHES})  # type: ignore[arg-type]
def report(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    portfolio = get_portfolio_for_user(request.user, slug)
    return render(request, "riskmodels/report.html", _page_context(request, portfolio))


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
    page = _page_context(request, portfolio)["page"]
    if page is None:
        raise Http404("No exposure report yet.")
    marks = not_current_by_group(portfolio, reasons=investor_share(request.user, portfolio) is None)
    name = exports.filename(portfolio, "exposures", timezone.localdate()) + ".csv"
    csv_text = exports.exposures_csv(page["document"], marks)
    return _download(csv_text, "text/csv; charset=utf-8", name)


@login_required
def export_pdf(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    portfolio = get_portfolio_for_user(request.user, slug)
    context = _page_context(request, portfolio)
    if context["page"] is None:
        raise Http404("No exposure report yet.")
    try:
        pdf = exports.report_pdf({**context, "can_manage": False, "printing": True})
    except exports.PdfUnavailable as error:
        return HttpResponse(str(error), status=503, content_type="text/plain; charset=utf-8")
    name = exports.filename(portfolio, "exposure-report", timezone.localdate()) + ".pdf"
    return _download(pdf, "application/pdf", name)

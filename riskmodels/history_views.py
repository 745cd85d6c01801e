"""History pages: the list and charts of past reports in a date range, one past report as of
then, and what changed between two reports.

Same access as the current report: the portfolio through accounts.access (404 outside reach),
each snapshot through get_exposure_for_user and only within that portfolio; an investor with
a stake sees stake × every money figure and no alerts.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from csp.decorators import csp_update
from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.access import get_exposure_for_user, get_portfolio_for_user, investor_share
from accounts.types import AuthenticatedRequest
from portfolio.models import Portfolio
from riskmodels.history import (
    compare_reports,
    history_page,
    past_report_page,
    policy_changes,
    previous_report,
)
from riskmodels.models import ExposureSnapshot
from riskmodels.selectors import exposure_at
from riskmodels.views import PLOTLY_STYLE_HASHES

MAX_ID = 2**63 - 1
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
DATE_WORDS = f"a date between {EARLIEST.isoformat()} and {LATEST.isoformat()}"


def _date_field(label: str) -> forms.DateField:
    return forms.DateField(
        required=False,
        label=label,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": f"{label}: enter {DATE_WORDS} (YYYY-MM-DD)."},
    )


class DateRangeForm(forms.Form):
    """From and to dates (both included), as the query string's ``from`` and ``to``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # "from" is a Python keyword: the fields are named here rather than declared.
        self.fields["from"] = _date_field("From")
        self.fields["to"] = _date_field("To")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in ("from", "to"):
            day = cleaned.get(name)
            if day is not None and not EARLIEST <= day <= LATEST:
                self.add_error(name, f"{self.fields[name].label}: enter {DATE_WORDS}.")
        start, end = cleaned.get("from"), cleaned.get("to")
        if start and end and start > end:
            raise ValidationError("From must be on or before To.")
        return cleaned

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """[start, end) as aware datetimes in the current time zone; the To day is included."""
        start, end = self.cleaned_data.get("from"), self.cleaned_data.get("to")
        return (
            None if start is None else _midnight(start),
            None if end is None else _midnight(end + timedelta(days=1)),
        )


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class CompareForm(forms.Form):
    """Two report ids; either may be left out (the latest, and the one before it)."""

    before = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    after = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)


def _snapshot_of(request: AuthenticatedRequest, portfolio: Portfolio, pk: int) -> ExposureSnapshot:
    """A report of this portfolio within the user's reach; 404 for anything else (an id past
    a bigint too: PostgreSQL would refuse to compare it)."""
    if pk > MAX_ID:
        raise Http404
    snapshot = get_exposure_for_user(request.user, pk)
    if snapshot.portfolio_id != portfolio.pk:
        raise Http404
    return snapshot


@login_required
@csp_update({"style-src": PLOTLY_STYLE_HASHES})  # type: ignore[arg-type]
def history(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    portfolio = get_portfolio_for_user(request.user, slug)
    form = DateRangeForm(request.GET or None)
    valid = form.is_valid() if form.is_bound else True
    start, end = form.bounds() if form.is_bound and valid else (None, None)
    stake = investor_share(request.user, portfolio)
    context = {
        "portfolio": portfolio,
        "investor": stake is not None,
        "form": form,
        "ranged": start is not None or end is not None,
        "history": history_page(portfolio, stake=stake, start=start, end=end),
        "policy_changes": [] if stake else policy_changes(portfolio, start=start, end=end),
    }
    return render(request, "riskmodels/history.html", context, status=200 if valid else 400)


@login_required
@csp_update({"style-src": PLOTLY_STYLE_HASHES})  # type: ignore[arg-type]
def past_report(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    portfolio = get_portfolio_for_user(request.user, slug)
    snapshot = _snapshot_of(request, portfolio, pk)
    stake = investor_share(request.user, portfolio)
    context = {
        "portfolio": portfolio,
        "investor": stake is not None,
        "can_manage": False,  # nothing to act on in the past
        "past": True,
        "page": past_report_page(portfolio, snapshot, stake),
        "previous": previous_report(snapshot),
    }
    return render(request, "riskmodels/history_report.html", context)


def _pair(
    request: AuthenticatedRequest, portfolio: Portfolio, form: CompareForm
) -> tuple[ExposureSnapshot | None, ExposureSnapshot | None]:
    """The two reports asked for: by default the latest and the one before it."""
    after_pk, before_pk = form.cleaned_data["after"], form.cleaned_data["before"]
    after = _snapshot_of(request, portfolio, after_pk) if after_pk else exposure_at(portfolio.pk)
    if before_pk:
        return _snapshot_of(request, portfolio, before_pk), after
    return (previous_report(after) if after else None), after


@login_required
def since(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    portfolio = get_portfolio_for_user(request.user, slug)
    form = CompareForm(request.GET)
    context: dict[str, Any] = {"portfolio": portfolio, "form": form, "comparison": None}
    if not form.is_valid():
        return render(request, "riskmodels/history_since.html", context, status=400)
    before, after = _pair(request, portfolio, form)
    stake = investor_share(request.user, portfolio)
    context["investor"] = stake is not None
    if before is not None and after is not None and before.pk != after.pk:
        context["comparison"] = compare_reports(
            portfolio, before, after, stake=stake, alerts=stake is None
        )
    return render(request, "riskmodels/history_since.html", context)

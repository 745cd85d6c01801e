"""The alerts page of a portfolio: filters, history (resolved alerts too), acknowledgements.

Whoever may see the portfolio sees its alerts (as the API allows); only its managers and
admins get the acknowledge form. Anything outside the user's reach answers 404.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from accounts.access import can_manage, get_portfolio_for_user, investor_share
from accounts.types import AuthenticatedRequest
from portfolio.models import Portfolio
from riskmodels.alert_pages import AlertFilters, alert_rows, portfolio_alerts, subject_choices
from riskmodels.models import ALERT_RULE_CHOICES, AlertLevel, AlertState

PER_PAGE = 50


def _any(label: str, choices: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [("", label), *choices]


class AlertFilterForm(forms.Form):
    level = forms.ChoiceField(choices=_any("Any level", AlertLevel.choices), required=False)
    state = forms.ChoiceField(choices=_any("Any state", AlertState.choices), required=False)
    rule = forms.ChoiceField(choices=_any("Any rule", ALERT_RULE_CHOICES), required=False)
    counterparty = forms.ChoiceField(required=False)
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: object, portfolio: Portfolio, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # Set on the bound field's widget and validator alike (ChoiceField.choices is a property).
        self.fields["counterparty"].choices = _any(  # type: ignore[attr-defined]
            "Any counterparty", subject_choices(portfolio)
        )

    def clean(self) -> dict:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end of the range must not be before its start.")
        return data

    def filters(self) -> AlertFilters:
        """The valid filters; with errors, none (the page says what to correct)."""
        if not self.is_valid():
            return AlertFilters()
        data = self.cleaned_data
        return AlertFilters(
            level=data["level"],
            state=data["state"],
            rule=data["rule"],
            counterparty=data["counterparty"],
            since=data["since"],
            until=data["until"],
        )


@login_required
def alerts(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    portfolio = get_portfolio_for_user(request.user, slug)
    form = AlertFilterForm(request.GET or None, portfolio=portfolio)
    found = portfolio_alerts(portfolio, form.filters() if form.is_bound else AlertFilters())
    page = Paginator(found, PER_PAGE).get_page(request.GET.get("page"))
    whole = investor_share(request.user, portfolio) is None
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "portfolio": portfolio,
        "form": form,
        "page": page,
        "rows": alert_rows(page.object_list, whole=whole),
        "can_manage": can_manage(request.user, portfolio),
        "query": query.urlencode(),
    }
    return render(request, "riskmodels/alerts.html", context)

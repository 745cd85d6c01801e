"""Pages where managers enter holdings by hand or upload them as CSV (manage level only)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.access import get_portfolio_for_user
from accounts.types import AuthenticatedRequest
from portfolio.forms import HoldingsUploadForm, ManualHoldingForm
from portfolio.imports import (
    HOLDINGS_HEADER,
    ManualEntryError,
    ManualHoldingResult,
    import_holdings,
    manual_locations,
    set_manual_holding,
)
from portfolio.models import CustodyLocation, Portfolio
from portfolio.selectors import HoldingsTable, holdings_table


@login_required
@require_GET
def manual_holdings(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    portfolio = get_portfolio_for_user(request.user, slug, manage=True)
    return _render_page(request, portfolio)


@login_required
@require_POST
def set_holding(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    portfolio = get_portfolio_for_user(request.user, slug, manage=True)
    form = ManualHoldingForm(request.POST, portfolio=portfolio)
    if form.is_valid():
        try:
            result = set_manual_holding(
                portfolio=portfolio,
                location=form.target(),
                asset_code=form.cleaned_data["asset"],
                product=form.cleaned_data["product"],
                amount=form.cleaned_data["amount"],
                user=request.user,
            )
        except ManualEntryError as error:
            form.add_error(None, str(error))
        else:
            _announce_holding(request, result)
            return redirect("manual:holdings", slug=portfolio.slug)
    return _render_page(request, portfolio, holding_form=form)


@login_required
@require_POST
def upload_holdings(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    portfolio = get_portfolio_for_user(request.user, slug, manage=True)
    form = HoldingsUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_page(request, portfolio, upload_form=form)
    result = import_holdings(portfolio=portfolio, text=form.cleaned_data["file"], user=request.user)
    if not result.ok:
        return _render_page(request, portfolio, upload_form=form, upload_errors=result.errors)
    messages.success(request, f"Imported {result.summary()}.")
    for warning in result.warnings:
        messages.warning(request, warning)
    return redirect("manual:holdings", slug=portfolio.slug)


def _announce_holding(request: HttpRequest, result: ManualHoldingResult) -> None:
    location = result.snapshot.location
    if result.amount == 0:
        messages.success(request, f"Removed {result.asset.code} from {location.name}.")
    else:
        amount = result.amount.normalize()
        messages.success(request, f"{location.name} now holds {amount:f} {result.asset.code}.")
    if result.asset_created:
        messages.warning(
            request, f"{result.asset.code} was unknown; created as unclassified, classify it."
        )


def _render_page(request: HttpRequest, portfolio: Portfolio, **forms: Any) -> HttpResponse:
    context = {
        "portfolio": portfolio,
        "locations": _locations_with_holdings(portfolio),
        "holding_form": forms.get("holding_form") or ManualHoldingForm(portfolio=portfolio),
        "upload_form": forms.get("upload_form") or HoldingsUploadForm(),
        "upload_errors": forms.get("upload_errors", []),
        "header": ",".join(HOLDINGS_HEADER),
    }
    return render(request, "portfolio/manual_holdings.html", context)


def _locations_with_holdings(
    portfolio: Portfolio,
) -> list[tuple[CustodyLocation, HoldingsTable]]:
    """Each manual location with its current holdings valued: a fixed number of queries."""
    table = holdings_table(portfolio, stake=None)
    return [(location, table.for_location(location.pk)) for location in manual_locations(portfolio)]

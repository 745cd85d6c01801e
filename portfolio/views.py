from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.access import (
    can_manage,
    get_location_for_user,
    get_portfolio_for_user,
    investor_share,
)
from portfolio.selectors import current_holdings, locations_of


@login_required
def portfolio_detail(request: HttpRequest, slug: str) -> HttpResponse:
    portfolio = get_portfolio_for_user(request.user, slug)
    share = investor_share(request.user, portfolio)
    context = {
        "portfolio": portfolio,
        "share": share,
        "rows": _holding_rows(current_holdings(portfolio), share),
        "locations": locations_of(portfolio) if share is None else None,
        "can_manage": can_manage(request.user, portfolio),
    }
    return render(request, "portfolio/portfolio_detail.html", context)


@login_required
def location_detail(request: HttpRequest, pk: int) -> HttpResponse:
    location = get_location_for_user(request.user, pk)
    share = investor_share(request.user, location.portfolio)
    holdings = current_holdings(location.portfolio).filter(snapshot__location=location)
    context = {"location": location, "share": share, "rows": _holding_rows(holdings, share)}
    return render(request, "portfolio/location_detail.html", context)


def _holding_rows(holdings: object, share: Decimal | None) -> list[dict[str, object]]:
    """Holdings as rows; an investor with a stake sees their share of each amount."""
    return [
        {
            "location": holding.snapshot.location,
            "asset": holding.asset,
            "product": holding.get_product_display(),
            "amount": holding.amount if share is None else holding.amount * share,
        }
        for holding in holdings
    ]

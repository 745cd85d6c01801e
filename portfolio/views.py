from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.access import (
    can_manage,
    get_location_for_user,
    get_portfolio_for_user,
    investor_share,
)
from accounts.types import AuthenticatedRequest
from portfolio import drops
from portfolio.account_views import sync_progress_for
from portfolio.models import CustodyLocation, DropState, SyncRound, UnconfirmedDrop
from portfolio.rounds import start_sync_round
from portfolio.selectors import (
    NotCurrent,
    holdings_table,
    locations_with_health,
    not_current_locations,
    sync_round_progress,
)


@login_required
def portfolio_detail(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    portfolio = get_portfolio_for_user(request.user, slug)
    share = investor_share(request.user, portfolio)
    context = {
        "portfolio": portfolio,
        "share": share,
        "table": holdings_table(portfolio, stake=share),
        "locations": locations_with_health(portfolio) if share is None else None,
        "not_current": not_current_locations(portfolio),
        "can_manage": can_manage(request.user, portfolio),
        "sync": sync_progress_for(request, portfolio),
    }
    return render(request, "portfolio/portfolio_detail.html", context)


@login_required
def location_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    location = get_location_for_user(request.user, pk)
    share = investor_share(request.user, location.portfolio)
    context = {
        "location": location,
        "share": share,
        "table": holdings_table(location.portfolio, stake=share, location=location),
        "can_manage": share is None and can_manage(request.user, location.portfolio),
        "sync": sync_progress_for(request, location.portfolio),
        "not_current": _not_current_here(location),
        "drop": drops.pending_drop(location.pk),
    }
    return render(request, "portfolio/location_detail.html", context)


def _not_current_here(location: CustodyLocation) -> NotCurrent | None:
    found = [row for row in not_current_locations(location.portfolio) if row.location == location]
    return found[0] if found else None


@login_required
@require_POST
def decide_drop(
    request: AuthenticatedRequest, pk: int, drop_id: int, decision: str
) -> HttpResponse:
    """A manager confirms (the drop becomes the holdings) or rejects (they stay) a held drop."""
    location = get_location_for_user(request.user, pk, manage=True)
    drop = get_object_or_404(UnconfirmedDrop, pk=drop_id, location=location)
    try:
        if decision == DropState.CONFIRMED:
            drops.confirm_drop(drop=drop, user=request.user)
            messages.success(request, "Drop confirmed: the balances read are now the holdings.")
        else:
            drops.reject_drop(drop=drop, user=request.user)
            messages.success(request, "Drop rejected: the last confirmed holdings stay.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("portfolio:location_detail", pk=location.pk)


@login_required
@require_POST
def sync_portfolio_now(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    portfolio = get_portfolio_for_user(request.user, slug, manage=True)
    sync_round = start_sync_round(portfolio=portfolio)
    _say_sync_started(request, sync_round)
    return redirect("portfolio:portfolio_detail", slug=portfolio.slug)


@login_required
@require_POST
def sync_location_now(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    location = get_location_for_user(request.user, pk, manage=True)
    sync_round = start_sync_round(portfolio=location.portfolio, locations=[location])
    _say_sync_started(request, sync_round)
    return redirect("portfolio:location_detail", pk=location.pk)


@login_required
def sync_round_status(request: AuthenticatedRequest, slug: str, round_id: int) -> JsonResponse:
    portfolio = get_portfolio_for_user(request.user, slug, manage=True)
    sync_round = get_object_or_404(SyncRound, pk=round_id, portfolio=portfolio)
    return JsonResponse(sync_round_progress(sync_round))


def _say_sync_started(request: HttpRequest, sync_round: SyncRound | None) -> None:
    if sync_round is None:
        messages.warning(request, "Nothing to sync: no exchange account with working credentials.")
    else:
        count = sync_round.location_count
        messages.info(request, f"Sync started for {count} account{'s' if count != 1 else ''}.")
        request.session["last_sync_round"] = sync_round.pk

"""Sync rounds: all of a portfolio's exchange accounts synced together, then its exposure."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from portfolio.models import (
    FINAL_OUTCOMES,
    CustodyLocation,
    ExchangeAccount,
    Portfolio,
    SyncRound,
)


def syncable_accounts(portfolio: Portfolio) -> list[ExchangeAccount]:
    return list(
        ExchangeAccount.objects.filter(location__portfolio=portfolio, credentials_broken_at=None)
        .exclude(credentials_encrypted="")
        .order_by("pk")
    )


@transaction.atomic
def start_sync_round(
    *, portfolio: Portfolio, locations: Iterable[CustodyLocation] | None = None
) -> SyncRound | None:
    """Record a round and enqueue one sync per account once the round is committed."""
    from portfolio.tasks import sync_location  # tasks import services, not the reverse

    accounts = syncable_accounts(portfolio)
    if locations is not None:
        wanted = {location.pk for location in locations}
        accounts = [account for account in accounts if account.pk in wanted]
    if not accounts:
        return None
    sync_round = SyncRound.objects.create(
        portfolio=portfolio, started_at=timezone.now(), location_count=len(accounts)
    )
    for account in accounts:
        transaction.on_commit(lambda pk=account.pk: sync_location.delay(pk, round_id=sync_round.pk))
    return sync_round


def finish_round_member(round_id: int | None) -> bool:
    """Called after each final sync; the last one of a round enqueues the exposure.

    Several workers may finish together: completed_at is claimed with a conditional UPDATE,
    so exactly one of them enqueues the computation.
    """
    if round_id is None:
        return False
    finished = Q(runs__outcome__in=FINAL_OUTCOMES)
    sync_round = SyncRound.objects.annotate(
        done=Count("runs__location", filter=finished, distinct=True)
    ).get(pk=round_id)
    if sync_round.done < sync_round.location_count:
        return False
    claimed = SyncRound.objects.filter(pk=round_id, completed_at=None).update(
        completed_at=timezone.now()
    )
    if claimed:
        from riskmodels.tasks import compute_exposure

        transaction.on_commit(lambda: compute_exposure.delay(sync_round.portfolio_id))
    return bool(claimed)

"""Sub-accounts read with a master key: each one a location of its own under the same custodian.

A master's sync (ExchangeAccount.include_subaccounts) lists its sub-accounts beside its own
wallets; `follow_listing` then brings the locations in line, inside the sync's transaction:

- a sub-account first listed gets a location named after it ("<master> / <sub-account>") and is
  synced at once, in the master's round when there is one (the round waits for it);
- one no longer listed keeps its location and its last snapshot, is marked missing (not synced
  again, so its figures age and read as not current) and its location gets a failed run saying
  why, which opens the location's sync alert. Nothing is ever deleted;
- one listed again is no longer missing and is synced again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from portfolio.exchanges import SubAccountRef, display_name
from portfolio.models import (
    CustodyLocation,
    ExchangeAccount,
    LocationKind,
    SyncOutcome,
    SyncRound,
    SyncRun,
)

log = logging.getLogger(__name__)
NAME_LENGTH = 120  # CustodyLocation.name
GONE = "SubAccountGone"


def syncable() -> Q:
    """Accounts a round syncs: their own key (or, for a sub-account, the master's) is stored
    and not rejected, and a sub-account is still listed by its master."""
    own = Q(master__isnull=True, credentials_broken_at=None) & ~Q(credentials_encrypted="")
    sub = Q(
        master__isnull=False, subaccount_missing_since=None, master__credentials_broken_at=None
    ) & ~Q(master__credentials_encrypted="")
    return own | sub


def follow_listing(
    master: ExchangeAccount, listed: Iterable[SubAccountRef], *, run: SyncRun, now: datetime
) -> list[int]:
    """Bring the master's sub-account locations in line with the exchange's listing; the
    location ids to sync now (new or listed again), already added to the run's round."""
    known = {a.subaccount: a for a in master.subaccount_accounts.select_related("location")}
    refs = {ref.id: ref for ref in listed}
    to_sync = [_add(master, ref).pk for ref_id, ref in refs.items() if ref_id not in known]
    for ref_id, account in known.items():
        if ref_id in refs and account.subaccount_missing_since is not None:
            _listed_again(account)
            to_sync.append(account.pk)
        elif ref_id not in refs and account.subaccount_missing_since is None:
            _gone(master, account, now)
    if to_sync:
        _join_round(run.sync_round_id, to_sync)
    return to_sync


def _add(master: ExchangeAccount, ref: SubAccountRef) -> ExchangeAccount:
    location = CustodyLocation.objects.create(
        portfolio_id=master.location.portfolio_id,
        name=_free_name(master.location, ref.name),
        kind=LocationKind.EXCHANGE,
        custodian_id=master.location.custodian_id,
    )
    log.info("sub-account %s of %s added as %s", ref.id, master.location, location)
    return ExchangeAccount.objects.create(
        location=location,
        exchange_id=master.exchange_id,
        wallets=master.wallets,
        master=master,
        subaccount=ref.id,
    )


def _free_name(master: CustodyLocation, sub_name: str) -> str:
    """ "<master> / <sub-account>", unique in the portfolio (a number added when taken)."""
    base = f"{master.name} / {sub_name}"[:NAME_LENGTH]
    taken = set(
        CustodyLocation.objects.filter(
            portfolio_id=master.portfolio_id, name__startswith=base[: NAME_LENGTH - 5]
        ).values_list("name", flat=True)
    )
    name, number = base, 2
    while name in taken:
        suffix = f" ({number})"
        name, number = base[: NAME_LENGTH - len(suffix)] + suffix, number + 1
    return name


def _listed_again(account: ExchangeAccount) -> None:
    ExchangeAccount.objects.filter(pk=account.pk).update(subaccount_missing_since=None)


def _gone(master: ExchangeAccount, account: ExchangeAccount, now: datetime) -> None:
    """Missing from the listing: marked, and a failed run says so (the sync alert follows)."""
    ExchangeAccount.objects.filter(pk=account.pk).update(subaccount_missing_since=now)
    name = display_name(master.exchange_id)
    message = (
        f"{name} no longer lists sub-account “{account.subaccount}” under the master key of "
        f"{master.location.name}: its last balances are kept, not current, and it is not synced "
        "until it is listed again. If it was closed, move or delete this location yourself."
    )
    SyncRun.objects.create(
        location_id=account.pk,
        started_at=now,
        finished_at=now,
        outcome=SyncOutcome.FAILED,
        error_class=GONE,
        error_message=message,
    )
    location_id = account.pk
    transaction.on_commit(lambda: _follow_alert(location_id))


def _follow_alert(location_id: int) -> None:
    from riskmodels.sync_alerts import follow_location_sync  # riskmodels reads portfolio

    try:
        follow_location_sync(location_id)
    except Exception:  # the run is recorded: the alert follows at the next look
        log.exception("sync alert of location %s not updated", location_id)


def _join_round(round_id: int | None, location_ids: list[int]) -> None:
    """The new members join the master's round (which then waits for them) and are sent
    once the transaction commits; without a round each is synced on its own."""
    if round_id is not None:
        sync_round = SyncRound.objects.select_for_update().get(pk=round_id)
        sync_round.location_ids = [*sync_round.location_ids, *location_ids]
        SyncRound.objects.filter(pk=round_id).update(
            location_count=F("location_count") + len(location_ids),
            location_ids=sync_round.location_ids,
        )
    transaction.on_commit(lambda: _send(round_id, location_ids))


def _send(round_id: int | None, location_ids: list[int]) -> None:
    from portfolio.rounds import BROKER_ERRORS, round_task_id
    from portfolio.tasks import sync_location  # tasks import services, not the reverse

    for location_id in location_ids:
        task_id = round_task_id(round_id, location_id) if round_id else None
        try:
            sync_location.apply_async(
                args=(location_id,), kwargs={"round_id": round_id}, task_id=task_id
            )
        except BROKER_ERRORS as error:
            log.warning("sync of sub-account location %s not sent: %s", location_id, error)
            _not_sent(round_id, location_id, error)


def _not_sent(round_id: int | None, location_id: int, error: Exception) -> None:
    """A failed run, so that the round it joined still completes; the next round syncs it."""
    from portfolio.rounds import finish_round_member

    now = timezone.now()
    SyncRun.objects.create(
        location_id=location_id,
        sync_round_id=round_id,
        started_at=now,
        finished_at=now,
        outcome=SyncOutcome.FAILED,
        error_class="NotSent",
        error_message=f"The sync of this new sub-account could not be queued ({error}); "
        "the next round syncs it.",
    )
    finish_round_member(round_id)

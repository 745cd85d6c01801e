"""Sync rounds: all of a portfolio's exchange accounts synced together, then its exposure."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerOperationalError

from portfolio.models import (
    FINAL_OUTCOMES,
    CustodyLocation,
    ExchangeAccount,
    Portfolio,
    SyncOutcome,
    SyncRound,
    SyncRun,
)
from portfolio.subaccounts import syncable

log = logging.getLogger(__name__)
BROKER_ERRORS = (BrokerOperationalError, ConnectionError, TimeoutError)
# Older pending rounds are left to the next scheduled sync rather than sent late.
PENDING_MAX_AGE = timedelta(hours=1)
# A retry sent this long ago whose location never ran again was lost on the way: sent again.
RETRY_LOST_AFTER = timedelta(minutes=10)
ROUND_PROGRESS_SQL = """
    SELECT location_count,
           (SELECT COUNT(DISTINCT location_id) FROM portfolio_syncrun
             WHERE sync_round_id = %s AND outcome IN (%s, %s, %s))
      FROM portfolio_syncround WHERE id = %s
"""


def syncable_accounts(portfolio: Portfolio) -> list[ExchangeAccount]:
    """Accounts with a usable key (a sub-account: its master's) and, for sub-accounts, still
    listed by the master."""
    return list(
        ExchangeAccount.objects.filter(syncable(), location__portfolio=portfolio).order_by("pk")
    )


@transaction.atomic
def start_sync_round(
    *, portfolio: Portfolio, locations: Iterable[CustodyLocation] | None = None
) -> SyncRound | None:
    """Record a round, and send one sync per account once the round is committed."""
    accounts = syncable_accounts(portfolio)
    if locations is not None:
        wanted = {location.pk for location in locations}
        accounts = [account for account in accounts if account.pk in wanted]
    if not accounts:
        return None
    sync_round = SyncRound.objects.create(
        portfolio=portfolio,
        started_at=timezone.now(),
        location_count=len(accounts),
        location_ids=[account.pk for account in accounts],
    )
    transaction.on_commit(lambda: dispatch_round(sync_round.pk))
    return sync_round


def round_task_id(round_id: int, location_id: int) -> str:
    """One task id per round and location: sending a round twice never syncs twice."""
    return f"sync-round{round_id}-location{location_id}"


def dispatch_round(round_id: int) -> bool:
    """Send a round's syncs to the broker; False (and the round stays pending) if it is down."""
    from portfolio.tasks import sync_location  # tasks import services, not the reverse

    sync_round = SyncRound.objects.get(pk=round_id)
    try:
        for location_id in sync_round.location_ids:
            sync_location.apply_async(
                args=(location_id,),
                kwargs={"round_id": round_id},
                task_id=round_task_id(round_id, location_id),
            )
    except BROKER_ERRORS as error:
        log.warning("sync round %s not sent, the broker is unreachable: %s", round_id, error)
        return False
    SyncRound.objects.filter(pk=round_id).update(dispatched_at=timezone.now())
    return True


def dispatch_pending_rounds(*, max_age: timedelta = PENDING_MAX_AGE) -> int:
    """Send the rounds that never reached the broker (recent ones only); how many were sent."""
    since = timezone.now() - max_age
    pending = SyncRound.objects.filter(dispatched_at=None, started_at__gte=since)
    return sum(dispatch_round(pk) for pk in pending.values_list("pk", flat=True))


def retry_task_id(run: SyncRun) -> str:
    """One task id per attempt: a retry sent twice (a beat tick repeated, a claim released
    after its send reached the broker) finds its own success and does not sync again."""
    base = (
        round_task_id(run.sync_round_id, run.location_id)
        if run.sync_round_id is not None
        else f"sync-location{run.location_id}"
    )
    return f"{base}-attempt{run.attempt + 1}"


def dispatch_due_retries(*, now: datetime | None = None) -> int:
    """Send the next attempt of every retrying run that is due; how many were sent.

    A retry waits in the database, not as a countdown in a worker's memory, where a broker
    restart loses it (and with kombu 5.7 crashes the worker). Each run is claimed with a
    conditional UPDATE (retry_sent_at), so two beats running at once send it once; a broker
    that is down releases the claim, and the next tick sends it.
    """
    now = now or timezone.now()
    due = SyncRun.objects.filter(
        outcome=SyncOutcome.RETRYING, retry_due_at__lte=now, retry_sent_at=None
    )
    runs = [*due.order_by("retry_due_at"), *_lost_retries(now)]
    sent = 0
    for run in runs:
        claimed = SyncRun.objects.filter(pk=run.pk, retry_sent_at=run.retry_sent_at).update(
            retry_sent_at=now
        )
        if not claimed:
            continue  # another dispatcher got there first
        if not _send_retry(run):
            SyncRun.objects.filter(pk=run.pk, retry_sent_at=now).update(
                retry_sent_at=run.retry_sent_at
            )
            break  # the broker is down: the others would only wait for it too
        sent += 1
    return sent


def _lost_retries(now: datetime) -> list[SyncRun]:
    """Retries sent long ago after which the location never ran again: the message was lost
    (a broker restarted without persistence before a worker took it). Sent again under the
    same task id, so one that was only late still syncs once."""
    later = SyncRun.objects.filter(
        location_id=OuterRef("location_id"), started_at__gt=OuterRef("retry_sent_at")
    )
    lost = SyncRun.objects.filter(
        outcome=SyncOutcome.RETRYING,
        retry_sent_at__lt=now - RETRY_LOST_AFTER,
        started_at__gte=now - PENDING_MAX_AGE,
    ).exclude(Exists(later))
    return list(lost.order_by("retry_due_at"))


def _send_retry(run: SyncRun) -> bool:
    from portfolio.tasks import sync_location  # tasks import services, not the reverse

    try:
        sync_location.apply_async(
            args=(run.location_id,),
            kwargs={"round_id": run.sync_round_id, "attempt": run.attempt + 1},
            task_id=retry_task_id(run),
        )
    except BROKER_ERRORS as error:
        log.warning("retry of sync run %s not sent, the broker is unreachable: %s", run.pk, error)
        return False
    return True


def _round_progress(round_id: int) -> tuple[int, int]:
    """A round's size and how many of its locations have a final run.

    Every sync of every round asks this, so it is one plain query: the ORM's version cost
    0.6 ms of CPU a sync, more than the query itself (bench/bench_sync.py).
    """
    with connection.cursor() as cursor:
        cursor.execute(ROUND_PROGRESS_SQL, [round_id, *FINAL_OUTCOMES, round_id])
        row = cursor.fetchone()
    if row is None:
        raise SyncRound.DoesNotExist(f"no sync round {round_id}")
    return row[0], row[1]


def finish_round_member(round_id: int | None) -> bool:
    """Called after each final sync; the last one of a round enqueues the exposure.

    Several workers may finish together: completed_at is claimed with a conditional UPDATE,
    so exactly one of them enqueues the computation.
    """
    if round_id is None:
        return False
    location_count, done = _round_progress(round_id)
    if done < location_count:
        return False
    claimed = SyncRound.objects.filter(pk=round_id, completed_at=None).update(
        completed_at=timezone.now()
    )
    if claimed:
        from riskmodels.tasks import compute_exposure

        portfolio_id = SyncRound.objects.values_list("portfolio_id", flat=True).get(pk=round_id)
        transaction.on_commit(lambda: compute_exposure.delay(portfolio_id))
    return bool(claimed)

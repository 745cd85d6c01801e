"""Celery tasks for syncs: ids in, one service call.

A sync's retries wait in the database (SyncRun.retry_due_at) and beat sends them
(dispatch_due_syncs): a countdown held by a worker is lost, and kombu 5.7 crashes the worker,
when the broker restarts. Only a database that cannot be reached, where nothing could be
recorded, falls back to Celery's own retry.
"""

from __future__ import annotations

from celery import Task, shared_task
from django.conf import settings

from portfolio import drops, rounds
from portfolio.models import FINAL_OUTCOMES, Portfolio
from portfolio.rounds import finish_round_member, start_sync_round
from portfolio.sync import TRANSIENT_ERRORS, SyncRequest, retry_delay
from portfolio.sync import sync_location as sync_location_service


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=settings.SYNC_MAX_RETRIES,
)
def sync_location(
    self: Task, location_id: int, round_id: int | None = None, attempt: int = 1
) -> None:
    request = SyncRequest(
        location_id=location_id,
        task_id=self.request.id or "",
        attempt=attempt,
        retries_left=settings.SYNC_MAX_RETRIES - (attempt - 1),
        round_id=round_id,
    )
    try:
        run = sync_location_service(request)
    except TRANSIENT_ERRORS as error:
        if request.retries_left > 0:
            countdown = retry_delay(attempt).total_seconds()
            kwargs = {"round_id": round_id, "attempt": attempt + 1}
            raise self.retry(exc=error, countdown=countdown, kwargs=kwargs) from error
        # The last attempt: its run has ended failed, which may be the round's last member.
        finish_round_member(round_id)
        raise
    # None is a redelivered task that already succeeded (its round may still be unfinished,
    # if the worker died in between) or a sync left to another: finishing is idempotent.
    if run is None or run.outcome in FINAL_OUTCOMES:
        finish_round_member(round_id)


@shared_task(acks_late=True)
def sync_portfolio(portfolio_id: int) -> None:
    start_sync_round(portfolio=Portfolio.objects.get(pk=portfolio_id))


@shared_task(acks_late=True)
def sync_all() -> None:
    """Beat's entry point: one round per portfolio that has exchange accounts."""
    for portfolio in Portfolio.objects.filter(locations__exchange_account__isnull=False).distinct():
        start_sync_round(portfolio=portfolio)


@shared_task(acks_late=True)
def dispatch_pending_rounds() -> None:
    """Beat's safety net: rounds started while the broker was down are sent once it is back."""
    rounds.dispatch_pending_rounds()


@shared_task(acks_late=True)
def dispatch_due_syncs() -> None:
    """Beat's, every 10 seconds: the retries and second reads whose wait is over. Each is
    claimed in the database, so a tick delivered twice sends nothing twice."""
    rounds.dispatch_due_retries()
    drops.dispatch_due_rereads()

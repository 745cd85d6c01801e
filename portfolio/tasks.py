"""Celery tasks for syncs: ids in, one service call, retries for transient faults only."""

from __future__ import annotations

import random

from celery import Task, shared_task
from django.conf import settings

from portfolio import rounds
from portfolio.models import Portfolio
from portfolio.rounds import finish_round_member, start_sync_round
from portfolio.sync import TRANSIENT_ERRORS, SyncRequest
from portfolio.sync import sync_location as sync_location_service

BACKOFF_BASE_SECONDS = 5
BACKOFF_CAP_SECONDS = 300


def backoff_seconds(retries: int) -> float:
    """Exponential backoff with full jitter, so retries of many accounts do not align."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**retries)
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=settings.SYNC_MAX_RETRIES,
)
def sync_location(self: Task, location_id: int, round_id: int | None = None) -> None:
    if self.max_retries is None:  # never so: set above; None would mean "retry forever"
        raise ValueError("sync_location needs a finite max_retries")
    request = SyncRequest(
        location_id=location_id,
        task_id=self.request.id or "",
        attempt=self.request.retries + 1,
        retries_left=self.max_retries - self.request.retries,
        round_id=round_id,
    )
    try:
        sync_location_service(request)
    except TRANSIENT_ERRORS as error:
        if request.retries_left > 0:
            raise self.retry(exc=error, countdown=backoff_seconds(self.request.retries)) from error
        # The last attempt: its run has ended failed, which may be the round's last member.
        finish_round_member(round_id)
        raise
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

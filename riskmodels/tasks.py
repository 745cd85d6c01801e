"""Celery tasks for the risk engine (queue "risk"): ids in, one service call."""

from __future__ import annotations

from celery import shared_task

from portfolio.models import Portfolio
from riskmodels.services import compute_exposure as compute_exposure_service


@shared_task(acks_late=True, reject_on_worker_lost=True)
def compute_exposure(portfolio_id: int) -> None:
    # Idempotent: a redelivered task finds the same inputs digest and stores nothing.
    compute_exposure_service(portfolio_id=portfolio_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def compute_all_exposures() -> None:
    """Beat's entry point: one task per portfolio, so that risk workers share them out."""
    for portfolio_id in Portfolio.objects.order_by("pk").values_list("pk", flat=True):
        compute_exposure.delay(portfolio_id)

"""Celery tasks for the risk engine (queue "risk"): ids in, one service call."""

from __future__ import annotations

import logging
import random

from celery import Task, shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from portfolio.models import Portfolio
from riskmodels import firm_alerts, freshness, pdf_jobs
from riskmodels.services import compute_exposure as compute_exposure_service
from riskmodels.webhooks import WebhookDeliveryError
from riskmodels.webhooks import deliver_webhook as deliver_webhook_service

logger = logging.getLogger(__name__)


# A database restarting under a computation is transient: try again shortly.
@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=4,
)
def compute_exposure(portfolio_id: int) -> None:
    # Idempotent: a redelivered task finds the same inputs digest and stores nothing.
    compute_exposure_service(portfolio_id=portfolio_id)


# As compute_exposure, after a change to the portfolio's holdings, prices or policy.
@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=4,
)
def recompute_exposure(self: Task, portfolio_id: int) -> None:
    """Debounced (riskmodels/freshness.py): wait until the changes stop, then compute once."""
    if not self.request.is_eager:  # inline (tests, eager demo): the caller is the burst
        freshness.wait_until_quiet(portfolio_id)
    freshness.release_debounce(portfolio_id)
    compute_exposure_service(portfolio_id=portfolio_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def compute_all_exposures() -> None:
    """Beat's entry point: one task per portfolio, so that risk workers share them out."""
    for portfolio_id in Portfolio.objects.order_by("pk").values_list("pk", flat=True):
        compute_exposure.delay(portfolio_id)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def deliver_webhook(self: Task, endpoint_id: int, event_id: int) -> None:
    """POST one alert event to one endpoint; retry network errors, 5xx and 429 with backoff.

    Idempotent: a redelivered task finds the successful attempt in the log and sends nothing.
    Bounded by WEBHOOK_MAX_ATTEMPTS; other 4xx answers are final at once.
    """
    attempt = self.request.retries + 1
    try:
        deliver_webhook_service(endpoint_id=endpoint_id, event_id=event_id, attempt=attempt)
    except WebhookDeliveryError as error:
        if not error.retryable or attempt >= settings.WEBHOOK_MAX_ATTEMPTS:
            logger.warning("webhook %s event %s given up: %s", endpoint_id, event_id, error)
            return
        raise self.retry(countdown=retry_countdown(attempt, error.retry_after)) from error


def retry_countdown(attempt: int, retry_after: int | None = None) -> float:
    """Exponential backoff with jitter (base × 2^(attempt-1), capped); a receiver's
    Retry-After is honoured up to the cap."""
    cap = settings.WEBHOOK_RETRY_MAX_SECONDS
    if retry_after is not None:
        return min(retry_after, cap)
    backoff = min(settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempt - 1), cap)
    return backoff * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not cryptography


@shared_task(acks_late=True, reject_on_worker_lost=True)
def render_pdf_export(export_id: int) -> None:
    # Idempotent: a redelivered job finds itself claimed or finished and does nothing.
    pdf_jobs.render_pdf_export(export_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def evaluate_firm_alerts() -> None:
    # Idempotent: the same findings leave the live firm alerts as they are.
    firm_alerts.follow_firm_findings(now=timezone.now())

"""Signed webhooks for alerts: endpoints, events, and their delivery.

A manager registers a URL for a portfolio and receives a secret, once. Every alert that opens,
escalates or resolves becomes a WebhookEvent, written in the alert's own transaction (so a
rolled-back evaluation sends nothing and a broker outage loses nothing), and one Celery task per
active endpoint POSTs it after the commit (riskmodels.tasks.deliver_webhook).

Signature (README, "API"): with `t` the Unix time in seconds sent as X-Counterweight-Timestamp,
X-Counterweight-Signature is `sha256=` + hex(HMAC-SHA256(secret, f"{t}." + raw body)).
The timestamp is inside the signed message, so a captured delivery cannot be replayed later
under a fresh timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import urllib3
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.access import can_manage, portfolios_for
from accounts.audit import record_audit
from accounts.models import AuditAction
from portfolio.crypto import credentials_cipher
from portfolio.models import Portfolio
from riskmodels.models import (
    Alert,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookEventType,
)
from riskmodels.outbound import RefusedURL, Target, post_pinned, resolve_target
from riskmodels.reports import decimal_text

if TYPE_CHECKING:
    from accounts.models import User
    from riskmodels.alerts import AlertChanges

SIGNATURE_HEADER = "X-Counterweight-Signature"
TIMESTAMP_HEADER = "X-Counterweight-Timestamp"
EVENT_HEADER = "X-Counterweight-Event"
EVENT_ID_HEADER = "X-Counterweight-Event-Id"
ERROR_LIMIT = 500  # characters of an error kept in the delivery log


class WebhookDeliveryError(Exception):
    """A failed attempt; `retryable` for network errors, 5xx and 429, not for other 4xx."""

    def __init__(self, message: str, *, retryable: bool, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class NewEndpoint:
    """An endpoint just registered: `secret` is shown to the manager once."""

    endpoint: WebhookEndpoint
    secret: str


# Signing


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for a body sent at `timestamp` (Unix seconds, as text)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (README has the same in a snippet), in constant time."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def body_of(event: WebhookEvent) -> bytes:
    """The exact bytes sent: compact, keys sorted, so every attempt sends the same body."""
    return json.dumps(event.payload, sort_keys=True, separators=(",", ":")).encode()


def secret_of(endpoint: WebhookEndpoint) -> str:
    return credentials_cipher().decrypt(endpoint.secret_encrypted.encode()).decode()


# Endpoints


def validate_webhook_url(url: str) -> None:
    """http(s) only, and, unless WEBHOOK_ALLOW_PRIVATE_URLS, only names that resolve to public
    addresses or to WEBHOOK_ALLOWED_NETWORKS (riskmodels.outbound): a webhook must not reach
    the server's own network."""
    try:
        checked_target(url)
    except RefusedURL as refusal:
        raise ValidationError({"url": str(refusal)}) from refusal


def checked_target(url: str) -> Target:
    return resolve_target(
        url,
        allow_private=settings.WEBHOOK_ALLOW_PRIVATE_URLS,
        allowed=settings.WEBHOOK_ALLOWED_NETWORKS,
    )


@transaction.atomic
def create_webhook_endpoint(*, user: User, portfolio: Portfolio, url: str) -> NewEndpoint:
    """Register a URL for a portfolio's alert events, with a new secret, and audit it."""
    if not can_manage(user, portfolio):
        raise PermissionDenied
    validate_webhook_url(url)
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint.objects.create(
        portfolio=portfolio,
        url=url,
        secret_encrypted=credentials_cipher().encrypt(secret.encode()).decode(),
        created_by=user,
    )
    record_audit(
        actor=user,
        action=AuditAction.WEBHOOK_CREATED,
        target=endpoint,
        portfolio_id=portfolio.pk,
        changes={"url": (None, url)},
    )
    return NewEndpoint(endpoint=endpoint, secret=secret)


@transaction.atomic
def disable_webhook_endpoint(*, user: User, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Stop deliveries to an endpoint; its delivery log stays."""
    if not can_manage(user, endpoint.portfolio):
        raise PermissionDenied
    if WebhookEndpoint.objects.filter(pk=endpoint.pk, active=True).update(active=False):
        record_audit(
            actor=user,
            action=AuditAction.WEBHOOK_DISABLED,
            target=endpoint,
            portfolio_id=endpoint.portfolio_id,
            changes={"active": (True, False)},
        )
    endpoint.refresh_from_db()
    return endpoint


def webhooks_for(user: User) -> QuerySet[WebhookEndpoint]:
    """Endpoints of the portfolios `user` manages: only managers (and admins) see them."""
    allowed = portfolios_for(user, manage=True)
    return WebhookEndpoint.objects.filter(portfolio__in=allowed).select_related("portfolio")


def get_webhook_for_user(user: User, pk: int) -> WebhookEndpoint:
    try:
        return webhooks_for(user).get(pk=pk)
    except WebhookEndpoint.DoesNotExist:
        raise Http404 from None


# Events


def alert_payload(alert: Alert) -> dict:
    """An alert as webhooks send it: shares and levels only, no money figure, no person."""
    return {
        "id": alert.pk,
        "rule": alert.rule,
        "subject": alert.subject,
        "level": alert.level,
        "state": alert.state,
        "value": decimal_text(alert.value),
        "threshold": decimal_text(alert.threshold),
        "cause": alert.cause or None,
        "first_seen": alert.first_seen.isoformat(),
        "last_seen": alert.last_seen.isoformat(),
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
    }


def record_alert_events(*, portfolio_id: int, changes: AlertChanges, now: datetime) -> None:
    """Turn one evaluation's opened, escalated and resolved alerts into events, and deliver
    them to the portfolio's active endpoints once the transaction commits."""
    kinds = (
        (WebhookEventType.ALERT_OPENED, changes.opened),
        (WebhookEventType.ALERT_ESCALATED, changes.escalated),
        (WebhookEventType.ALERT_RESOLVED, changes.resolved_alerts),
    )
    if not any(alerts for _, alerts in kinds):
        return  # nothing to say: not even a query
    endpoint_ids = list(
        WebhookEndpoint.objects.filter(portfolio_id=portfolio_id, active=True).values_list(
            "pk", flat=True
        )
    )
    if not endpoint_ids:
        return
    slug = Portfolio.objects.values_list("slug", flat=True).get(pk=portfolio_id)
    events = WebhookEvent.objects.bulk_create(
        _event(portfolio_id, slug, kind, alert, now) for kind, alerts in kinds for alert in alerts
    )
    event_ids = [e.pk for e in WebhookEvent.objects.filter(uuid__in=[e.uuid for e in events])]
    transaction.on_commit(lambda: _enqueue(endpoint_ids, event_ids))


def _event(portfolio_id: int, slug: str, kind: str, alert: Alert, now: datetime) -> WebhookEvent:
    event_id = uuid.uuid4()
    payload = {
        "id": str(event_id),
        "type": str(kind),
        "created_at": now.isoformat(),
        "portfolio": slug,
        "alert": alert_payload(alert),
    }
    return WebhookEvent(
        uuid=event_id, portfolio_id=portfolio_id, type=kind, payload=payload, created_at=now
    )


def _enqueue(endpoint_ids: list[int], event_ids: list[int]) -> None:
    from riskmodels.tasks import deliver_webhook  # tasks imports services, which import us

    for endpoint_id in endpoint_ids:
        for event_id in event_ids:
            deliver_webhook.delay(endpoint_id, event_id)


# Delivery


@dataclass(frozen=True, slots=True)
class Outcome:
    status: int | None  # None when no response came
    error: str = ""
    retry_after: str = ""  # the response's Retry-After header, for a 429 or 503
    refused: bool = False  # the URL was refused here: no request was made, none will be

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def deliver_webhook(*, endpoint_id: int, event_id: int, attempt: int) -> WebhookDelivery | None:
    """POST one event to one endpoint, and log the attempt.

    Returns None when there is nothing to do: the endpoint was disabled or removed, or an
    earlier attempt already succeeded (a redelivered task). Raises WebhookDeliveryError when
    the attempt failed, saying whether another attempt may succeed.
    """
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id, active=True).first()
    event = WebhookEvent.objects.filter(pk=event_id).first()
    if endpoint is None or event is None:
        return None
    if WebhookDelivery.objects.filter(endpoint=endpoint, event=event, succeeded=True).exists():
        return None
    started = time.monotonic()
    outcome = _post(endpoint, event)
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=event,
        attempt=attempt,
        status_code=outcome.status,
        error=outcome.error[:ERROR_LIMIT],
        duration_ms=int((time.monotonic() - started) * 1000),
        delivered_at=timezone.now(),
        succeeded=outcome.succeeded,
    )
    if not outcome.succeeded:
        raise _failure(outcome)
    return delivery


def _post(endpoint: WebhookEndpoint, event: WebhookEvent) -> Outcome:
    try:  # checked again at each attempt: a name may resolve elsewhere by now
        target = checked_target(endpoint.url)
    except RefusedURL as refusal:
        return Outcome(None, str(refusal), refused=True)
    body = body_of(event)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Counterweight-Webhooks/1",
        SIGNATURE_HEADER: sign(secret_of(endpoint), timestamp, body),
        TIMESTAMP_HEADER: timestamp,
        EVENT_HEADER: event.type,
        EVENT_ID_HEADER: str(event.uuid),
    }
    try:  # to the address just checked, never resolved again
        answer = post_pinned(
            target,
            body,
            headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            ca_bundle=settings.WEBHOOK_CA_BUNDLE,
        )
    except urllib3.exceptions.HTTPError as failure:
        return Outcome(None, f"{type(failure).__name__}: {failure}")
    error = "" if 200 <= answer.status < 300 else f"HTTP {answer.status}"
    return Outcome(answer.status, error, answer.headers.get("Retry-After", ""))


def _failure(outcome: Outcome) -> WebhookDeliveryError:
    """Network errors, 5xx and 429 may pass; other answers (4xx, 3xx) will not change."""
    status = outcome.status
    retryable = not outcome.refused and (status is None or status >= 500 or status == 429)
    retry_after = int(outcome.retry_after) if outcome.retry_after.isdigit() else None
    return WebhookDeliveryError(outcome.error, retryable=retryable, retry_after=retry_after)

"""Signed alert webhooks, delivered to a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from accounts.models import AuditAction, AuditEvent
from portfolio.models import Asset
from riskmodels.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from riskmodels.services import compute_exposure
from riskmodels.tasks import deliver_webhook, retry_countdown
from riskmodels.webhooks import create_webhook_endpoint, sign, verify
from tests.api.conftest import bearer
from tests.factories import book, worked_check


@dataclass
class Receiver:
    """Answers each POST with the next status of `statuses` (then 200), checking signatures."""

    secret: str = ""
    statuses: list[int] = field(default_factory=list)
    received: list[dict] = field(default_factory=list)
    url: str = ""

    def handle(self, headers: dict, body: bytes) -> int:
        timestamp = headers["X-Counterweight-Timestamp"]
        # What a receiver does, written out here rather than through riskmodels.webhooks.
        expected = (
            "sha256="
            + hmac.new(
                self.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
            ).hexdigest()
        )
        valid = hmac.compare_digest(expected, headers["X-Counterweight-Signature"])
        self.received.append({"valid": valid, "headers": headers, "body": json.loads(body)})
        return self.statuses.pop(0) if self.statuses else 200


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True  # the receiver is on 127.0.0.1
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = state.handle(dict(self.headers), body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/hooks/counterweight"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def hooked(tenants, receiver):
    """Fund A with an endpoint pointing at the receiver, which knows the secret."""
    new = create_webhook_endpoint(user=tenants.alice, portfolio=tenants.fund_a, url=receiver.url)
    receiver.secret = new.secret
    return new.endpoint


def test_a_manager_registers_an_endpoint_and_sees_the_secret_once(tenants, receiver):
    client = bearer(tenants.alice)
    url = reverse("api:webhook-list", kwargs={"slug": "fund-a"})
    response = client.post(url, {"url": receiver.url}, format="json")
    assert response.status_code == 201
    secret = response.json()["secret"]
    assert secret.startswith("whsec_")
    endpoint = WebhookEndpoint.objects.get()
    assert secret not in endpoint.secret_encrypted
    listing = (
        client.get(url).content
        + client.get(reverse("api:webhook-detail", kwargs={"pk": endpoint.pk})).content
    )
    assert secret.encode() not in listing and b"secret" not in listing
    assert AuditEvent.objects.filter(action=AuditAction.WEBHOOK_CREATED).count() == 1


@pytest.mark.parametrize("user", ["bob", "charlie"])
def test_only_the_portfolios_managers_reach_its_webhooks(tenants, hooked, user):
    client = bearer(getattr(tenants, user))
    listing = reverse("api:webhook-list", kwargs={"slug": "fund-a"})
    assert client.get(listing).status_code == 404
    assert client.post(listing, {"url": "https://example.com/x"}).status_code == 404
    detail = reverse("api:webhook-detail", kwargs={"pk": hooked.pk})
    assert client.get(detail).status_code == 404
    assert client.delete(detail).status_code == 404
    assert WebhookEndpoint.objects.get().active


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/hook", "http://127.0.0.1:8000/", "http://10.0.0.5/", "http://u:p@x.io/"],
)
def test_only_public_http_urls_are_accepted(tenants, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    response = bearer(tenants.alice).post(
        reverse("api:webhook-list", kwargs={"slug": "fund-a"}), {"url": url}, format="json"
    )
    assert response.status_code == 400
    assert not WebhookEndpoint.objects.exists()


def test_new_alerts_are_posted_signed(
    tenants, hooked, receiver, eager_celery, django_capture_on_commit_callbacks
):
    worked_check(tenants.fund_a)
    with django_capture_on_commit_callbacks(execute=True):
        compute_exposure(portfolio_id=tenants.fund_a.pk)
    assert receiver.received and all(r["valid"] for r in receiver.received)
    binance = next(r for r in receiver.received if r["body"]["alert"]["subject"] == "binance")
    body, headers = binance["body"], binance["headers"]
    assert (body["type"], body["portfolio"]) == ("alert.opened", "fund-a")
    assert (body["alert"]["level"], body["alert"]["value"]) == ("breach", "0.3")
    assert headers["X-Counterweight-Event"] == "alert.opened"
    assert headers["X-Counterweight-Event-Id"] == body["id"]
    assert WebhookDelivery.objects.filter(succeeded=True).count() == len(receiver.received)


def test_resolved_alerts_are_posted(
    tenants, hooked, receiver, eager_celery, django_capture_on_commit_callbacks
):
    locations = worked_check(tenants.fund_a)
    with django_capture_on_commit_callbacks(execute=True):
        compute_exposure(portfolio_id=tenants.fund_a.pk)
    receiver.received.clear()
    book(locations["binance"], {Asset.objects.get(code="BTC"): "1"})  # 60 BTC → 1 BTC
    with django_capture_on_commit_callbacks(execute=True):
        compute_exposure(portfolio_id=tenants.fund_a.pk)
    resolved = [r["body"] for r in receiver.received if r["body"]["type"] == "alert.resolved"]
    assert "binance" in {event["alert"]["subject"] for event in resolved}
    assert all(event["alert"]["state"] == "resolved" for event in resolved)
    assert all(r["valid"] for r in receiver.received)


def test_nothing_is_sent_when_the_evaluation_rolls_back(
    tenants, hooked, receiver, eager_celery, django_capture_on_commit_callbacks
):
    worked_check(tenants.fund_a)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        compute_exposure(portfolio_id=tenants.fund_a.pk)
    assert callbacks and not receiver.received  # deliveries wait for the commit


@pytest.fixture
def retries_run_inline():
    """task.apply() follows retries inline unless exceptions propagate (the eager_celery
    fixture turns propagation on for the session's app, and leaves it on)."""
    from config.celery import app

    before = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = before


def one_event(tenants) -> WebhookEvent:
    return WebhookEvent.objects.create(
        uuid="00000000-0000-0000-0000-000000000001",
        portfolio=tenants.fund_a,
        type="alert.opened",
        payload={"id": "00000000-0000-0000-0000-000000000001", "type": "alert.opened"},
    )


def test_a_5xx_is_retried_until_delivered(tenants, hooked, receiver, retries_run_inline):
    receiver.statuses = [500, 503]
    event = one_event(tenants)
    deliver_webhook.apply(args=(hooked.pk, event.pk))
    log = list(
        WebhookDelivery.objects.order_by("attempt").values_list(
            "attempt", "status_code", "succeeded"
        )
    )
    assert log == [(1, 500, False), (2, 503, False), (3, 200, True)]
    assert [r["valid"] for r in receiver.received] == [True, True, True]
    bodies = {json.dumps(r["body"], sort_keys=True) for r in receiver.received}
    assert len(bodies) == 1  # every attempt sends the same event


def test_a_429_is_retried_but_other_4xx_are_final(tenants, hooked, receiver, retries_run_inline):
    receiver.statuses = [429, 410]
    event = one_event(tenants)
    deliver_webhook.apply(args=(hooked.pk, event.pk))
    log = list(WebhookDelivery.objects.order_by("attempt").values_list("attempt", "status_code"))
    assert log == [(1, 429), (2, 410)]
    assert len(receiver.received) == 2


def test_network_errors_are_retried_and_bounded(tenants, receiver, retries_run_inline, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    new = create_webhook_endpoint(
        user=tenants.alice, portfolio=tenants.fund_a, url="http://127.0.0.1:9/closed"
    )
    event = one_event(tenants)
    deliver_webhook.apply(args=(new.endpoint.pk, event.pk))
    log = list(WebhookDelivery.objects.order_by("attempt").values_list("attempt", "status_code"))
    assert log == [(1, None), (2, None), (3, None)]
    assert "ConnectionError" in WebhookDelivery.objects.first().error


def test_a_delivered_event_is_not_sent_again(tenants, hooked, receiver):
    event = one_event(tenants)
    deliver_webhook.apply(args=(hooked.pk, event.pk))
    deliver_webhook.apply(args=(hooked.pk, event.pk))  # a redelivered task
    assert len(receiver.received) == 1
    assert WebhookDelivery.objects.count() == 1


def test_a_disabled_endpoint_gets_nothing(tenants, hooked, receiver):
    response = bearer(tenants.alice).delete(reverse("api:webhook-detail", kwargs={"pk": hooked.pk}))
    assert response.status_code == 204
    deliver_webhook.apply(args=(hooked.pk, one_event(tenants).pk))
    assert not receiver.received
    assert AuditEvent.objects.filter(action=AuditAction.WEBHOOK_DISABLED).count() == 1


def test_the_delivery_log_is_listed_for_managers(tenants, hooked, receiver, retries_run_inline):
    receiver.statuses = [500]
    deliver_webhook.apply(args=(hooked.pk, one_event(tenants).pk))
    url = reverse("api:webhook-deliveries", kwargs={"pk": hooked.pk})
    rows = bearer(tenants.alice).get(url).json()["results"]
    assert [(r["attempt"], r["status_code"], r["succeeded"]) for r in rows] == [
        (2, 200, True),
        (1, 500, False),
    ]
    assert bearer(tenants.bob).get(url).status_code == 404


def test_the_signature_covers_the_timestamp():
    body = b'{"id":"x"}'
    signature = sign("whsec_k", "1700000000", body)
    assert (
        signature
        == "sha256=" + hmac.new(b"whsec_k", b"1700000000." + body, hashlib.sha256).hexdigest()
    )
    assert verify("whsec_k", "1700000000", body, signature)
    assert not verify("whsec_k", "1700000001", body, signature)
    assert not verify("whsec_k", "1700000000", body + b" ", signature)


def test_backoff_grows_and_is_capped(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS, settings.WEBHOOK_RETRY_MAX_SECONDS = 30, 600
    assert 15 <= retry_countdown(1) <= 30
    assert 120 <= retry_countdown(4) <= 240
    assert retry_countdown(20) <= 600
    assert retry_countdown(1, retry_after=7) == 7
    assert retry_countdown(1, retry_after=9999) == 600

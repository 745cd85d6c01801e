"""Acknowledging an alert through the API: managers with manage access, with a reason."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccessGrant, AccessLevel, AuditAction, AuditEvent
from riskmodels.models import Alert, AlertState
from tests.api.conftest import bearer
from tests.factories import AlertFactory

REASON = "Withdrawing 250k on Monday"


def acknowledge(user, alert, reason=REASON):
    url = reverse("api:alert-acknowledge", kwargs={"pk": alert.pk})
    return bearer(user).post(url, {"reason": reason}, format="json")


def stored(alert) -> Mapping[str, object]:
    """Every column of the alert's row, as the database holds it now."""
    return Alert.objects.filter(pk=alert.pk).values().get()


def assert_refused(alert, post, status: int) -> None:
    """`post` is answered with `status` and changes nothing: not the alert's row, not the
    audit trail (the bearer token is made before the row is read)."""
    before, audit_before = stored(alert), list(AuditEvent.objects.values())
    response = post()
    assert response.status_code == status, response.content
    assert stored(alert) == before
    assert list(AuditEvent.objects.values()) == audit_before
    assert not AuditEvent.objects.filter(action=AuditAction.ALERT_ACKNOWLEDGED).exists()


def poster(user, alert, data):
    client = bearer(user)
    url = reverse("api:alert-acknowledge", kwargs={"pk": alert.pk})
    return lambda: client.post(url, data, format="json")


def test_a_manager_acknowledges_with_a_reason(tenants):
    alert = AlertFactory.create(portfolio=tenants.fund_a, subject="binance")
    before, unchanged = timezone.now(), stored(alert)
    response = acknowledge(tenants.alice, alert, "  " + REASON + "  ")
    after = timezone.now()
    assert response.status_code == 200
    row = stored(alert)
    assert row["state"] == AlertState.ACKNOWLEDGED
    assert row["acknowledged_by_id"] == tenants.alice.pk
    assert row["acknowledge_reason"] == REASON  # trimmed
    assert before <= row["acknowledged_at"] <= after
    assert row["resolved_at"] is None
    changed = {"state", "acknowledged_by_id", "acknowledged_at", "acknowledge_reason"}
    assert {k: v for k, v in row.items() if k not in changed} == {
        k: v for k, v in unchanged.items() if k not in changed
    }
    body = response.json()
    assert (body["id"], body["state"], body["acknowledged_by"]) == (
        alert.pk,
        "acknowledged",
        "alice",
    )
    assert body["acknowledge_reason"] == REASON
    assert body["acknowledged_at"] == row["acknowledged_at"].isoformat().replace("+00:00", "Z")
    event = AuditEvent.objects.get(action=AuditAction.ALERT_ACKNOWLEDGED)
    assert (event.actor, event.portfolio, event.target) == (
        tenants.alice,
        tenants.fund_a,
        f"riskmodels.alert #{alert.pk}: {Alert.objects.get(pk=alert.pk)}",
    )
    assert event.changes == {"state": ["open", "acknowledged"], "reason": [None, REASON]}
    assert before <= event.at <= after


def test_an_admin_may_acknowledge(tenants):
    alert = AlertFactory.create(portfolio=tenants.fund_b)
    before = timezone.now()
    assert acknowledge(tenants.ada, alert).status_code == 200
    row = stored(alert)
    assert (row["state"], row["acknowledged_by_id"], row["acknowledge_reason"]) == (
        AlertState.ACKNOWLEDGED,
        tenants.ada.pk,
        REASON,
    )
    assert before <= row["acknowledged_at"] <= timezone.now()
    assert AuditEvent.objects.get(action=AuditAction.ALERT_ACKNOWLEDGED).actor == tenants.ada


@pytest.mark.parametrize("data", [{"reason": ""}, {"reason": "   "}, {}, {"reason": None}])
def test_a_reason_is_required(tenants, data):
    alert = AlertFactory.create(portfolio=tenants.fund_a)
    assert_refused(alert, poster(tenants.alice, alert, data), 400)
    response = poster(tenants.alice, alert, data)()
    assert "reason" in response.json()


@pytest.mark.parametrize("user", ["bob", "dora", "charlie"])
def test_investors_and_other_managers_get_404(tenants, user):
    alert = AlertFactory.create(portfolio=tenants.fund_a)
    assert_refused(alert, poster(getattr(tenants, user), alert, {"reason": REASON}), 404)


def test_a_manager_with_a_view_grant_gets_404(tenants):
    AccessGrant.objects.filter(user=tenants.alice).update(level=AccessLevel.VIEW)
    alert = AlertFactory.create(portfolio=tenants.fund_a)
    assert_refused(alert, poster(tenants.alice, alert, {"reason": REASON}), 404)


def test_a_resolved_alert_cannot_be_acknowledged(tenants):
    resolved_at = timezone.now() - timedelta(hours=1)
    alert = AlertFactory.create(
        portfolio=tenants.fund_a, state=AlertState.RESOLVED, resolved_at=resolved_at
    )
    assert_refused(alert, poster(tenants.alice, alert, {"reason": REASON}), 400)
    response = poster(tenants.alice, alert, {"reason": REASON})()
    assert response.json() == {
        "reason": ["This alert is resolved; there is nothing to acknowledge."]
    }


def test_an_acknowledged_alert_keeps_its_acknowledgement_when_a_retry_is_refused(tenants):
    alert = AlertFactory.create(portfolio=tenants.fund_a)
    assert acknowledge(tenants.alice, alert).status_code == 200
    audit = AuditEvent.objects.filter(action=AuditAction.ALERT_ACKNOWLEDGED)
    assert audit.count() == 1
    before = stored(alert)
    response = poster(tenants.charlie, alert, {"reason": "not mine"})()
    assert response.status_code == 404
    assert stored(alert) == before and audit.count() == 1


def test_get_is_not_allowed(tenants):
    alert = AlertFactory.create(portfolio=tenants.fund_a)
    url = reverse("api:alert-acknowledge", kwargs={"pk": alert.pk})
    client = bearer(tenants.alice)
    assert_refused(alert, lambda: client.get(url), 405)

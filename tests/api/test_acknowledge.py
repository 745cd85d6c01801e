"""Acknowledging an alert through the API: managers with manage access, with a reason."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditAction, AuditEvent
from riskmodels.models import AlertState
from tests.api.conftest import bearer
from tests.factories import AlertFactory


def acknowledge(user, alert, reason="Withdrawing 250k on Monday"):
    url = reverse("api:alert-acknowledge", kwargs={"pk": alert.pk})
    return bearer(user).post(url, {"reason": reason}, format="json")


def test_a_manager_acknowledges_with_a_reason(tenants):
    alert = AlertFactory(portfolio=tenants.fund_a)
    response = acknowledge(tenants.alice, alert)
    assert response.status_code == 200
    body = response.json()
    assert (body["state"], body["acknowledged_by"]) == ("acknowledged", "alice")
    assert body["acknowledge_reason"] == "Withdrawing 250k on Monday"
    event = AuditEvent.objects.get(action=AuditAction.ALERT_ACKNOWLEDGED)
    assert event.actor == tenants.alice


def test_an_admin_may_acknowledge(tenants):
    alert = AlertFactory(portfolio=tenants.fund_b)
    assert acknowledge(tenants.ada, alert).status_code == 200


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_reason_is_required(tenants, reason):
    alert = AlertFactory(portfolio=tenants.fund_a)
    response = acknowledge(tenants.alice, alert, reason)
    assert response.status_code == 400 and "reason" in response.json()
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN


@pytest.mark.parametrize("user", ["bob", "dora", "charlie"])
def test_investors_and_other_managers_get_404(tenants, user):
    alert = AlertFactory(portfolio=tenants.fund_a)
    assert acknowledge(getattr(tenants, user), alert).status_code == 404
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN


def test_a_resolved_alert_cannot_be_acknowledged(tenants):
    alert = AlertFactory(portfolio=tenants.fund_a, state=AlertState.RESOLVED)
    response = acknowledge(tenants.alice, alert)
    assert response.status_code == 400


def test_get_is_not_allowed(tenants):
    alert = AlertFactory(portfolio=tenants.fund_a)
    url = reverse("api:alert-acknowledge", kwargs={"pk": alert.pk})
    assert bearer(tenants.alice).get(url).status_code == 405

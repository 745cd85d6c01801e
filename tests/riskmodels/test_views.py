"""Alert acknowledgement over HTTP, and another tenant's alerts and exposures answer 404."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils import timezone

from accounts.access import get_alert_for_user, get_exposure_for_user
from accounts.models import AccessGrant, AccessLevel, AuditAction, AuditEvent
from riskmodels.models import Alert, AlertState
from tests.conftest import login
from tests.factories import AlertFactory, ExposureFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert(tenants):
    return AlertFactory.create(portfolio=tenants.fund_a, subject="binance")


def acknowledge_url(alert) -> str:
    return reverse("riskmodels:acknowledge_alert", args=[alert.pk])


def stored(alert) -> Mapping[str, object]:
    """Every column of the alert's row, as the database holds it now."""
    return Alert.objects.filter(pk=alert.pk).values().get()


def assert_refused(client, alert, data, status: int, method: str = "post") -> HttpResponse:
    """The request is answered with `status` and changes neither the alert nor the audit."""
    before, audit_before = stored(alert), list(AuditEvent.objects.values())
    response = getattr(client, method)(acknowledge_url(alert), data)
    assert response.status_code == status
    assert stored(alert) == before
    assert list(AuditEvent.objects.values()) == audit_before
    return response


def test_manager_acknowledges_with_a_reason(tenants, alert):
    client, before = login(tenants.alice), timezone.now()
    response = client.post(acknowledge_url(alert), {"reason": "Moving 1m on Monday"})
    after = timezone.now()
    assert response.status_code == 302
    assert response["Location"] == reverse("riskmodels:alerts", args=["fund-a"])
    alert.refresh_from_db()
    assert (alert.state, alert.acknowledge_reason, alert.acknowledged_by) == (
        AlertState.ACKNOWLEDGED,
        "Moving 1m on Monday",
        tenants.alice,
    )
    assert before <= alert.acknowledged_at <= after and alert.resolved_at is None
    event = AuditEvent.objects.get(action=AuditAction.ALERT_ACKNOWLEDGED)
    assert (event.actor, event.portfolio) == (tenants.alice, tenants.fund_a)
    assert event.changes == {
        "state": ["open", "acknowledged"],
        "reason": [None, "Moving 1m on Monday"],
    }


@pytest.mark.parametrize("data", [{"reason": "  "}, {}])
def test_empty_reason_is_refused(tenants, alert, data):
    assert_refused(login(tenants.alice), alert, data, 400)


def test_a_resolved_alert_is_refused(tenants):
    alert = AlertFactory.create(
        portfolio=tenants.fund_a, state=AlertState.RESOLVED, resolved_at=timezone.now()
    )
    response = assert_refused(login(tenants.alice), alert, {"reason": "late"}, 400)
    assert response.content.decode() == "This alert is resolved; there is nothing to acknowledge."


def test_get_is_not_allowed(tenants, alert):
    assert_refused(login(tenants.alice), alert, {"reason": "x"}, 405, method="get")


@pytest.mark.parametrize("who", ["bob", "charlie", "dora"])
def test_others_get_404(tenants, alert, who):
    assert_refused(login(getattr(tenants, who)), alert, {"reason": "mine now"}, 404)


def test_a_manager_with_a_view_grant_gets_404(tenants, alert):
    AccessGrant.objects.filter(user=tenants.alice).update(level=AccessLevel.VIEW)
    assert_refused(login(tenants.alice), alert, {"reason": "Moving 1m on Monday"}, 404)


def test_anonymous_is_sent_to_login(alert, client):
    response = assert_refused(client, alert, {"reason": "x"}, 302)
    assert reverse("accounts:login") in response["Location"]


def test_another_tenants_alert_is_404(tenants, alert):
    assert get_alert_for_user(tenants.alice, alert.pk) == alert
    assert get_alert_for_user(tenants.bob, alert.pk) == alert  # bob views fund A
    with pytest.raises(Http404):
        get_alert_for_user(tenants.charlie, alert.pk)
    with pytest.raises(Http404):
        get_alert_for_user(tenants.dora, alert.pk)
    with pytest.raises(Http404):
        get_alert_for_user(tenants.bob, alert.pk, manage=True)


def test_another_tenants_exposure_is_404(tenants):
    exposure = ExposureFactory.create(portfolio=tenants.fund_a)
    assert get_exposure_for_user(tenants.bob, exposure.pk) == exposure
    for outsider in (tenants.charlie, tenants.dora):
        with pytest.raises(Http404):
            get_exposure_for_user(outsider, exposure.pk)

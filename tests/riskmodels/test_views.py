"""Alert acknowledgement over HTTP, and another tenant's alerts and exposures answer 404."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.urls import reverse

from accounts.access import get_alert_for_user, get_exposure_for_user
from riskmodels.models import AlertState
from tests.conftest import login
from tests.factories import AlertFactory, ExposureFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert(tenants):
    return AlertFactory(portfolio=tenants.fund_a, subject="binance")


def acknowledge_url(alert) -> str:
    return reverse("riskmodels:acknowledge_alert", args=[alert.pk])


def test_manager_acknowledges_with_a_reason(tenants, alert):
    response = login(tenants.alice).post(acknowledge_url(alert), {"reason": "Moving 1m on Monday"})
    assert response.status_code == 302
    assert response["Location"] == reverse("portfolio:portfolio_detail", args=["fund-a"])
    alert.refresh_from_db()
    assert (alert.state, alert.acknowledge_reason) == (
        AlertState.ACKNOWLEDGED,
        "Moving 1m on Monday",
    )


def test_empty_reason_is_refused(tenants, alert):
    response = login(tenants.alice).post(acknowledge_url(alert), {"reason": "  "})
    assert response.status_code == 400
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN


def test_get_is_not_allowed(tenants, alert):
    assert login(tenants.alice).get(acknowledge_url(alert)).status_code == 405


@pytest.mark.parametrize("who", ["bob", "charlie", "dora"])
def test_others_get_404(tenants, alert, who):
    response = login(getattr(tenants, who)).post(acknowledge_url(alert), {"reason": "mine now"})
    assert response.status_code == 404
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN


def test_anonymous_is_sent_to_login(alert, client):
    response = client.post(acknowledge_url(alert), {"reason": "x"})
    assert response.status_code == 302
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
    exposure = ExposureFactory(portfolio=tenants.fund_a)
    assert get_exposure_for_user(tenants.bob, exposure.pk) == exposure
    for outsider in (tenants.charlie, tenants.dora):
        with pytest.raises(Http404):
            get_exposure_for_user(outsider, exposure.pk)

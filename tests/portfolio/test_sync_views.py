from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AccessGrant
from portfolio.models import HoldingSnapshot, SyncRound, SyncRun
from tests.conftest import login
from tests.factories import LocationFactory
from tests.portfolio.test_sync import make_account


@pytest.fixture
def account(tenants, emulator, eager_celery):
    account = make_account("binance")
    account.location.portfolio = tenants.fund_a
    account.location.save()
    return account


def test_manager_sync_now_runs_a_round_and_shows_fresh_data(
    account, tenants, django_capture_on_commit_callbacks
):
    client = login(tenants.alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("portfolio:sync_portfolio", args=["fund-a"]), follow=True)
    assert "Sync started for 1 account" in response.content.decode()
    assert HoldingSnapshot.objects.filter(location=account.location).count() == 1
    sync_round = SyncRound.objects.get()
    status = client.get(reverse("portfolio:sync_round_status", args=["fund-a", sync_round.pk]))
    assert status.json()["finished"] == 1 and status.json()["complete"] is True


def assert_no_sync_is_started(client, account, django_capture_on_commit_callbacks) -> None:
    """Both sync buttons answer 404, and nothing is recorded or sent: no round, no run, no
    dispatch after the commit (a sent round would sync at once: Celery is eager here), and
    no snapshot."""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("portfolio:sync_portfolio", args=["fund-a"]))
        assert response.status_code == 404
        response = client.post(reverse("portfolio:sync_location", args=[account.pk]))
        assert response.status_code == 404
    assert callbacks == []
    assert not SyncRound.objects.exists() and not SyncRun.objects.exists()
    assert not HoldingSnapshot.objects.exists()
    assert "last_sync_round" not in client.session


@pytest.mark.parametrize("who", ["bob", "charlie", "dora"])
def test_only_managers_of_the_portfolio_can_sync(
    account, tenants, who, django_capture_on_commit_callbacks
):
    client = login(getattr(tenants, who))
    assert_no_sync_is_started(client, account, django_capture_on_commit_callbacks)


def test_view_only_manager_cannot_sync(account, tenants, django_capture_on_commit_callbacks):
    AccessGrant.objects.filter(user=tenants.alice).update(level="view")
    client = login(tenants.alice)
    assert_no_sync_is_started(client, account, django_capture_on_commit_callbacks)


def test_sync_now_is_post_only(account, tenants):
    response = login(tenants.alice).get(reverse("portfolio:sync_portfolio", args=["fund-a"]))
    assert response.status_code == 405


def test_location_page_warns_about_a_key_that_can_trade(account, tenants):
    account.key_permissions = {"read": True, "trade": True, "withdraw": True}
    account.save()
    page = login(tenants.alice).get(reverse("portfolio:location_detail", args=[account.pk]))
    assert "This API key can trade and withdraw" in page.content.decode()


def test_failed_sync_is_shown_in_words_on_the_portfolio_page(
    account, tenants, emulator, django_capture_on_commit_callbacks
):
    rejected = {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}
    emulator.add_fault("binance", "/api/v3/account", status=401, body=rejected, times=None)
    client = login(tenants.alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("portfolio:sync_location", args=[account.pk]))
    page = client.get(reverse("portfolio:portfolio_detail", args=["fund-a"])).content.decode()
    assert "failed" in page and "rejected the API key" in page
    assert not HoldingSnapshot.objects.filter(location=account.location).exists()


def test_an_account_never_synced_says_so_and_a_manual_location_says_manual(account, tenants):
    LocationFactory.create(portfolio=tenants.fund_a, name="Vault")
    client = login(tenants.alice)
    for url in (reverse("portfolio:portfolio_detail", args=["fund-a"]), reverse("home")):
        page = client.get(url).content.decode()
        assert "not synced yet" in page and "manual" in page

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from portfolio import services
from portfolio.crypto import decrypt_credentials
from portfolio.models import CustodyLocation, ExchangeAccount, SyncRound
from tests.conftest import login
from tests.factories import CounterpartyFactory
from tests.portfolio.test_sync import make_account

BINANCE = {"api_key": "test-binance-key", "secret": "test-binance-secret", "password": ""}


@pytest.fixture
def account(tenants, emulator):
    account = make_account("binance")
    account.location.portfolio = tenants.fund_a
    account.location.save()
    return account


def _add(client, **fields):
    data = {"name": "Binance main", "exchange": "binance", "wallets": ["spot", "funding"]}
    url = reverse("sources:add_exchange_account", args=["fund-a"])
    return client.post(url, {**data, **BINANCE, **fields})


def _edit(client, account, **fields):
    url = reverse("sources:edit_exchange_account", args=[account.pk])
    data = {"wallets": ["spot"], "api_key": "", "secret": "", "password": ""}
    return client.post(url, {**data, **fields})


def test_manager_adds_an_exchange_account_with_encrypted_credentials(tenants):
    CounterpartyFactory.create(slug="binance")
    response = _add(login(tenants.alice))
    account = ExchangeAccount.objects.get()
    assert response.url == reverse("sources:edit_exchange_account", args=[account.pk])
    assert account.location.portfolio == tenants.fund_a
    assert account.location.custodian.slug == "binance"
    assert account.wallets == ["spot", "funding"]
    assert decrypt_credentials(account.credentials_encrypted)["secret"] == "test-binance-secret"


def test_add_page_offers_only_exchanges_counterweight_can_sync(tenants):
    page = login(tenants.alice).get(reverse("sources:add_exchange_account", args=["fund-a"]))
    assert page.status_code == 200
    options = page.context["form"].fields["exchange"].choices
    assert [value for value, _ in options] == ["binance", "kraken", "okx", "coinbase", "bybit"]


def test_wallets_an_exchange_lacks_are_dropped(tenants):
    CounterpartyFactory.create(slug="kraken")
    _add(login(tenants.alice), exchange="kraken", wallets=["spot", "futures"])
    assert ExchangeAccount.objects.get().wallets == ["spot"]


def test_only_wallets_an_exchange_lacks_is_an_error(tenants):
    CounterpartyFactory.create(slug="coinbase")
    response = _add(login(tenants.alice), exchange="coinbase", wallets=["futures"])
    assert "Coinbase has only these wallets: spot" in response.content.decode()
    assert not ExchangeAccount.objects.exists()


def test_exchange_missing_from_registry_asks_for_a_custodian_instead_of_failing(tenants):
    response = _add(login(tenants.alice))
    assert response.status_code == 200
    assert "choose who holds it" in response.content.decode()
    assert not CustodyLocation.objects.exists()


def test_duplicate_location_name_is_a_form_error(account, tenants):
    response = _add(login(tenants.alice), name=account.location.name)
    assert "already has a location with this name" in response.content.decode()


def test_key_without_secret_is_a_form_error(tenants):
    CounterpartyFactory.create(slug="binance")
    response = _add(login(tenants.alice), secret="")
    assert "Enter both or neither" in response.content.decode()
    assert not ExchangeAccount.objects.exists()


def test_credentials_are_never_rendered_back(account, tenants):
    client = login(tenants.alice)
    pages = [
        _add(client, name="other", test="1"),
        client.get(reverse("sources:edit_exchange_account", args=[account.pk])),
        _edit(client, account, api_key="new-key-typed", secret="new-secret-typed", test="1"),
    ]
    for page in pages:
        html = page.content.decode()
        for secret in ("test-binance-secret", "new-secret-typed", "new-key-typed"):
            assert secret not in html
        assert account.credentials_encrypted not in html


def test_connection_test_reports_balances_and_stores_nothing(account, tenants):
    response = _add(login(tenants.alice), name="Trial", test="1")
    result = response.context["result"]
    assert result.ok and result.balance_count > 0
    assert f"Connection works: {result.balance_count} balances found." in response.content.decode()
    assert "This API key can trade" in response.content.decode()
    assert not CustodyLocation.objects.filter(name="Trial").exists()


def test_connection_test_shows_the_exchange_fault_in_words(account, tenants, emulator):
    rejected = {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}
    emulator.add_fault("binance", "/api/v3/account", status=401, body=rejected, times=None)
    response = _edit(login(tenants.alice), account, test="1")
    assert response.status_code == 200
    assert "Connection failed" in response.content.decode()
    assert response.context["result"].message
    account.refresh_from_db()
    assert account.credentials_broken_at is None  # a test stores nothing, failures included


def test_connection_test_with_a_wrong_secret_fails_in_words(account, tenants):
    response = _edit(
        login(tenants.alice), account, api_key="test-binance-key", secret="bad", test="1"
    )
    assert not response.context["result"].ok
    account.refresh_from_db()
    assert decrypt_credentials(account.credentials_encrypted)["secret"] == "test-binance-secret"


def test_unexpected_error_in_a_connection_test_is_a_message_not_a_500(
    account, tenants, monkeypatch, caplog
):
    def explode(*args, **kwargs):
        raise RuntimeError("boom with test-binance-secret inside")

    monkeypatch.setattr(services.exchanges, "fetch_account", explode)
    with caplog.at_level(logging.WARNING):
        response = _edit(login(tenants.alice), account, test="1")
    assert response.status_code == 200
    assert "The test failed unexpectedly (RuntimeError)" in response.content.decode()
    assert "test-binance-secret" not in caplog.text


def test_edit_with_empty_credentials_keeps_the_stored_ones(account, tenants):
    before = account.credentials_encrypted
    response = _edit(login(tenants.alice), account, wallets=["spot", "margin"])
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.wallets == ["spot", "margin"]
    assert account.credentials_encrypted == before


def test_edit_replaces_credentials_and_clears_the_broken_mark(account, tenants):
    ExchangeAccount.objects.filter(pk=account.pk).update(credentials_error="rejected")
    _edit(login(tenants.alice), account, api_key="k2-key", secret="s2-secret")
    account.refresh_from_db()
    assert decrypt_credentials(account.credentials_encrypted) == {
        "apiKey": "k2-key",
        "secret": "s2-secret",
    }
    assert account.credentials_error == ""


@pytest.mark.parametrize("who", ["bob", "charlie", "dora"])
def test_account_pages_are_404_outside_manage_reach(account, tenants, who):
    client = login(getattr(tenants, who))
    assert client.get(reverse("sources:add_exchange_account", args=["fund-a"])).status_code == 404
    edit = reverse("sources:edit_exchange_account", args=[account.pk])
    assert client.get(edit).status_code == 404
    assert _edit(client, account, api_key="x-key", secret="x-secret").status_code == 404
    account.refresh_from_db()
    assert decrypt_credentials(account.credentials_encrypted)["apiKey"] == "test-binance-key"


def test_admin_reaches_every_portfolio_account(account, tenants):
    client = login(tenants.ada)
    assert (
        client.get(reverse("sources:edit_exchange_account", args=[account.pk])).status_code == 200
    )
    assert client.get(reverse("sources:add_exchange_account", args=["fund-b"])).status_code == 200


def test_portfolio_page_links_to_account_pages_and_shows_sync_progress(account, tenants):
    # The round's tasks are sent on commit, which this test's transaction never reaches.
    client = login(tenants.alice)
    client.post(reverse("portfolio:sync_portfolio", args=["fund-a"]))
    page = client.get(reverse("portfolio:portfolio_detail", args=["fund-a"])).content.decode()
    sync_round = SyncRound.objects.get()
    status_url = reverse("portfolio:sync_round_status", args=["fund-a", sync_round.pk])
    assert f'data-sync-status-url="{status_url}"' in page
    assert 'data-complete="false"' in page and "portfolio/sync_progress.js" in page
    assert reverse("sources:add_exchange_account", args=["fund-a"]) in page
    assert reverse("sources:edit_exchange_account", args=[account.pk]) in page
    assert reverse("manual:holdings", args=["fund-a"]) in page


def test_sync_progress_of_another_portfolio_is_not_shown(account, tenants):
    client = login(tenants.ada)
    client.post(reverse("portfolio:sync_portfolio", args=["fund-a"]))
    page = client.get(reverse("portfolio:portfolio_detail", args=["fund-b"])).content.decode()
    assert "data-sync-status-url" not in page


def test_investor_sees_no_account_links(account, tenants):
    page = login(tenants.bob).get(reverse("portfolio:location_detail", args=[account.pk]))
    html = page.content.decode()
    assert reverse("sources:edit_exchange_account", args=[account.pk]) not in html
    assert "Sync now" not in html

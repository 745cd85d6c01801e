from __future__ import annotations

import logging

import ccxt
import pytest
from django.templatetags.static import static
from django.urls import reverse

from portfolio import exchanges, services
from portfolio.account_forms import CREDENTIAL_FIELDS
from portfolio.crypto import decrypt_credentials
from portfolio.models import (
    Counterparty,
    CounterpartyKind,
    CustodyLocation,
    ExchangeAccount,
    RatingTier,
    SyncRound,
)
from portfolio.registry import is_unclassified_exchange
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


def test_add_page_offers_every_exchange_counterweight_can_sync_dedicated_first(tenants):
    page = login(tenants.alice).get(reverse("sources:add_exchange_account", args=["fund-a"]))
    assert page.status_code == 200
    options = page.context["form"].fields["exchange"].choices
    values = [value for value, _ in options]
    assert values[:5] == ["binance", "kraken", "okx", "coinbase", "bybit"]
    # Every other ccxt exchange reads balances (4.5.90: all 104 have fetchBalance).
    assert sorted(values) == sorted(ccxt.exchanges)
    assert ("latoken", "Latoken (spot)") in options


def test_wallets_an_exchange_lacks_are_dropped(tenants):
    CounterpartyFactory.create(slug="kraken")
    _add(login(tenants.alice), exchange="kraken", wallets=["spot", "futures"])
    assert ExchangeAccount.objects.get().wallets == ["spot"]


def test_only_wallets_an_exchange_lacks_is_an_error(tenants):
    CounterpartyFactory.create(slug="coinbase")
    response = _add(login(tenants.alice), exchange="coinbase", wallets=["futures"])
    assert "Coinbase has only these wallets: spot" in response.content.decode()
    assert not ExchangeAccount.objects.exists()


def test_exchange_missing_from_registry_becomes_an_unrated_counterparty_to_classify(tenants):
    client = login(tenants.alice)
    response = _add(client, exchange="kucoin", wallets=["spot"], password="pp")
    assert response.status_code == 302
    counterparty = CustodyLocation.objects.get().custodian
    assert (counterparty.slug, counterparty.name, counterparty.kind) == (
        "kucoin",
        "KuCoin",
        CounterpartyKind.EXCHANGE,
    )
    assert counterparty.rating_tier == RatingTier.UNRATED
    assert is_unclassified_exchange(counterparty)
    page = client.get(response["Location"])
    assert "KuCoin is not in the counterparty registry: it was added unrated" in (
        page.content.decode()
    )


def test_an_exchange_the_registry_has_is_not_created_again(tenants):
    existing = CounterpartyFactory.create(slug="binance", rating_tier=RatingTier.B)
    _add(login(tenants.alice))
    assert CustodyLocation.objects.get().custodian == existing
    assert Counterparty.objects.filter(slug="binance").count() == 1


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
    assert 'data-complete="false"' in page and static("portfolio/sync_progress.js") in page
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


def test_a_wallet_signing_exchange_asks_for_its_key_and_address_and_stores_them(tenants):
    assert exchanges.required_credentials("paradex") == ("privateKey", "walletAddress")
    key, address = "0x" + "ab" * 32, "0x" + "cd" * 20
    response = _add(
        login(tenants.alice),
        exchange="paradex",
        wallets=["spot"],
        api_key="",
        secret="",
        private_key=key,
        wallet_address=address,
    )
    assert response.status_code == 302
    stored = decrypt_credentials(ExchangeAccount.objects.get().credentials_encrypted)
    assert stored == {"privateKey": key, "walletAddress": address}


def test_hyperliquid_asks_only_for_the_wallet_address(tenants):
    # ccxt requires a private key to sign orders; reading needs the address alone.
    page = login(tenants.alice).get(
        reverse("sources:add_exchange_account", args=["fund-a"]) + "?exchange=hyperliquid"
    )
    form = page.context["form"]
    assert [f for f in form.fields if f in CREDENTIAL_FIELDS] == ["wallet_address"]
    assert 'name="private_key"' not in page.content.decode()


def test_hyperliquid_never_stores_a_private_key_even_if_posted(tenants):
    address = "0x" + "cd" * 20
    response = _add(
        login(tenants.alice),
        exchange="hyperliquid",
        wallets=["spot", "futures", "earn"],
        api_key="",
        secret="",
        private_key="0x" + "ab" * 32,
        wallet_address=address,
    )
    assert response.status_code == 302
    stored = decrypt_credentials(ExchangeAccount.objects.get().credentials_encrypted)
    assert stored == {"walletAddress": address}  # encrypted like every credential


@pytest.mark.parametrize("address", ["0x" + "cd" * 19, "cd" * 20, "0x" + "zz" * 20])
def test_hyperliquid_refuses_what_is_no_wallet_address(tenants, address):
    response = _add(
        login(tenants.alice),
        exchange="hyperliquid",
        wallets=["spot"],
        api_key="",
        secret="",
        wallet_address=address,
    )
    assert response.status_code == 200
    assert "0x and 40 hexadecimal digits" in response.content.decode()
    assert not ExchangeAccount.objects.exists()


def test_a_passphrase_the_exchange_requires_is_asked_for_all_or_none(tenants):
    response = _add(login(tenants.alice), exchange="kucoin", wallets=["spot"], password="")
    assert response.status_code == 200
    assert "Enter all or none. This exchange needs each of them." in response.content.decode()
    assert not ExchangeAccount.objects.exists()


def test_credentials_an_exchange_does_not_ask_for_are_not_stored(tenants):
    CounterpartyFactory.create(slug="binance")
    _add(login(tenants.alice), password="not-asked", uid="not-asked")
    stored = decrypt_credentials(ExchangeAccount.objects.get().credentials_encrypted)
    assert stored == {"apiKey": "test-binance-key", "secret": "test-binance-secret"}


def test_edit_form_asks_the_accounts_exchange_credentials(tenants):
    account = services.create_exchange_account(
        portfolio=tenants.fund_a, name="KuCoin main", exchange_id="kucoin", wallets=["spot"]
    )
    page = login(tenants.alice).get(reverse("sources:edit_exchange_account", args=[account.pk]))
    form = page.context["form"]
    # KuCoin's master key may include its sub-accounts: offered beside the credentials.
    credentials = [f for f in form.fields if f not in ("wallets", "include_subaccounts")]
    assert credentials == ["api_key", "secret", "password"]
    assert "include_subaccounts" in form.fields
    wallets = [value for value, _ in form.fields["wallets"].choices]
    assert wallets == ["spot", "funding", "earn", "margin", "futures"]

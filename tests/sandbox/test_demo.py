"""`make demo`'s data: three funds, the third on the newer venues with a master key's
sub-accounts, an off-exchange settlement and an exchange read by the generic adapter."""

from __future__ import annotations

import json

import pytest

from portfolio import exchanges
from portfolio.models import ExchangeAccount, OffExchangeSettlement, Portfolio
from sandbox.demo import DEMO_SCENARIO, seed_demo

pytestmark = pytest.mark.django_db

NEW_VENUES = {
    "deribit", "bitget", "gate", "kucoin", "htx", "bitfinex", "cryptocom", "gemini", "bitstamp",
    "mexc", "krakenfutures", "hyperliquid",
}  # fmt: skip


@pytest.fixture
def seeded(django_capture_on_commit_callbacks):
    from django.core.management import call_command

    call_command("load_registry")
    with django_capture_on_commit_callbacks(execute=False):
        seed_demo()
    return {p.slug: p for p in Portfolio.objects.all()}


def accounts_of(fund):
    return ExchangeAccount.objects.filter(location__portfolio=fund).select_related("location")


def test_the_demo_has_three_funds_each_with_exchange_accounts(seeded):
    assert set(seeded) == {"aurora-fund", "borealis-fund", "cascade-fund"}
    for fund in seeded.values():
        assert accounts_of(fund).exists(), fund.slug


def test_the_third_fund_is_on_at_least_five_of_the_newer_venues(seeded):
    venues = {a.exchange_id for a in accounts_of(seeded["cascade-fund"])}
    assert len(venues & NEW_VENUES) >= 5, venues


def test_the_third_fund_has_a_master_key_with_subaccounts_and_a_generic_exchange(seeded):
    cascade = accounts_of(seeded["cascade-fund"])
    master = cascade.get(include_subaccounts=True)
    assert master.exchange_id in exchanges.subaccount_exchanges()
    raw = json.loads(DEMO_SCENARIO.read_text())["accounts"]
    listed = next(a for a in raw if a["api_key"] == "demo-cascade-binance-key")["subaccounts"]
    assert len(listed) == 2  # found by the master's first sync, each its own location
    assert any(exchanges.reader(a.exchange_id) == "generic" for a in cascade)


def test_the_third_fund_settles_deribit_off_exchange_through_copper(seeded):
    settlement = OffExchangeSettlement.objects.get(
        account__location__portfolio=seeded["cascade-fund"]
    )
    assert (settlement.account.exchange_id, settlement.custodian.slug) == ("deribit", "copper")
    assert settlement.network == "clearloop"


def test_seeding_again_changes_no_account(seeded):
    before = sorted(ExchangeAccount.objects.values_list("pk", "location__portfolio__slug"))
    seed_demo()
    assert sorted(ExchangeAccount.objects.values_list("pk", "location__portfolio__slug")) == before


def test_every_demo_key_is_stored_once(seeded):
    raw = json.loads(DEMO_SCENARIO.read_text())["accounts"]
    assert ExchangeAccount.objects.exclude(key_fingerprint="").count() == len(raw)

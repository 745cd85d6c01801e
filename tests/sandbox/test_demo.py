"""`make demo`'s data: three funds, the third on the newer venues with a master key's
sub-accounts, an off-exchange settlement and an exchange read by the generic adapter."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from portfolio import exchanges
from portfolio.crypto import key_fingerprint
from portfolio.models import ExchangeAccount, OffExchangeSettlement, Portfolio
from sandbox.demo import DEMO_SCENARIO, credentials_of, fund_accounts, seed_demo
from sandbox.rundemo import USERS_FILE

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
    assert ExchangeAccount.objects.exclude(key_fingerprint="").count() == len(fund_accounts())


def test_the_spare_account_the_readme_names_is_served_and_connected_to_no_fund(seeded):
    raw = json.loads(DEMO_SCENARIO.read_text())["accounts"]
    (spare,) = [a for a in raw if a not in fund_accounts()]
    assert (spare["exchange"], spare["api_key"], spare["secret"]) == (
        "coinbase",
        "demo-spare-coinbase-key",
        "demo-spare-coinbase-secret-0123456789",
    )
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert spare["api_key"] in readme and spare["secret"] in readme
    assert not ExchangeAccount.objects.filter(
        key_fingerprint=key_fingerprint("coinbase", credentials_of(spare))
    ).exists()


def test_seed_demo_keeps_the_users_for_later_readable_by_its_owner_only(db, settings, tmp_path):
    from django.core.management import call_command

    call_command("load_registry")
    settings.VAR_DIR = tmp_path
    out = io.StringIO()
    call_command("seed_demo", "--print-later", stdout=out)
    kept = tmp_path / USERS_FILE
    assert kept.stat().st_mode & 0o777 == 0o600
    text = kept.read_text()
    assert text.startswith("Demo users (passwords are new on every run):\n")
    assert [line.split()[0] for line in text.splitlines()[1:]] == ["admin", "manager", "investor"]
    assert text.splitlines()[1].split()[1] not in out.getvalue()  # no password printed now


def test_the_spare_account_can_be_added_and_synced_in_the_demo(seeded, settings):
    from portfolio.models import Holding
    from portfolio.services import create_exchange_account
    from portfolio.sync import SyncRequest, sync_location
    from sandbox.emulator import run_emulator

    raw = json.loads(DEMO_SCENARIO.read_text())["accounts"]
    (spare,) = [a for a in raw if a not in fund_accounts()]
    with run_emulator(DEMO_SCENARIO) as emulator:
        settings.EXCHANGE_EMULATOR_URL = emulator.url
        account = create_exchange_account(
            portfolio=seeded["borealis-fund"],
            name="Coinbase spare",
            exchange_id="coinbase",
            credentials=credentials_of(spare),
            wallets=["spot"],
        )
        run = sync_location(SyncRequest(account.location_id))
    assert run is not None and run.outcome == "success", run and run.error_message
    held = Holding.objects.filter(snapshot__location=account.location)
    assert {h.asset.code: h.amount for h in held} == {
        "BTC": Decimal("2.5"),
        "ETH": Decimal("40"),
        "USDC": Decimal("250000"),
    }

"""Deribit sub-accounts read with the main account's key: ccxt's real class over real HTTP to
the emulator (no mocks)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import ccxt
import pytest

from portfolio.exchanges import ExchangeFault, SubAccountRef
from portfolio.exchanges import deribit as adapter
from portfolio.exchanges.errors import Malformed
from sandbox.urls import assert_offline, point_at_emulator
from tests.portfolio.subaccount_support import amounts, fetcher

SCENARIO = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "exchanges_test.json"
RAW = json.loads(SCENARIO.read_text())
ACCOUNT = next(a for a in RAW["accounts"] if a["exchange"] == "deribit")
CREDS = {"apiKey": ACCOUNT["api_key"], "secret": ACCOUNT["secret"]}
D = Decimal

LISTED = (SubAccountRef("7001", "Desk A"), SubAccountRef("7002", "Desk B"))
EXPECTED = {
    "7001": {
        ("BTC", "spot"): D("1.75"),  # free 1.5 + locked 0.25: the cash balance
        ("BTC", "futures"): D("0.125"),  # equity - balance - options_value
        ("BTC", "options"): D("-0.05"),  # a short option
        ("USDC", "spot"): D("20000.5"),
    },
    "7002": {
        ("ETH", "spot"): D("40"),
        ("ETH", "futures"): D("-2.25"),
        ("ETH", "options"): D("1.2"),
    },
}
SUMMARIES = "/api/v2/private/get_account_summaries"
LISTING = "/api/v2/private/get_subaccounts"


@pytest.fixture
def emulator(scenario_emulator):
    return scenario_emulator


@pytest.fixture
def fetch(emulator):
    return fetcher(emulator, "deribit")


def test_listing_gives_exactly_the_scenarios_subaccounts_not_the_main_account(fetch):
    assert fetch(list_subaccounts=True).subaccounts == LISTED


@pytest.mark.parametrize("sub", list(EXPECTED))
def test_subaccount_summaries_land_exact_with_their_products(fetch, emulator, sub):
    emulator.reset_stats()
    result = fetch(subaccount=sub)
    assert amounts(result) == EXPECTED[sub]
    assert all(isinstance(b.amount, Decimal) for b in result.balances)
    # The three wallets come from one request, made for the sub-account.
    assert emulator.count(exchange="deribit", path=SUMMARIES) == 1
    assert result.key_permissions is None


def test_main_account_is_read_as_before(fetch):
    # The sub-accounts' summaries never leak into the main account's.
    main = amounts(fetch())
    assert main[("BTC", "spot")] == D("6.5") and ("USDC", "spot") not in main


def test_unknown_subaccount_is_an_exchange_error_in_deribits_words(fetch):
    with pytest.raises(ExchangeFault) as caught:
        fetch(subaccount="9999")
    assert caught.value.kind == "exchange_error"
    assert "not_found" in caught.value.message
    assert "Deribit returned an error" in caught.value.message


def test_removed_subaccount_leaves_the_listing(fetch, emulator):
    emulator.remove_subaccount("deribit", ACCOUNT["api_key"], "7001")
    assert fetch(list_subaccounts=True).subaccounts == (LISTED[1],)
    with pytest.raises(ExchangeFault, match="not_found"):
        fetch(subaccount="7001")


def test_added_subaccount_is_listed_and_read(fetch, emulator):
    balances = {"account": {"SOL": "12.5"}, "options": {"BTC": "0.01"}}
    emulator.set_subaccount("deribit", ACCOUNT["api_key"], "7003", "Desk C", balances)
    assert SubAccountRef("7003", "Desk C") in fetch(list_subaccounts=True).subaccounts
    assert amounts(fetch(subaccount="7003")) == {
        ("SOL", "spot"): D("12.5"),
        ("BTC", "options"): D("0.01"),
    }


def test_listing_is_one_request_however_many_subaccounts(fetch, emulator):
    for n in range(30):
        emulator.set_subaccount("deribit", ACCOUNT["api_key"], str(8000 + n), f"Extra {n}")
    emulator.reset_stats()
    refs = fetch(list_subaccounts=True).subaccounts
    assert len(refs) == 32 and refs[-1] == SubAccountRef("8029", "Extra 29")
    assert emulator.count(exchange="deribit", path=LISTING) == 1


def test_listing_route_checks_the_signature(emulator):
    cls = ccxt.deribit
    api = point_at_emulator(cls().urls["api"], emulator.url, getattr(cls(), "hostname", None))
    assert_offline(api)
    client = cls({**CREDS, "secret": "wrong-secret", "urls": {"api": api}, "timeout": 2000})
    with pytest.raises(ccxt.AuthenticationError):
        client.private_get_get_subaccounts({})


# The listing parser on its own: what a malformed listing does.
def test_listing_name_is_the_username_else_the_system_name_else_the_id():
    rows = [
        {"id": 1, "type": "main", "username": "fund"},
        {"id": 2, "type": "subaccount", "username": " Desk ", "system_name": "s2"},
        {"id": 3, "type": "subaccount", "username": "", "system_name": "s3"},
        {"id": 4, "type": "subaccount"},
    ]
    refs = adapter.subaccount_refs({"result": rows})
    assert [(r.id, r.name) for r in refs] == [("2", "Desk"), ("3", "s3"), ("4", "4")]


@pytest.mark.parametrize("sub_id", [None, "7", 7.0, True, 0])
def test_listing_row_without_an_integer_id_is_malformed(sub_id):
    with pytest.raises(Malformed, match="id"):
        adapter.subaccount_refs({"result": [{"id": sub_id, "type": "subaccount"}]})


def test_listing_row_of_an_unknown_type_is_malformed_not_skipped():
    with pytest.raises(Malformed, match="type"):
        adapter.subaccount_refs({"result": [{"id": 5, "type": "sub"}]})

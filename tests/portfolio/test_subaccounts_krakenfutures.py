"""Kraken Futures sub-accounts read with a master key: ccxt's real class over real HTTP to the
emulator (no mocks). One GET /subaccounts answer lists them with their balances."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import ccxt
import pytest

from portfolio.exchanges import ExchangeFault, SubAccountRef
from portfolio.exchanges import krakenfutures as adapter
from portfolio.exchanges.errors import Malformed
from sandbox.urls import assert_offline, point_at_emulator
from tests.portfolio.subaccount_support import amounts, fetcher

SCENARIO = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "exchanges_test.json"
RAW = json.loads(SCENARIO.read_text())
ACCOUNT = next(a for a in RAW["accounts"] if a["exchange"] == "krakenfutures")
CREDS = {"apiKey": ACCOUNT["api_key"], "secret": ACCOUNT["secret"]}
D = Decimal

DESK_A = "3f1d8e2a-5b6c-4d7e-8f90-a1b2c3d4e5f6"
DESK_B = "9a8b7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
LISTED = (SubAccountRef(DESK_A, "Desk A"), SubAccountRef(DESK_B, "Desk B"))
EXPECTED = {
    DESK_A: {
        ("BTC", "funding"): D("0.75"),  # the holding wallet's xbt
        ("USD", "funding"): D("500.25"),
        ("USD", "margin"): D("10000"),  # flex collateral
        ("ETH", "margin"): D("4"),
        ("USD", "futures"): D("125.5"),  # flex totalUnrealized
        # its single-collateral f-xbt:usd lists availableMargin only: not read
    },
    DESK_B: {
        ("ETH", "funding"): D("12"),
        ("BTC", "margin"): D("0.2"),
        ("USDT", "margin"): D("-50"),  # a flex debt
        ("USD", "futures"): D("-7.75"),
    },
}
LISTING = "/derivatives/api/v3/subaccounts"


@pytest.fixture
def emulator(scenario_emulator):
    return scenario_emulator


@pytest.fixture
def fetch(emulator):
    return fetcher(emulator, "krakenfutures")


def test_listing_gives_exactly_the_scenarios_subaccounts(fetch):
    assert fetch(list_subaccounts=True).subaccounts == LISTED


@pytest.mark.parametrize("sub", list(EXPECTED))
def test_subaccount_wallets_land_exact_with_their_products(fetch, emulator, sub):
    emulator.reset_stats()
    result = fetch(subaccount=sub)
    assert amounts(result) == EXPECTED[sub]
    assert all(isinstance(b.amount, Decimal) for b in result.balances)
    # Three wallets, one request; the master's /accounts is not asked.
    assert emulator.count(exchange="krakenfutures", path=LISTING) == 1
    assert emulator.count(exchange="krakenfutures", path="/derivatives/api/v3/accounts") == 0
    assert result.key_permissions is None


def test_unknown_subaccount_is_an_exchange_error_naming_it(fetch):
    with pytest.raises(ExchangeFault) as caught:
        fetch(subaccount="00000000-0000-0000-0000-000000000000")
    assert caught.value.kind == "exchange_error" and not caught.value.retryable
    assert "does not list the sub-account '00000000-" in caught.value.message


def test_removed_subaccount_leaves_the_listing_and_is_not_read_as_empty(fetch, emulator):
    emulator.remove_subaccount("krakenfutures", ACCOUNT["api_key"], DESK_A)
    assert fetch(list_subaccounts=True).subaccounts == (LISTED[1],)
    with pytest.raises(ExchangeFault, match="does not list"):
        fetch(subaccount=DESK_A)


def test_added_subaccount_is_listed_and_read(fetch, emulator):
    uid = "11111111-2222-4333-8444-555555555555"
    balances = {"cash": {"usdc": "99.125"}}
    emulator.set_subaccount("krakenfutures", ACCOUNT["api_key"], uid, "Desk C", balances)
    assert SubAccountRef(uid, "Desk C") in fetch(list_subaccounts=True).subaccounts
    # An empty flex account: its zero PnL row is dropped by the merge.
    assert amounts(fetch(subaccount=uid)) == {("USDC", "funding"): D("99.125")}


def test_listing_is_one_request_however_many_subaccounts(fetch, emulator):
    for n in range(30):
        uid = f"00000000-0000-4000-8000-{n:012d}"
        emulator.set_subaccount("krakenfutures", ACCOUNT["api_key"], uid, f"Extra {n}")
    emulator.reset_stats()
    refs = fetch(list_subaccounts=True).subaccounts
    assert len(refs) == 32 and refs[-1].name == "Extra 29"
    assert emulator.count(exchange="krakenfutures", path=LISTING) == 1


def test_listing_route_checks_the_signature(emulator):
    cls = ccxt.krakenfutures
    api = point_at_emulator(cls().urls["api"], emulator.url, getattr(cls(), "hostname", None))
    assert_offline(api)
    wrong = "d3Jvbmctc2VjcmV0"  # base64, but not the account's secret
    client = cls({**CREDS, "secret": wrong, "urls": {"api": api}, "timeout": 2000})
    with pytest.raises(ccxt.AuthenticationError):
        client.private_get_subaccounts({})


# The parsers on their own: what a malformed listing does.
def page(subaccounts):
    from portfolio.exchanges.rows import Page

    document = {"result": "success", "subaccounts": subaccounts}
    return Page(document, json.dumps(document))


class Client:
    def safe_currency_code(self, code):
        return {"xbt": "BTC"}.get(code.lower(), code.upper())


def test_listing_name_is_the_full_name_else_the_email_else_the_uid():
    rows = [
        {"accountUid": "a", "fullName": " Desk ", "email": "a@x"},
        {"accountUid": "b", "fullName": "", "email": "b@x"},
        {"accountUid": "c"},
    ]
    refs = adapter.subaccount_refs({"subaccounts": rows})
    assert [(r.id, r.name) for r in refs] == [("a", "Desk"), ("b", "b@x"), ("c", "c")]


def test_listing_row_without_a_uid_is_malformed():
    with pytest.raises(Malformed, match="accountUid"):
        adapter.subaccount_refs({"subaccounts": [{"fullName": "x"}]})


def test_subaccount_listed_twice_with_other_amounts_is_refused_in_every_wallet():
    sub = {"accountUid": "a", "holdingAccounts": [{"currency": "xbt", "amount": 1}]}
    other = {"accountUid": "a", "holdingAccounts": [{"currency": "xbt", "amount": 2}]}
    for wallet in ("funding", "margin", "futures"):
        (call,) = adapter.subaccount_wallets("a")[wallet]
        with pytest.raises(Malformed, match="twice"):
            list(call.parse(Client(), page([sub, other])))


def test_subaccount_amounts_are_read_from_the_body_text_not_floats():
    sub = {
        "accountUid": "a",
        "holdingAccounts": [{"currency": "xbt", "amount": 0.1234567890123456789}],
        "flexAccount": {"currencies": [], "totalUnrealized": 1e-8},
    }
    raw = json.dumps({"result": "success", "subaccounts": [sub]})
    raw = raw.replace("0.12345678901234568", "0.123456789012345678")
    from portfolio.exchanges.rows import Page

    (call,) = adapter.subaccount_wallets("a")["funding"]
    (row,) = call.parse(Client(), Page(json.loads(raw), raw))
    assert row.balance.amount == D("0.123456789012345678")
    (call,) = adapter.subaccount_wallets("a")["futures"]
    (row,) = call.parse(Client(), Page(json.loads(raw), raw))
    assert row.balance.amount == D("1e-8")


def test_a_negative_holding_is_refused():
    sub = {"accountUid": "a", "holdingAccounts": [{"currency": "usd", "amount": -1}]}
    (call,) = adapter.subaccount_wallets("a")["funding"]
    with pytest.raises(Malformed, match="negative"):
        list(call.parse(Client(), page([sub])))

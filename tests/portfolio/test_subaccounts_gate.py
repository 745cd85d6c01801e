"""Gate sub-accounts read with a master key: ccxt's real class over real HTTP to the emulator."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from portfolio.exchanges import ExchangeFault, SubAccountRef
from portfolio.exchanges.errors import Malformed
from portfolio.exchanges.rows import Page
from tests.portfolio.subaccount_support import amounts, fetcher

SCENARIO = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "exchanges_test.json"
RAW = next(a for a in json.loads(SCENARIO.read_text())["accounts"] if a["exchange"] == "gate")
CREDENTIALS = {"apiKey": RAW["api_key"], "secret": RAW["secret"]}
D = Decimal

LISTED = (SubAccountRef("30010001", "Desk A"), SubAccountRef("30010002", "Desk B"))
EXPECTED = {
    "30010001": {
        ("BTC", "spot"): "0.5",
        ("USDT", "spot"): "1200.5",
        ("ETH", "margin"): "1",
        ("USDT", "margin"): "-50.5",  # 200 - 250 borrowed - 0.5 interest
        ("USDT", "futures"): "787.5",  # wallet 800 and unrealised PnL -12.5
    },
    "30010002": {
        ("ETH", "spot"): "4",
        ("GT", "spot"): "25",
        ("BTC", "futures"): "0.102",  # wallet 0.1 and unrealised PnL 0.002
    },
}
BALANCE_PATHS = (
    "/api/v4/wallet/sub_account_balances",
    "/api/v4/wallet/sub_account_margin_balances",
    "/api/v4/wallet/sub_account_futures_balances",
)


@pytest.fixture
def emulator(scenario_emulator):
    return scenario_emulator


@pytest.fixture
def fetch(emulator):
    return fetcher(emulator, "gate")


def test_listing_gives_exactly_the_scenarios_subaccounts(fetch):
    assert fetch(list_subaccounts=True).subaccounts == LISTED


@pytest.mark.parametrize("sub", list(EXPECTED))
def test_subaccount_wallets_land_exact_with_their_products(fetch, emulator, sub):
    result = fetch(subaccount=sub)
    assert amounts(result) == {k: D(v) for k, v in EXPECTED[sub].items()}
    for path in BALANCE_PATHS:
        assert emulator.count(exchange="gate", path=path) == 1
    assert emulator.count(exchange="gate", path="/api/v4/spot/accounts") == 0
    assert result.key_permissions is None  # the master's own sync reports them


def test_unknown_subaccount_fails_with_gates_words(fetch):
    with pytest.raises(ExchangeFault) as caught:
        fetch(subaccount="99999999")
    assert caught.value.kind == "exchange_error"
    assert "Sub account not found" in caught.value.message


def test_removed_subaccount_leaves_the_listing(fetch, emulator):
    emulator.remove_subaccount("gate", RAW["api_key"], "30010001")
    assert fetch(list_subaccounts=True).subaccounts == (LISTED[1],)


def test_added_subaccount_is_listed_and_read(fetch, emulator):
    emulator.set_subaccount("gate", RAW["api_key"], "30010009", "Desk C", {"spot": {"BTC": "0.5"}})
    assert SubAccountRef("30010009", "Desk C") in fetch(list_subaccounts=True).subaccounts
    assert amounts(fetch(subaccount="30010009")) == {("BTC", "spot"): D("0.5")}


# The parsers on their own: what a malformed or unexpected answer does.
def test_an_answer_for_another_subaccount_is_malformed():
    from portfolio.exchanges import gate

    parse = gate.sub_spot("1")
    page = Page([{"uid": "2", "available": {"BTC": "1"}}], "")
    with pytest.raises(Malformed, match="answered for '2'"):
        list(parse(None, page))


def test_listing_name_is_the_remark_else_the_login_name_else_the_id():
    from portfolio.exchanges import gate

    rows = [
        {"user_id": 1, "remark": " Desk ", "login_name": "u1"},
        {"user_id": 2, "remark": "", "login_name": "u2"},
        {"user_id": 3},
    ]
    assert [(r.id, r.name) for r in gate.subaccount_refs(rows)] == [
        ("1", "Desk"),
        ("2", "u2"),
        ("3", "3"),
    ]
    with pytest.raises(Malformed, match="without user_id"):
        gate.subaccount_refs([{"remark": "x"}])

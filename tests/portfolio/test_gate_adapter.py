"""The gate adapter's parsers on Gate's documented payloads (a real ccxt instance for the
currency codes; no requests are made), and a wallet never opened over the whole sync."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from portfolio import exchanges
from portfolio.exchanges import ExchangeFault, fetch_account, gate
from portfolio.exchanges.errors import Malformed, MalformedAnswer, PermissionsUnreadable
from portfolio.exchanges.rows import Page, distinct_rows, merge
from sandbox.emulator import run_emulator
from tests.portfolio.test_exchanges import SCENARIO, creds

D = Decimal
CLIENT = ccxt.gate()


def balances(parse: Any, data: Any) -> dict[tuple[str, str], Decimal]:
    found = merge(distinct_rows(CLIENT, parse, [Page(data, json.dumps(data))]))
    return {(b.code, b.product): b.amount for b in found}


def test_futures_wallet_and_pnl_merge_into_the_equity():
    account = {"currency": "USDT", "total": "4.4516", "unrealised_pnl": "-0.52",
               "available": "3.9"}  # fmt: skip
    rows = list(gate.futures(CLIENT, Page(account, "")))
    assert [(r.row_id, r.balance.amount) for r in rows] == [
        ("USDT", D("4.4516")),
        ("USDT unrealised_pnl", D("-0.52")),
    ]
    assert balances(gate.futures, account) == {("USDT", "futures"): D("3.9316")}


def test_futures_without_a_total_is_malformed():
    with pytest.raises(Malformed):
        balances(gate.futures, {"currency": "USDT", "unrealised_pnl": "1"})


def test_options_are_the_balance_and_the_position_value_not_the_reference_pnl():
    account = {"currency": "USDT", "total": "300", "position_value": "-45.5",
               "equity": "254.5", "unrealised_pnl": "12"}  # fmt: skip
    assert balances(gate.options, account) == {("USDT", "options"): D("254.5")}


def test_isolated_margin_is_net_of_borrowed_and_interest_per_pair():
    accounts = [
        {"currency_pair": "BTC_USDT",
         "base": {"currency": "BTC", "available": "0.5", "locked": "0", "borrowed": "0",
                  "interest": "0"},
         "quote": {"currency": "USDT", "available": "400", "locked": "0", "borrowed": "600",
                   "interest": "0.75"}},
        {"currency_pair": "ETH_USDT",
         "base": {"currency": "ETH", "available": "1", "locked": "0.5", "borrowed": "0",
                  "interest": "0"},
         "quote": {"currency": "USDT", "available": "50", "locked": "0", "borrowed": "0",
                   "interest": "0"}},
    ]  # fmt: skip
    assert balances(gate.margin, accounts) == {
        ("BTC", "margin"): D("0.5"),
        ("ETH", "margin"): D("1.5"),
        ("USDT", "margin"): D("-150.75"),
    }


def test_uni_lending_reads_the_total_lent():
    rows = [{"currency": "BTC", "current_amount": "20.999992", "amount": "20.999992",
             "lent_amount": "0", "frozen_amount": "0", "reinvest_left_amount": 0}]  # fmt: skip
    assert balances(gate.uni_lends, rows) == {("BTC", "earn"): D("20.999992")}


def test_uni_lending_pages_while_a_page_is_full():
    assert gate.lends_next_page([{}] * 100, {"page": 1, "limit": 100}) == {
        "page": 2,
        "limit": 100,
    }
    assert gate.lends_next_page([{}] * 3, {"page": 2, "limit": 100}) is None


def test_staking_rows_are_kept_apart_by_project():
    rows = [
        {"pid": 27, "mortgage_coin": "DOT", "mortgage_amount": "10", "freeze_amount": "0"},
        {"pid": 64, "mortgage_coin": "DOT", "mortgage_amount": "2.5", "freeze_amount": "0"},
    ]
    assert balances(gate.staking, rows) == {("DOT", "staking"): D("12.5")}


def test_staking_row_of_several_coins_is_malformed():
    rows = [{"pid": 1, "mortgage_coin": "BTC,ETH", "mortgage_amount": "1"}]
    with pytest.raises(MalformedAnswer, match="several coins"):
        balances(gate.staking, rows)


def keys(*perms: tuple[str, bool]) -> dict[str, Any]:
    return {"state": 1, "mode": 1, "perms": [{"name": n, "read_only": r} for n, r in perms]}


@pytest.mark.parametrize(
    ("perms", "trade", "withdraw"),
    [
        ((("wallet", True), ("spot", True), ("futures", True)), False, False),
        ((("spot", False),), True, False),
        ((("futures", False), ("wallet", True)), True, False),
        ((("wallet", False),), False, True),  # wallet write: withdrawals and transfers
        ((("earn", False), ("account", False)), False, False),
    ],
)
def test_permissions_from_perms(perms, trade, withdraw):
    assert gate.permissions(keys(*perms)) == {"read": True, "trade": trade, "withdraw": withdraw}


@pytest.mark.parametrize(
    "payload",
    [
        {"state": 1},
        {"perms": [{"name": "spot"}]},
        {"perms": [{"name": "spot", "read_only": "false"}]},
        [keys(("spot", True)), keys(("spot", False))],
    ],
)
def test_permissions_unreadable(payload):
    with pytest.raises(PermissionsUnreadable):
        gate.permissions(payload)


@pytest.fixture(scope="module")
def emulator():
    exchanges.clear_markets_cache()
    with run_emulator(SCENARIO) as emu:
        yield emu
    exchanges.clear_markets_cache()


def sync(emulator: Any, wallets: tuple[str, ...]) -> Any:
    return fetch_account("gate", creds("gate"), wallets, emulator_url=emulator.url)


def test_a_futures_account_never_opened_is_an_empty_wallet_not_a_broken_key(emulator):
    # The scenario's account never opened delivery futures: Gate answers USER_NOT_FOUND.
    found = {(b.code, b.product): b.amount for b in sync(emulator, ("futures",)).balances}
    assert found == {("USDT", "futures"): D("2419.75"), ("BTC", "futures"): D("0.415")}
    assert emulator.count(exchange="gate", path="/api/v4/delivery/usdt/accounts") == 1


def test_user_not_found_on_spot_is_still_an_error(emulator):
    body = {"label": "USER_NOT_FOUND", "detail": "please transfer funds first"}
    emulator.add_fault("gate", "/api/v4/spot/accounts", status=400, body=body)
    try:
        with pytest.raises(ExchangeFault):
            sync(emulator, ("spot",))
    finally:
        emulator.clear_faults()

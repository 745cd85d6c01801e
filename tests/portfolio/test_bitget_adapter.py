"""The bitget adapter's parsers on Bitget's documented payloads (a real ccxt instance for the
currency codes; no requests are made)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from portfolio import exchanges
from portfolio.exchanges import ExchangeFault, bitget, fetch_account
from portfolio.exchanges.errors import Malformed, PermissionsUnreadable
from portfolio.exchanges.rows import Page, distinct_rows, merge
from sandbox.emulator import run_emulator
from tests.portfolio.test_exchanges import SCENARIO, creds

D = Decimal
CLIENT = ccxt.bitget()


def page(data: Any) -> Page:
    document = {"code": "00000", "msg": "success", "requestTime": 1, "data": data}
    return Page(document, json.dumps(document))


def balances(parse: Any, data: Any) -> dict[tuple[str, str], Decimal]:
    found = merge(distinct_rows(CLIENT, parse, [page(data)]))
    return {(b.code, b.product): b.amount for b in found}


def test_futures_equity_is_booked_whole_with_its_pnl_as_futures():
    row = {"marginCoin": "USDT", "accountEquity": "10582.9", "unrealizedPL": "-17.1"}
    rows = list(bitget.futures(CLIENT, page([row])))
    assert [(r.row_id, r.balance.amount) for r in rows] == [
        ("USDT", D("10600.0")),  # the wallet: equity less the open positions' PnL
        ("USDT unrealizedPL", D("-17.1")),
    ]
    assert balances(bitget.futures, [row]) == {("USDT", "futures"): D("10582.9")}


def test_futures_without_positions_sends_an_empty_pnl_read_as_none():
    # The documented answer: "unrealizedPL": "" when nothing is open.
    row = {"marginCoin": "USDT", "accountEquity": "10582.90265771", "unrealizedPL": ""}
    assert balances(bitget.futures, [row]) == {("USDT", "futures"): D("10582.90265771")}


def test_futures_row_without_equity_is_malformed():
    with pytest.raises(Malformed):
        balances(bitget.futures, [{"marginCoin": "USDT", "available": "1"}])


def test_isolated_margin_keeps_one_coin_of_two_pairs_apart():
    rows = [
        {"symbol": "BTCUSDT", "coin": "USDT", "net": "-150"},
        {"symbol": "ETHUSDT", "coin": "USDT", "net": "40"},
        {"symbol": "BTCUSDT", "coin": "BTC", "net": "0.5"},
    ]
    assert balances(bitget.isolated_margin, rows) == {
        ("USDT", "margin"): D("-110"),
        ("BTC", "margin"): D("0.5"),
    }


def test_cross_margin_debt_is_negative_net():
    row = {"coin": "USDT", "totalAmount": "500", "borrow": "800", "interest": "1.25",
           "net": "-301.25"}  # fmt: skip
    assert balances(bitget.cross_margin, [row]) == {("USDT", "margin"): D("-301.25")}


def test_spot_adds_frozen_and_locked_to_available():
    row = {"coin": "usdt", "available": "1", "frozen": "2", "locked": "0.5", "limitAvailable": "0"}
    assert balances(bitget.spot, [row]) == {("USDT", "spot"): D("3.5")}


def test_funding_reads_an_empty_frozen_as_nothing_frozen():
    row = {"coin": "USDT", "available": "326", "frozen": "", "usdtValue": "326"}
    assert balances(bitget.funding, [row]) == {("USDT", "funding"): D("326")}


def info(authorities: Any) -> dict[str, Any]:
    return {"code": "00000", "data": {"userId": "1", "authorities": authorities}}


@pytest.mark.parametrize(
    ("authorities", "trade", "withdraw"),
    [
        (["coor", "cpor", "stor", "smor", "wtor"], False, False),  # read only
        (["stor", "stow"], True, False),  # spot trade
        (["coow"], True, False),  # futures orders
        (["wtow"], False, False),  # wallet transfer: neither trading nor withdrawing
        (["stor", "wwow"], False, True),
        (["trade", "readonly"], True, False),  # the documented example's older names
    ],
)
def test_permissions_from_authorities(authorities, trade, withdraw):
    assert bitget.permissions(info(authorities)) == {
        "read": True,
        "trade": trade,
        "withdraw": withdraw,
    }


@pytest.mark.parametrize("authorities", [None, "stow", [1, 2]])
def test_permissions_unreadable_without_a_list_of_names(authorities):
    with pytest.raises(PermissionsUnreadable):
        bitget.permissions(info(authorities))


@pytest.fixture(scope="module")
def emulator():
    exchanges.clear_markets_cache()
    with run_emulator(SCENARIO) as emu:
        yield emu
    exchanges.clear_markets_cache()


def test_a_unified_account_key_pauses_the_sync_in_words_not_as_empty_wallets(emulator):
    # Bitget answers the classic (v2) endpoints so for a unified trading account's key; ccxt
    # raises PermissionDenied: the key cannot read these wallets, and retrying will not help.
    body = {"code": "40085", "msg": "You are in Unified Account mode, and the Classic Account "
            "API is not supported at this time", "requestTime": 1, "data": None}  # fmt: skip
    emulator.add_fault("bitget", "/api/v2/spot/account/assets", status=400, body=body)
    try:
        with pytest.raises(ExchangeFault) as caught:
            fetch_account("bitget", creds("bitget"), ("spot",), emulator_url=emulator.url)
    finally:
        emulator.clear_faults()
    fault = caught.value
    assert (fault.kind, fault.credentials_broken) == ("permission", True)
    assert "Unified Account mode" in fault.message

"""The Bitfinex adapter's rules that the scenario alone does not pin down: amounts sent as JSON
numbers, the derivatives wallet's F0 codes, positions' PL apart, permissions and error bodies."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from portfolio import exchanges
from portfolio.exchanges import bitfinex, fetch_account
from portfolio.exchanges.errors import Malformed, MalformedAnswer, PermissionsUnreadable
from portfolio.exchanges.rows import Page
from portfolio.exchanges.session import exact_numbers
from sandbox.emulator import run_emulator
from tests.portfolio.test_exchanges import SCENARIO, creds

D = Decimal


@pytest.fixture(scope="module")
def client() -> Any:
    return exchanges.build_client("bitfinex")


def parse(client: Any, parser: Any, body: str) -> dict[tuple[str, str, str], Decimal]:
    rows = parser(client, Page(exact_numbers(body), body))
    return {(r.balance.reported_code, r.balance.code, r.balance.product): r.balance.amount
            for r in rows if r.balance.amount}  # fmt: skip


ALL = frozenset({"spot", "funding", "margin", "futures"})


def test_json_numbers_are_read_as_their_decimal_text(client):
    # 0.1 and eighteen places: a float would have turned both into other numbers.
    body = '[["exchange","BTC",0.1,0,0.1,null,null],["funding","DAI",1234567.123456789012345678,0]]'
    assert parse(client, bitfinex.wallets(ALL), body) == {
        ("BTC", "BTC", "spot"): D("0.1"),
        ("DAI", "DAI", "funding"): D("1234567.123456789012345678"),
    }


def test_a_long_amount_lands_exact_through_the_whole_sync():
    long_amount = "1234567.123456789012345678"
    exchanges.clear_markets_cache()
    with run_emulator(SCENARIO) as emulator:
        key = creds("bitfinex")["apiKey"]
        emulator.set_balance("bitfinex", key, "exchange", "DAI", long_amount)
        found = fetch_account("bitfinex", creds("bitfinex"), ["spot"], emulator_url=emulator.url)
    exchanges.clear_markets_cache()
    dai = next(b for b in found.balances if b.code == "DAI")
    assert str(dai.amount) == long_amount


def test_the_derivatives_wallet_is_margin_rows_of_f0_currencies(client):
    body = '[["margin","USTF0",5000,0,5000],["margin","BTCF0",0.5,0,0.5],["margin","UST",10,0,10]]'
    assert parse(client, bitfinex.wallets(ALL), body) == {
        ("USTF0", "USDT", "futures"): D("5000"),
        ("BTCF0", "BTC", "futures"): D("0.5"),
        ("UST", "USDT", "margin"): D("10"),
    }


def test_unsettled_interest_is_a_debt_of_the_margin_wallet(client):
    body = '[["margin","USD",100,2.5,97.5]]'
    rows = list(bitfinex.wallets(ALL)(client, Page(exact_numbers(body), body)))
    assert [(r.row_id, r.balance.amount) for r in rows] == [
        ("margin USD", D("100")),
        ("margin USD interest", D("-2.5")),
    ]


def test_funding_holds_lent_funds_and_unsettled_interest_there_is_not_booked(client):
    body = '[["funding","USD",10000,3.25,4000]]'  # 6000 lent out: still in BALANCE
    assert parse(client, bitfinex.wallets(ALL), body) == {("USD", "USD", "funding"): D("10000")}


def test_an_unknown_wallet_type_is_malformed(client):
    with pytest.raises(Malformed, match="unknown wallet type 'savings'"):
        parse(client, bitfinex.wallets(ALL), '[["savings","USD",1,0,1]]')


def test_negative_exchange_balance_is_refused(client):
    with pytest.raises(MalformedAnswer, match="negative where the exchange reports no debt"):
        parse(client, bitfinex.wallets(ALL), '[["exchange","BTC",-1,0,0]]')


def test_nan_is_refused_not_read_as_a_float(client):
    with pytest.raises(MalformedAnswer, match="not a decimal string"):
        parse(client, bitfinex.wallets(ALL), '[["exchange","BTC",NaN,0,0]]')


def position(symbol: str, pl: str, position_id: int, kind: int) -> str:
    fields = [f'"{symbol}"', '"ACTIVE"', "1", "100", "5000", "0", pl, "0", "50", "2", "null",
              str(position_id), "0", "0", "null", str(kind), "null", "0", "0", "null"]  # fmt: skip
    return "[" + ",".join(fields) + "]"


def test_position_pl_is_booked_in_the_quote_currency_apart_from_the_wallet(client):
    body = "[" + ",".join([
        position("tBTCUSD", "-150.25", 1, 0),
        position("tETHBTC", "0.01", 2, 0),
        position("tBTCF0:USTF0", "75.5", 3, 1),
        position("tTESTBTC:TESTUSD", "-1", 4, 0),
    ]) + "]"  # fmt: skip
    margin = parse(client, bitfinex.positions("margin"), body)
    futures = parse(client, bitfinex.positions("futures"), body)
    assert margin == {
        ("USD", "USD", "margin"): D("-150.25"),
        ("BTC", "BTC", "margin"): D("0.01"),
        ("TESTUSD", "TESTUSD", "margin"): D("-1"),
    }
    assert futures == {("USTF0", "USDT", "futures"): D("75.5")}


def test_a_position_of_unknown_type_is_malformed(client):
    with pytest.raises(Malformed, match="TYPE is 2"):
        parse(client, bitfinex.positions("margin"), "[" + position("tBTCUSD", "1", 1, 2) + "]")


SCOPES = ("account", "history", "orders", "positions", "funding", "settings", "wallets",
          "withdraw")  # fmt: skip


def scopes(**writes: int) -> list[list[Any]]:
    return [[s, 1, writes.get(s, 0)] for s in SCOPES]


@pytest.mark.parametrize(
    ("writes", "flags"),
    [
        ({}, {"read": True, "trade": False, "withdraw": False}),
        ({"orders": 1}, {"read": True, "trade": True, "withdraw": False}),
        # Offering funds lends them out: a key that may do so is flagged as trading.
        ({"funding": 1}, {"read": True, "trade": True, "withdraw": False}),
        ({"withdraw": 1}, {"read": True, "trade": False, "withdraw": True}),
    ],
)
def test_permissions_from_scopes(writes, flags):
    assert bitfinex.permissions(scopes(**writes)) == flags


@pytest.mark.parametrize(
    "payload",
    [{}, [["wallets", 1]], [["wallets", True, 0]], scopes()[:-1], [["wallets", 1, 2]]],
)
def test_unreadable_permissions(payload):
    with pytest.raises(PermissionsUnreadable):
        bitfinex.permissions(payload)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (["error", 10114, "nonce: small"], "clock"),
        (["error", 20060, "maintenance"], "maintenance"),
        (["error", 11010, "ratelimit: error"], "rate_limit"),
        (["error", 10100, "apikey: invalid"], None),  # ccxt's AuthenticationError
        ([["exchange", "BTC", 1, 0, 1]], None),
        ({"error": "ERR_RATE_LIMIT"}, None),
    ],
)
def test_error_bodies(body, kind):
    assert bitfinex.body_error_kind(body) == kind


def test_a_null_pl_reads_as_no_pnl(client):
    body = "[" + position("tBTCUSD", "null", 7, 0) + "]"
    assert parse(client, bitfinex.positions("margin"), body) == {}


def test_a_wallet_row_without_its_balance_is_malformed(client):
    with pytest.raises(Malformed, match="row without BALANCE"):
        parse(client, bitfinex.wallets(ALL), '[["exchange","BTC"]]')

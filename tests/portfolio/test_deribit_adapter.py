"""Deribit's summary parser: exact amounts from JSON numbers, the equity split, error bodies."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from portfolio.exchanges import deribit
from portfolio.exchanges.errors import Malformed, MalformedAnswer
from portfolio.exchanges.rows import Page, distinct_rows, merge

CLIENT = ccxt.deribit()
D = Decimal


def page(*summaries: dict[str, Any], raw: str | None = None) -> Page:
    body = raw or json.dumps({"jsonrpc": "2.0", "result": {"summaries": list(summaries)}})
    return Page(json.loads(body), body)


def read(wallet: str, answer: Page) -> dict[tuple[str, str], Decimal]:
    (call,) = deribit.ADAPTER.wallets[wallet]
    found = merge(distinct_rows(CLIENT, call.parse, [answer]))
    return {(b.code, b.product): b.amount for b in found}


def every_wallet(answer: Page) -> dict[tuple[str, str], Decimal]:
    found: dict[tuple[str, str], Decimal] = {}
    for wallet in ("spot", "futures", "options"):
        found |= read(wallet, answer)
    return found


def test_amounts_are_the_numbers_text_not_floats():
    # 0.1 + 0.2 as floats is 0.30000000000000004; the body's text is exact.
    raw = (
        '{"jsonrpc":"2.0","result":{"summaries":[{"currency":"BTC","balance":0.1,'
        '"equity":0.30000000000000001,"options_value":0.2}]}}'
    )
    found = every_wallet(page(raw=raw))
    assert found == {
        ("BTC", "spot"): D("0.1"),
        ("BTC", "futures"): D("0.00000000000000001"),
        ("BTC", "options"): D("0.2"),
    }


def test_exponent_numbers_are_read_exactly():
    row = '{"currency":"ETH","balance":1e-05,"equity":1.5e-05}'
    raw = f'{{"jsonrpc":"2.0","result":{{"summaries":[{row}]}}}}'
    assert every_wallet(page(raw=raw)) == {
        ("ETH", "spot"): D("0.00001"),
        ("ETH", "futures"): D("0.000005"),
    }


def test_the_three_parts_add_up_to_the_equity():
    row = {"currency": "BTC", "balance": 2, "equity": 2.15, "options_value": -0.1}
    found = every_wallet(page(row))
    assert found == {
        ("BTC", "spot"): D(2),
        ("BTC", "futures"): D("0.25"),
        ("BTC", "options"): D("-0.1"),
    }
    assert sum(found.values()) == D("2.15")


def test_without_options_value_there_are_no_options():
    assert read("options", page({"currency": "BTC", "balance": 1, "equity": 1})) == {}


def test_a_summary_without_equity_is_malformed():
    with pytest.raises(Malformed, match="equity"):
        read("spot", page({"currency": "BTC", "balance": 1}))


def test_negative_cash_is_a_debt_only_under_cross_collateral():
    debt = {"currency": "USDC", "balance": -500, "equity": -500, "cross_collateral_enabled": True}
    assert read("spot", page(debt)) == {("USDC", "margin"): D(-500)}
    with pytest.raises(MalformedAnswer, match="negative where the exchange reports no debt"):
        read("spot", page(debt | {"cross_collateral_enabled": False}))


def test_a_summary_repeated_with_another_equity_is_refused_in_every_wallet():
    first = {"currency": "BTC", "balance": 1, "equity": 1}
    for wallet in ("spot", "futures", "options"):
        with pytest.raises(MalformedAnswer, match="appears twice"):
            read(wallet, page(first, first | {"equity": 2}))


def test_nan_is_malformed():
    raw = '{"jsonrpc":"2.0","result":{"summaries":[{"currency":"BTC","balance":NaN,"equity":1}]}}'
    with pytest.raises(MalformedAnswer, match="not a finite amount"):
        read("spot", page(raw=raw))


def test_spot_quotes_are_the_last_prices_text_by_symbol():
    CLIENT.markets_by_id = {"BTC_USDC": [{"symbol": "BTC/USDC"}]}
    raw = (
        '{"jsonrpc":"2.0","result":[{"instrument_name":"BTC_USDC","last":97000.1},'
        '{"instrument_name":"UNKNOWN_X","last":1},{"instrument_name":"BTC_USDC2","last":null}]}'
    )
    assert deribit.spot_quotes(CLIENT, page(raw=raw)) == {"BTC/USDC": "97000.1"}


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ({"code": 10028, "message": "too_many_requests"}, "rate_limit"),
        ({"code": 11051, "message": "system_maintenance"}, "maintenance"),
        ({"code": 13009, "message": "unauthorized", "data": {"reason": "bad timestamp"}}, "clock"),
        ({"code": 13009, "message": "unauthorized"}, None),  # ccxt: an authentication error
        ({"code": 13004, "message": "invalid_credentials"}, None),
    ],
)
def test_error_bodies(error, kind):
    assert deribit.error_kind({"jsonrpc": "2.0", "error": error}) == kind
    assert deribit.error_kind({"jsonrpc": "2.0", "result": {}}) is None


def test_book_summaries_are_asked_only_for_the_currencies_deribit_takes():
    assert deribit.book_request("USDT") == {"currency": "USDT", "kind": "spot"}
    assert deribit.book_request("SOL") is None  # its pairs come with their quote currency's

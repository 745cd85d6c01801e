"""Kraken Futures' /accounts parser: wallets by account type, PnL apart, exact numbers."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from portfolio.exchanges import krakenfutures
from portfolio.exchanges.errors import Malformed, MalformedAnswer
from portfolio.exchanges.rows import Page, distinct_rows, merge

CLIENT = ccxt.krakenfutures()
D = Decimal


def page(accounts: dict[str, Any] | None = None, raw: str | None = None) -> Page:
    body = raw or json.dumps({"result": "success", "accounts": accounts})
    return Page(json.loads(body), body)


def read(wallet: str, answer: Page) -> dict[tuple[str, str], Decimal]:
    (call,) = krakenfutures.ADAPTER.wallets[wallet]
    found = merge(distinct_rows(CLIENT, call.parse, [answer]))
    return {(b.code, b.product): b.amount for b in found}


def single(balance: Any, pv: Any = None, pnl: Any = None) -> dict[str, Any]:
    auxiliary = {k: v for k, v in {"pv": pv, "pnl": pnl}.items() if v is not None}
    balances = {"xbt": balance, "fi_xbtusd_260327": 3}  # contracts: not money
    return {
        "type": "marginAccount",
        "currency": "xbt",
        "balances": balances,
        "auxiliary": auxiliary,
    }


def test_the_single_account_pnl_is_pv_less_the_balance_exactly():
    answer = page({"fi_xbtusd": single(0.1, pv=0.30000000000000004)})
    assert read("margin", answer) == {("BTC", "margin"): D("0.1")}
    assert read("futures", answer) == {("BTC", "futures"): D("0.20000000000000004")}


def test_without_pv_the_single_account_pnl_is_read():
    assert read("futures", page({"fi_xbtusd": single(1, pnl=-0.5)})) == {
        ("BTC", "futures"): D("-0.5")
    }


def test_flex_pnl_is_usd_and_falls_back_to_pnl_plus_funding():
    flex = {"type": "multiCollateralMarginAccount", "currencies": {"XBT": {"quantity": 1}}}
    with_total = flex | {"totalUnrealized": -12.5, "pnl": -10, "unrealizedFunding": -2.5}
    assert read("futures", page({"flex": with_total})) == {("USD", "futures"): D("-12.5")}
    parts = flex | {"pnl": 7, "unrealizedFunding": 0.25}
    assert read("futures", page({"flex": parts})) == {("USD", "futures"): D("7.25")}
    assert read("margin", page({"flex": parts})) == {("BTC", "margin"): D(1)}


def test_a_negative_flex_quantity_is_a_margin_debt_but_cash_never_is():
    flex = {"type": "multiCollateralMarginAccount", "currencies": {"USD": {"quantity": -40}}}
    assert read("margin", page({"flex": flex})) == {("USD", "margin"): D(-40)}
    cash = {"type": "cashAccount", "balances": {"usd": -40}}
    with pytest.raises(MalformedAnswer, match="negative where the exchange reports no debt"):
        read("funding", page({"cash": cash}))


def test_a_key_repeated_with_another_amount_is_malformed():
    cash = '{"type":"cashAccount","balances":{"xbt":1,"xbt":2}}'
    raw = f'{{"result":"success","accounts":{{"cash":{cash}}}}}'
    with pytest.raises(MalformedAnswer, match="xbt appears twice"):
        read("funding", page(raw=raw))
    same = raw.replace('"xbt":2', '"xbt":1')
    assert read("funding", page(raw=same)) == {("BTC", "funding"): D(1)}


def test_an_unknown_account_type_is_malformed():
    with pytest.raises(Malformed, match="unknown type"):
        read("funding", page({"spot": {"type": "spotAccount", "balances": {}}}))


def test_a_flex_currency_without_quantity_is_malformed():
    flex = {"type": "multiCollateralMarginAccount", "currencies": {"XBT": {"value": 1}}}
    with pytest.raises(Malformed, match="without quantity"):
        read("margin", page({"flex": flex}))


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("apiLimitExceeded", "rate_limit"),
        ("unavailable", "maintenance"),
        ("nonceDuplicate", "clock"),
        ("authenticationError", None),  # ccxt: an authentication error
    ],
)
def test_error_bodies(message, kind):
    assert krakenfutures.ADAPTER.body_error_kind({"result": "error", "error": message}) == kind

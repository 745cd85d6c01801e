"""The emulator's balance payloads carry the fields real ones carry (issue 13, point 4), checked
against ccxt's recorded answers, with the same relations between amount fields."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest

from sandbox.emulator import binance, bybit, coinbase, okx
from sandbox.emulator.common import Request
from sandbox.emulator.scenario import Account, Holding, Scenario, ScenarioError
from tests.portfolio.test_recorded_payloads import RECORDED

D = Decimal
# A coin with borrowing, interest and an open position's unrealised PnL.
HOLDING = Holding(
    free=D("800"), locked=D("200"), borrowed=D("300"), interest=D("0.5"), upl=D("-42.25")
)


def recorded(exchange: str, index: int) -> Any:
    return json.loads((RECORDED / f"{exchange}.json").read_text())["fetchBalance"][index][
        "httpResponse"
    ]


def test_bybit_unified_coin_has_the_real_fields_and_equity_relation():
    real = recorded("bybit", 0)["result"]["list"][0]
    coin = bybit.unified_coin("USDT", HOLDING)
    assert set(real["coin"][0]) <= set(coin)
    # Bybit: equity = walletBalance - spotBorrow + unrealisedPnl (accrued interest is a debt too).
    assert D(coin["equity"]) == D(coin["walletBalance"]) - D(coin["spotBorrow"]) - D(
        coin["accruedInterest"]
    ) + D(coin["unrealisedPnl"])
    assert (coin["walletBalance"], coin["unrealisedPnl"], coin["equity"]) == (
        "1000",
        "-42.25",
        "657.25",
    )


def test_okx_trading_detail_has_the_real_fields_and_eq_is_cash_plus_upl():
    real = recorded("okx", 2)["data"][0]["details"][0]
    detail = okx.trading_detail("BTC", Holding(free=D("3"), upl=D("0.05")))
    assert set(real) <= set(detail)
    assert (detail["cashBal"], detail["upl"], detail["eq"]) == ("3", "0.05", "3.05")


def test_binance_futures_asset_has_the_real_fields_and_margin_balance_relation():
    real = recorded("binance", 1)
    asset = binance.futures_asset("USDT", Holding(free=D("3000"), locked=D("100"), upl=D("-75.5")))
    assert set(real["assets"][0]) <= set(asset)
    assert (asset["walletBalance"], asset["unrealizedProfit"], asset["marginBalance"]) == (
        "3100",
        "-75.5",
        "3024.5",
    )


def v2_page(account: Account, **query: str) -> dict[str, Any]:
    request = Request("GET", "api.coinbase.com", "/v2/accounts", urlencode(query), {})
    return json.loads(coinbase.v2_accounts(request, Scenario({}), account).body)


def test_coinbase_accounts_page_with_the_real_cursor_fields():
    account = Account("coinbase", "key", "secret")
    account.set_wallet("spot", {"BTC": "1", "ETH": "2", "USD": "3"}, "test")
    real = recorded("coinbase", 1)
    first = v2_page(account, limit="2")
    assert set(real) == set(first) and set(real["pagination"]) <= set(first["pagination"])
    assert set(real["data"][0]) <= set(first["data"][0])
    assert set(real["data"][0]["currency"]) <= set(first["data"][0]["currency"])
    cursor = first["pagination"]["next_starting_after"]
    assert cursor == first["data"][-1]["id"] and first["pagination"]["limit"] == "2"
    second = v2_page(account, limit="2", starting_after=cursor)
    assert [r["balance"]["currency"] for r in first["data"] + second["data"]] == [
        "BTC",
        "ETH",
        "USD",
    ]
    assert second["pagination"]["next_starting_after"] is None
    assert second["pagination"]["next_uri"] is None


def test_scenario_holdings_take_an_unrealised_pnl():
    raw = {"exchange": "bybit", "api_key": "k", "secret": "s",
           "balances": {"unified": {"BTC": {"free": "5", "upl": "0.125"}}}}  # fmt: skip
    scenario = Scenario.load({"accounts": [raw]})
    account = scenario.account("bybit", "k")
    assert account is not None
    holding = account.wallet("unified")["BTC"]
    assert (holding.upl, holding.equity) == (D("0.125"), D("5.125"))
    assert holding.to_json() == {"free": "5", "locked": "0", "upl": "0.125"}
    with pytest.raises(ScenarioError):
        Holding.parse({"free": "1", "upl": 0.5}, "float")

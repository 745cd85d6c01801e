"""The emulator against ccxt's real exchange classes over real HTTP on loopback (no mocks)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from ccxt.base.errors import (
    AuthenticationError,
    BadRequest,
    DDoSProtection,
    ExchangeError,
    ExchangeNotAvailable,
    NetworkError,
    OnMaintenance,
    RateLimitExceeded,
    RequestTimeout,
)

from portfolio.exchanges import SUPPORTED_EXCHANGES
from sandbox.emulator import RemoteEmulator, Scenario, ScenarioError, deribit
from sandbox.emulator.scenario import EXCHANGES, GENERIC
from sandbox.urls import assert_offline, point_at_emulator
from tests.sandbox.conftest import scenario_account

ROOT = Path(__file__).resolve().parents[2]
BALANCE_PATHS = {
    "binance": "/api/v3/account",
    "kraken": "/0/private/BalanceEx",
    "okx": "/api/v5/account/balance",
    "coinbase": "/v2/accounts",
    "bybit": "/v5/account/wallet-balance",
    "hyperliquid": "/info/clearinghouseState",  # fetch_balance's default: the perps account
    "kucoin": "/api/v1/accounts",
    "latoken": "/v2/auth/account",
    "bitfinex": "/v2/auth/r/wallets",
    "gemini": "/v1/balances",
    "bitget": "/api/v2/spot/account/assets",
    "gate": "/api/v4/spot/accounts",
    "cryptocom": "/exchange/v1/private/user-balance",
    "bitstamp": "/api/v2/account_balances/",
    "deribit": "/api/v2/private/get_account_summaries",
    "krakenfutures": "/derivatives/api/v3/accounts",
    "mexc": "/api/v3/account",
    "htx": "/v1/account/accounts/10001/balance",
}
# Read by wallet address alone: nothing signed, no key to reject.
ADDRESS_READ = ("hyperliquid",)
SIGNED = tuple(name for name in EXCHANGES if name not in ADDRESS_READ)
# Exchanges without spot markets: their symbols (no prices in the scenario; the app asks them
# for no tickers).
NO_SPOT = {"krakenfutures": {"BTC/USD:USD", "ETH/USD:USD", "BTC/USD:BTC"}}
KRAKEN_CODES = {"XXBT": "BTC", "XETH": "ETH", "ZUSD": "USD"}


# Wallets whose amount is net of borrowing and interest (a debt makes it negative).
NET_WALLETS = {("cryptocom", "unified")}


def expected(exchange, wallet):
    """{code: free + locked} from the scenario file (net of debt where the wallet reports it
    so), as exact Decimals."""
    coins = scenario_account(exchange)["balances"][wallet]
    out = {}
    for code, raw in coins.items():
        parts = raw if isinstance(raw, dict) else {"free": raw}
        out[code] = Decimal(parts.get("free", "0")) + Decimal(parts.get("locked", "0"))
        if wallet == "perps":  # hyperliquid's positions: their unrealised PnL
            out[code] += Decimal(parts.get("upl", "0"))
        if (exchange, wallet) in NET_WALLETS:
            out[code] -= Decimal(parts.get("borrowed", "0")) + Decimal(parts.get("interest", "0"))
    return out


def dsum(*values):
    return sum((Decimal(v) for v in values if v not in (None, "")), Decimal(0))


# Each wallet: how the app reaches it, and where the exact strings sit in the raw payload.
# Returns (ccxt's unified totals or None, {code: exact Decimal from the raw payload}).
def binance_spot(ex):
    b = ex.fetch_balance()
    return b["total"], {r["asset"]: dsum(r["free"], r["locked"]) for r in b["info"]["balances"]}


def binance_funding(ex):
    b = ex.fetch_balance({"type": "funding"})
    return b["total"], {r["asset"]: dsum(r["free"], r["locked"], r["freeze"]) for r in b["info"]}


def binance_margin(ex):
    b = ex.fetch_balance({"type": "margin"})
    rows = b["info"]["userAssets"]
    return b["total"], {r["asset"]: dsum(r["free"], r["locked"]) for r in rows}


def binance_future(ex):
    b = ex.fetch_balance({"type": "future"})
    return b["total"], {r["asset"]: Decimal(r["marginBalance"]) for r in b["info"]["assets"]}


def binance_flexible(ex):
    rows = ex.sapi_get_simple_earn_flexible_position({"size": 100})["rows"]
    return None, {r["asset"]: Decimal(r["totalAmount"]) for r in rows}


def binance_locked(ex):
    rows = ex.sapi_get_simple_earn_locked_position({"size": 100})["rows"]
    return None, {r["asset"]: Decimal(r["amount"]) for r in rows}


def binance_staking(ex):
    rows = ex.sapi_get_staking_position({"product": "STAKING"})
    return None, {r["asset"]: Decimal(r["amount"]) for r in rows}


def kraken_spot(ex):
    b = ex.fetch_balance()
    return b["total"], {c: Decimal(v["balance"]) for c, v in b["info"]["result"].items()}


def okx_trading(ex):
    b = ex.fetch_balance()
    return b["total"], {d["ccy"]: Decimal(d["eq"]) for d in b["info"]["data"][0]["details"]}


def okx_funding(ex):
    b = ex.fetch_balance({"type": "funding"})
    return b["total"], {d["ccy"]: Decimal(d["bal"]) for d in b["info"]["data"]}


def okx_savings(ex):
    rows = ex.private_get_finance_savings_balance()["data"]
    return None, {d["ccy"]: Decimal(d["amt"]) for d in rows}


def coinbase_v2(ex):
    b = ex.fetch_balance()
    rows = b["info"]["data"]
    return b["total"], {r["balance"]["currency"]: Decimal(r["balance"]["amount"]) for r in rows}


def coinbase_v3(ex):
    b = ex.fetch_balance({"v3": True})
    rows = b["info"]["accounts"]
    raw = {r["currency"]: dsum(r["available_balance"]["value"], r["hold"]["value"]) for r in rows}
    return b["total"], raw


def bybit_unified(ex):
    b = ex.fetch_balance()
    coins = b["info"]["result"]["list"][0]["coin"]
    return b["total"], {c["coin"]: Decimal(c["walletBalance"]) for c in coins}


def bybit_funding(ex):
    b = ex.fetch_balance({"type": "funding"})
    rows = b["info"]["result"]["balance"]
    return b["total"], {r["coin"]: Decimal(r["walletBalance"]) for r in rows}


def bybit_earn(category):
    def fetch(ex):
        rows = ex.private_get_v5_earn_position({"category": category})["result"]["list"]
        return None, {r["coin"]: Decimal(r["amount"]) for r in rows}

    return fetch


def hyperliquid_spot(ex):
    b = ex.fetch_balance({"type": "spot"})
    return None, {r["coin"]: Decimal(r["total"]) for r in b["info"]["balances"]}


def hyperliquid_perps(ex):
    """The collateral (USDC) and each position's unrealised PnL, from the raw payload."""
    state = ex.fetch_balance()["info"]
    raw = {
        p["position"]["coin"]: Decimal(p["position"]["unrealizedPnl"])
        for p in state["assetPositions"]
    }
    pnl = sum(raw.values(), Decimal(0))
    raw["USDC"] = Decimal(state["marginSummary"]["accountValue"]) - pnl
    return None, raw


def hyperliquid_info(kind, read):
    def fetch(ex):
        return None, read(ex.public_post_info({"type": kind, "user": ex.walletAddress}))

    fetch.__name__ = f"hyperliquid_{kind}"
    return fetch


def kucoin_accounts(kind):
    def fetch(ex):
        b = ex.fetch_balance({"type": kind})
        rows = [r for r in b["info"]["data"] if r["type"] == kind]
        return b["total"], {r["currency"]: Decimal(r["balance"]) for r in rows}

    fetch.__name__ = f"kucoin_{kind}"
    return fetch


def kucoin_margin(ex):
    # The v3 endpoint the adapter reads (ccxt's fetch_balance asks the retired v1 one).
    rows = ex.private_get_margin_accounts({"queryType": "ALL"})["data"]["accounts"]
    return None, {r["currency"]: Decimal(r["total"]) for r in rows}


def kucoin_isolated(ex):
    positions = ex.private_get_isolated_accounts({"queryType": "ALL"})["data"]["assets"]
    found = {}
    for position in positions:
        for side in ("baseAsset", "quoteAsset"):
            row = position[side]
            found[row["currency"]] = found.get(row["currency"], 0) + Decimal(row["total"])
    return None, {c: v for c, v in found.items() if v}


def kucoin_futures(ex):
    found = {}
    for code in ("USDT", "XBT"):
        # The raw body: KuCoin's futures API answers numbers, kept here as the digits sent.
        ex.futuresprivate_get_account_overview({"currency": code})
        data = json.loads(ex.last_http_response, parse_float=Decimal)["data"]
        found[data["currency"]] = data["marginBalance"]
    return None, found


def kucoin_earn(category):
    def fetch(ex):
        items = ex.earn_get_earn_hold_assets({"currentPage": 1, "pageSize": 500})["data"]["items"]
        mine = [i for i in items if i["productCategory"] == category]
        return None, {i["currency"]: Decimal(i["holdAmount"]) for i in mine}

    fetch.__name__ = f"kucoin_earn_{category.lower()}"
    return fetch


def deribit_summaries(ex):
    """{currency: summary row} read again from the body with each JSON number as its text."""
    ex.private_get_get_account_summaries()
    body = json.loads(ex.last_http_response, parse_float=str, parse_int=str)
    return {row["currency"]: row for row in body["result"]["summaries"]}


def deribit_options(ex):
    rows = deribit_summaries(ex).values()
    values = {r["currency"]: Decimal(r["options_value"]) for r in rows}
    return None, {code: value for code, value in values.items() if value}


def krakenfutures_cash(ex):
    # ccxt's unified codes (BTC for xbt) are checked in test_krakenfutures_*.
    ex.fetch_balance({"type": "cash"})
    body = json.loads(ex.last_http_response, parse_float=str, parse_int=str)
    return None, {c: Decimal(v) for c, v in body["accounts"]["cash"]["balances"].items()}


def mexc_spot(ex):
    b = ex.fetch_balance()
    return b["total"], {r["asset"]: dsum(r["free"], r["locked"]) for r in b["info"]["balances"]}


def mexc_futures(ex):
    # The contract API's amounts are JSON numbers: read again from the body, digits kept.
    b = ex.fetch_balance({"type": "swap"})
    rows = json.loads(ex.last_http_response, parse_float=Decimal)["data"]
    return b["total"], {r["currency"]: r["equity"] - r["unrealized"] for r in rows}


def htx_account(number):
    # Each account's balance by id; held = trade + frozen (loan and interest are its debts).
    def fetch(ex):
        data = ex.spot_private_get_v1_account_accounts_account_id_balance({"account-id": number})[
            "data"
        ]
        held = [r for r in data["list"] if r["type"] in ("trade", "frozen")]
        out = {}
        for r in held:
            out[r["currency"].upper()] = out.get(r["currency"].upper(), 0) + Decimal(r["balance"])
        return None, out

    return fetch


def htx_linear(ex):
    b = ex.fetch_balance({"type": "swap"})
    rows = b["info"]["data"]["details"]
    unified = {c: Decimal(str(v)) - Decimal(r["profit_unreal"]) for r in rows for c, v in [
        (r["currency"], b["total"][r["currency"]])
    ]}  # fmt: skip
    return unified, {
        r["currency"]: Decimal(r["equity"]) - Decimal(r["profit_unreal"]) for r in rows
    }


def htx_coin(method):
    # Amounts are JSON numbers: read again from the body, digits kept.
    def fetch(ex):
        getattr(ex, method)()
        rows = json.loads(ex.last_http_response, parse_float=Decimal)["data"]
        return None, {r["symbol"]: r["margin_static"] for r in rows}

    fetch.__name__ = f"htx_{method}"
    return fetch


def latoken_spot(ex):
    b = ex.fetch_balance()
    codes = {c["id"]: c["code"] for c in ex.currencies.values()}
    spot = [r for r in b["info"] if r["type"] == "ACCOUNT_TYPE_SPOT"]
    return b["total"], {codes[r["currency"]]: dsum(r["available"], r["blocked"]) for r in spot}


def bitfinex_wallet(kind, derivatives=False):
    """Rows of one wallet type ([TYPE, CURRENCY, BALANCE, ...]; the derivatives wallet is the
    margin rows of F0 currencies). ccxt's totals use unified codes (UST -> USDT) and put the
    derivatives rows into margin, so only the raw rows are compared."""

    def fetch(ex):
        rows = ex.fetch_balance({"type": kind})["info"]
        return None, {
            r[1]: Decimal(str(r[2]))  # a JSON number: short amounts survive str(float)
            for r in rows
            if r[0] == kind and r[1].endswith("F0") is derivatives
        }

    fetch.__name__ = f"bitfinex_{'derivatives' if derivatives else kind}"
    return fetch


def gemini_exchange(ex):
    b = ex.fetch_balance()
    return b["total"], {r["currency"]: Decimal(r["amount"]) for r in b["info"]}


def gemini_staking(ex):
    rows = ex.private_post_v1_balances_staking()
    return None, {r["currency"]: Decimal(str(r["balance"])) for r in rows}  # JSON numbers


def bitget_spot(ex):
    b = ex.fetch_balance()
    return b["total"], {
        r["coin"]: dsum(r["available"], r["frozen"], r["locked"]) for r in b["info"]
    }


def bitget_funding(ex):
    rows = ex.private_spot_get_v2_account_funding_assets()["data"]
    return None, {r["coin"]: dsum(r["available"], r["frozen"]) for r in rows}


def bitget_earn(ex):
    rows = ex.private_earn_get_v2_earn_account_assets()["data"]
    return None, {r["coin"]: Decimal(r["amount"]) for r in rows}


def bitget_margin(mode):
    def fetch(ex):
        b = ex.fetch_balance({"marginMode": mode})
        return b["total"], {r["coin"]: Decimal(r["totalAmount"]) for r in b["info"]}

    fetch.__name__ = f"bitget_margin_{mode}"
    return fetch


def bitget_futures(product_type):
    def fetch(ex):
        # ccxt's total is accountEquity, with the unrealised PnL: compared in the adapter's
        # tests; the scenario's wallet is what is available or locked.
        b = ex.fetch_balance({"type": "swap", "productType": product_type})
        return None, {r["marginCoin"]: dsum(r["available"], r["locked"]) for r in b["info"]}

    fetch.__name__ = f"bitget_futures_{product_type.split('-')[0].lower()}"
    return fetch


def gate_spot(ex):
    b = ex.fetch_balance()
    return b["total"], {r["currency"]: dsum(r["available"], r["locked"]) for r in b["info"]}


def gate_margin(ex):
    held: dict[str, Decimal] = {}
    for account in ex.private_margin_get_accounts():
        for side in (account["base"], account["quote"]):
            held[side["currency"]] = held.get(side["currency"], 0) + dsum(
                side["available"], side["locked"]
            )
    return None, {code: amount for code, amount in held.items() if amount}


def gate_settled(method, settle):
    def fetch(ex):
        found = getattr(ex, method)({"settle": settle})
        return None, {found["currency"]: Decimal(found["total"])}

    fetch.__name__ = f"{method}_{settle}"
    return fetch


def gate_options(ex):
    found = ex.private_options_get_accounts()
    return None, {found["currency"]: Decimal(found["total"])}


def gate_uni(ex):
    rows = ex.private_earn_get_uni_lends({"page": 1, "limit": 100})
    return None, {r["currency"]: Decimal(r["amount"]) for r in rows}


def gate_staking(ex):
    rows = ex.private_earn_get_staking_assets()
    return None, {r["mortgage_coin"]: Decimal(r["mortgage_amount"]) for r in rows}


def cryptocom_unified(ex):
    b = ex.fetch_balance()
    rows = b["info"]["result"]["data"][0]["position_balances"]
    return b["total"], {r["instrument_name"]: Decimal(r["quantity"]) for r in rows}


def cryptocom_staking(ex):
    rows = ex.v1_private_post_private_staking_get_staking_position()["result"]["data"]
    return None, {r["underlying_inst_name"]: Decimal(r["staked_quantity"]) for r in rows}


def bitstamp_spot(ex):
    b = ex.fetch_balance()
    return b["total"], {r["currency"].upper(): Decimal(r["total"]) for r in b["info"]}


def bitstamp_earn(kind):
    def fetch(ex):
        ex.private_get_earn_subscriptions()
        # The amounts are JSON numbers: exact only when read from the body as sent.
        rows = json.loads(ex.last_http_response, parse_float=Decimal)
        return None, {r["currency"]: r["amount"] for r in rows if r["type"] == kind}

    fetch.__name__ = f"bitstamp_{kind.lower()}"
    return fetch


WALLET_CASES = [
    ("binance", "spot", binance_spot),
    ("binance", "funding", binance_funding),
    ("binance", "margin", binance_margin),
    ("binance", "future", binance_future),
    ("binance", "earn_flexible", binance_flexible),
    ("binance", "earn_locked", binance_locked),
    ("binance", "staking", binance_staking),
    ("kraken", "spot", kraken_spot),
    ("okx", "trading", okx_trading),
    ("okx", "funding", okx_funding),
    ("okx", "savings", okx_savings),
    ("coinbase", "spot", coinbase_v2),
    ("coinbase", "spot", coinbase_v3),
    ("bybit", "unified", bybit_unified),
    ("bybit", "funding", bybit_funding),
    ("bybit", "earn_flexible", bybit_earn("FlexibleSaving")),
    ("bybit", "earn_onchain", bybit_earn("OnChain")),
    ("hyperliquid", "spot", hyperliquid_spot),
    ("hyperliquid", "perps", hyperliquid_perps),
    (
        "hyperliquid",
        "staking",
        hyperliquid_info(
            "delegatorSummary",
            lambda r: {"HYPE": Decimal(r["delegated"]) + Decimal(r["undelegated"])},
        ),
    ),
    (
        "hyperliquid",
        "unstaking",
        hyperliquid_info(
            "delegatorSummary", lambda r: {"HYPE": Decimal(r["totalPendingWithdrawal"])}
        ),
    ),
    (
        "hyperliquid",
        "vaults",
        hyperliquid_info(
            "userVaultEquities",
            lambda rows: {r["vaultAddress"]: Decimal(r["equity"]) for r in rows},
        ),
    ),
    ("kucoin", "trade", kucoin_accounts("trade")),
    ("kucoin", "main", kucoin_accounts("main")),
    ("kucoin", "margin", kucoin_margin),
    ("kucoin", "isolated", kucoin_isolated),
    ("kucoin", "futures", kucoin_futures),
    ("kucoin", "earn_flexible", kucoin_earn("DEMAND")),
    ("kucoin", "earn_locked", kucoin_earn("ACTIVITY")),
    ("kucoin", "staking", kucoin_earn("STAKING")),
    ("latoken", "spot", latoken_spot),
    ("bitfinex", "exchange", bitfinex_wallet("exchange")),
    ("bitfinex", "funding", bitfinex_wallet("funding")),
    ("bitfinex", "margin", bitfinex_wallet("margin")),
    ("bitfinex", "derivatives", bitfinex_wallet("margin", derivatives=True)),
    ("gemini", "exchange", gemini_exchange),
    ("gemini", "staking", gemini_staking),
    ("bitget", "spot", bitget_spot),
    ("bitget", "funding", bitget_funding),
    ("bitget", "earn", bitget_earn),
    ("bitget", "margin_cross", bitget_margin("cross")),
    ("bitget", "margin_isolated", bitget_margin("isolated")),
    ("bitget", "futures_usdt", bitget_futures("USDT-FUTURES")),
    ("bitget", "futures_coin", bitget_futures("COIN-FUTURES")),
    ("bitget", "futures_usdc", bitget_futures("USDC-FUTURES")),
    ("gate", "spot", gate_spot),
    ("gate", "margin", gate_margin),
    ("gate", "futures_usdt", gate_settled("private_futures_get_settle_accounts", "usdt")),
    ("gate", "futures_btc", gate_settled("private_futures_get_settle_accounts", "btc")),
    ("gate", "delivery_usdt", gate_settled("private_delivery_get_settle_accounts", "usdt")),
    ("gate", "options", gate_options),
    ("gate", "earn_uni", gate_uni),
    ("gate", "staking", gate_staking),
    ("cryptocom", "unified", cryptocom_unified),
    ("cryptocom", "staking", cryptocom_staking),
    ("bitstamp", "spot", bitstamp_spot),
    ("bitstamp", "staking", bitstamp_earn("STAKING")),
    ("bitstamp", "lending", bitstamp_earn("LENDING")),
    ("deribit", "options", deribit_options),
    ("krakenfutures", "cash", krakenfutures_cash),
    ("mexc", "spot", mexc_spot),
    ("mexc", "futures", mexc_futures),
    ("htx", "spot", htx_account("10001")),
    ("htx", "super_margin", htx_account("10002")),
    ("htx", "otc", htx_account("10003")),
    ("htx", "deposit_earning", htx_account("10004")),
    ("htx", "linear_swap", htx_linear),
    ("htx", "coin_swap", htx_coin("contract_private_post_swap_api_v1_swap_account_info")),
    ("htx", "coin_futures", htx_coin("contract_private_post_api_v1_contract_account_info")),
]
TICKER_FIELDS = {
    "binance": lambda info: info["lastPrice"],
    "kraken": lambda info: info["c"][0],
    "okx": lambda info: info["last"],
    "coinbase": lambda info: info["price"],
    "bybit": lambda info: info["lastPrice"],
    "hyperliquid": lambda info: info["markPx"],
    "kucoin": lambda info: info["last"],
    "latoken": lambda info: info["lastPrice"],
    "bitfinex": lambda info: str(info[7]),  # LAST_PRICE, a JSON number
    "gemini": lambda info: info["price"],
    "bitget": lambda info: info["lastPr"],
    "gate": lambda info: info["last"],
    "cryptocom": lambda info: info["a"],
    "bitstamp": lambda info: info["last"],
    # JSON numbers: ccxt's float read back (the app reads the body's text, see test_deribit_*).
    "deribit": lambda info: format(Decimal(repr(info["last"])).normalize(), "f"),
    "mexc": lambda info: info["lastPrice"],
    "htx": lambda info: format(Decimal(str(info["close"])), "f"),  # a JSON number
}
# Exchanges whose fetch_tickers takes the symbols of one base per request.
ONE_BASE_TICKERS = {"deribit"}
# kucoin with credentials and the app's options: currencies (asking first whether the account
# is unified), spot symbols, margin and isolated symbols.
# hyperliquid: spotMeta, and spotMetaAndAssetCtxs, the request fetch_tickers makes too (a ticker).
# latoken: the server time (ccxt adjusts for the difference), currencies and pairs.
# bitfinex: two conf documents, the pairs and the currencies.
# bitget: coins, spot symbols, margin currencies; gate: currencies, spot and margin pairs.
# mexc with credentials: spot exchangeInfo, contract detail and the (signed) currencies.
MARKET_REQUESTS = {
    "binance": 1,
    "kraken": 2,
    "okx": 2,
    "coinbase": 6,
    "bybit": 2,
    "hyperliquid": 1,
    "kucoin": 4,
    "latoken": 3,
    "bitfinex": 2,
    "gemini": 1,
    "bitget": 3,
    "gate": 3,
    "cryptocom": 1,  # every instrument; the currency networks skipped by the app's option
    "bitstamp": 1,  # its markets, read once for the currencies and the markets
    "mexc": 3,
    "htx": 2,
    "deribit": 2,
    "krakenfutures": 1,
}
# deribit: the first two markets have two bases, one request each.
TICKER_REQUESTS = {"hyperliquid": 2, "deribit": 2, "krakenfutures": 0}
# Valid shapes (kraken: base64; coinbase: not CDP-like, i.e. no trailing "=") but wrong.
WRONG_SECRETS = {"kraken": "d3Jvbmctc2VjcmV0LXh4", "krakenfutures": "d3Jvbmctc2VjcmV0LXh4"}
# ccxt's fetch_tickers takes one symbol at most: every ticker is asked for.
ALL_TICKERS = ("cryptocom",)
# cryptocom's error handler raises on any body without code 0, whatever the status: a plain
# ExchangeError, before ccxt's status table (the app reads a 401 as a refused key, 429 and 5xx
# by status, and a 2xx without JSON or "code" as a bad answer).
PLAIN_ERRORS = {"cryptocom": ExchangeError}


def symbols_for(ex, symbols):
    return None if ex.id in ALL_TICKERS else symbols


def sync(ex):
    ex.load_markets()
    return ex.fetch_balance(), fetch_tickers(ex, list(ex.markets)[:2])


def unified_ticker(name, symbol):
    """Whether ccxt's fetch_tickers can ask for it: deribit's book summaries take a few
    currencies (SOL/USDT comes with USDT's, which ccxt does not ask for SOL)."""
    return name != "deribit" or symbol.split("/")[0] in deribit.BOOK_CURRENCIES


def fetch_tickers(ex, symbols):
    if ex.id in NO_SPOT:
        return {}
    if ex.id not in ONE_BASE_TICKERS:
        return ex.fetch_tickers(symbols_for(ex, symbols))
    tickers = {}
    for base in sorted({ex.markets[s]["base"] for s in symbols}):
        tickers |= ex.fetch_tickers([s for s in symbols if ex.markets[s]["base"] == base])
    return tickers


@pytest.mark.parametrize("name", EXCHANGES)
def test_load_markets_lists_the_scenario_prices(make_exchange, scenario, name):
    ex = make_exchange(name)
    ex.load_markets()
    if name in NO_SPOT:
        assert set(ex.symbols) == NO_SPOT[name]
        return
    # Spot: mexc also lists a USDT perpetual per base (ccxt always loads its contracts).
    assert {s for s in ex.symbols if ex.markets[s]["spot"]} == set(scenario["prices"][name])


@pytest.mark.parametrize(
    ("name", "wallet", "fetch"), WALLET_CASES, ids=[f"{c[0]}-{c[2].__name__}" for c in WALLET_CASES]
)
def test_fetch_balance_returns_exact_scenario_amounts(make_exchange, name, wallet, fetch):
    ex = make_exchange(name)
    ex.load_markets()
    unified, raw = fetch(ex)
    want = expected(name, wallet)
    assert raw == want  # exact: Decimal built from the payload's strings
    if unified is not None:  # ccxt's floats, read back through str(): fine for short amounts
        want_unified = {KRAKEN_CODES.get(c, c): v for c, v in want.items()}
        assert {c: Decimal(str(v)) for c, v in unified.items() if v is not None} == want_unified


def test_kraken_unified_balance_normalises_legacy_codes_and_keeps_suffixes(make_exchange):
    ex = make_exchange("kraken")
    total = ex.fetch_balance()["total"]
    assert Decimal(str(total["BTC"])) == Decimal("2")
    assert Decimal(str(total["USD"])) == Decimal("6000")
    assert {"BTC.F", "ETH2.S", "ETH2", "DOT.S", "USDC.M", "KFEE"} <= set(total)


def test_margin_and_unified_borrowings_show_as_debt(make_exchange):
    binance = make_exchange("binance").fetch_balance({"type": "margin"})
    bybit = make_exchange("bybit").fetch_balance()
    assert Decimal(str(binance["debt"]["USDT"])) == Decimal("1001.5")
    assert Decimal(str(bybit["debt"]["USDT"])) == Decimal("300.5")


def test_floats_lose_long_amounts_that_the_raw_payload_keeps(emulator, make_exchange):
    long_amount = "1234567.123456789012345678"
    emulator.set_balance("binance", "test-binance-key", "funding", "DAI", long_amount)
    try:
        balance = make_exchange("binance").fetch_balance({"type": "funding"})
    finally:
        emulator.set_balance("binance", "test-binance-key", "funding", "DAI", None)
    raw = next(r for r in balance["info"] if r["asset"] == "DAI")
    assert raw["free"] == long_amount
    assert Decimal(str(balance["total"]["DAI"])) != Decimal(long_amount)


@pytest.mark.parametrize("name", [name for name in EXCHANGES if name not in NO_SPOT])
def test_fetch_tickers_returns_the_scenario_prices(make_exchange, scenario, name):
    ex = make_exchange(name)
    ex.load_markets()
    prices = {s: p for s, p in scenario["prices"][name].items() if unified_ticker(name, s)}
    tickers = fetch_tickers(ex, list(prices))
    assert set(tickers) == set(prices)
    for symbol, price in prices.items():
        assert Decimal(str(tickers[symbol]["last"])) == Decimal(price)
        assert TICKER_FIELDS[name](tickers[symbol]["info"]) == price


@pytest.mark.parametrize("name", SIGNED)
def test_wrong_secret_fails_as_the_real_exchange_does(make_exchange, name):
    ex = make_exchange(name, secret=WRONG_SECRETS.get(name, "wrong-secret"))
    with pytest.raises(ExchangeError) as caught:
        sync(ex)
    # kraken's "EAPI:Invalid signature" is a plain ExchangeError in ccxt, not an auth error.
    assert isinstance(caught.value, AuthenticationError) is (name != "kraken")


def test_wrong_okx_passphrase_is_an_authentication_error(make_exchange):
    with pytest.raises(AuthenticationError, match="50105"):
        sync(make_exchange("okx", password="wrong-pass"))


def test_wrong_kucoin_passphrase_is_an_authentication_error(make_exchange):
    with pytest.raises(AuthenticationError, match="400004"):
        sync(make_exchange("kucoin", password="wrong-pass"))


def test_kucoin_futures_host_refuses_a_wrong_secret_too(make_exchange):
    # The passphrase is signed with the secret (key version 2): it is refused first.
    with pytest.raises(AuthenticationError, match="400004"):
        make_exchange("kucoin", secret="wrong-secret").futuresprivate_get_account_overview(
            {"currency": "USDT"}
        )


# ccxt's table has mexc's 10072 ("Api key info invalid") as BadRequest: the adapter reads it as a
# rejected key (tests/portfolio/test_fault_matrix.py, REJECTED_KEY).
UNKNOWN_KEY_ERRORS = {"mexc": BadRequest}


@pytest.mark.parametrize("name", SIGNED)
def test_unknown_key_raises_authentication_error(make_exchange, name):
    with pytest.raises(ExchangeError) as caught:
        sync(make_exchange(name, apiKey="unknown-key"))
    assert isinstance(caught.value, UNKNOWN_KEY_ERRORS.get(name, AuthenticationError))


def test_revoked_key_fails_like_an_unknown_key(emulator, make_exchange):
    account = scenario_account("binance") | {"api_key": "revoked-key", "revoked": True}
    emulator.update_scenario({"accounts": [account]})
    with pytest.raises(AuthenticationError, match="-2015"):
        make_exchange("binance", apiKey="revoked-key").fetch_balance()


OKX_BARE_429 = {"okx": ExchangeNotAvailable}


def test_binance_key_revoked_after_a_success_looks_retryable(emulator, make_exchange):
    # The trap behind "one fresh instance per sync": ccxt turns -2015 into DDoSProtection.
    account = scenario_account("binance") | {"api_key": "soon-revoked"}
    emulator.update_scenario({"accounts": [account]})
    ex = make_exchange("binance", apiKey="soon-revoked")
    ex.fetch_balance()
    emulator.update_scenario({"accounts": [account | {"revoked": True}]})
    with pytest.raises(DDoSProtection, match="-2015"):
        ex.fetch_balance()


STATUS_ERRORS = [
    (401, {n: AuthenticationError for n in EXCHANGES} | PLAIN_ERRORS),
    # okx maps a bare 429 to ExchangeNotAvailable; its real 429 body says 50011 (see below).
    (
        429,
        {n: RateLimitExceeded for n in EXCHANGES}
        | OKX_BARE_429
        | {"binance": DDoSProtection}
        | PLAIN_ERRORS,
    ),
    # gemini's own status table reads a 503 as maintenance (its documented meaning).
    (503, {n: ExchangeNotAvailable for n in EXCHANGES} | {"gemini": OnMaintenance} | PLAIN_ERRORS),
    (504, {n: RequestTimeout for n in EXCHANGES} | PLAIN_ERRORS),
]


@pytest.mark.parametrize("name", EXCHANGES)
@pytest.mark.parametrize(("status", "errors"), STATUS_ERRORS, ids=lambda v: str(v)[:3])
def test_status_faults_raise_the_documented_error(emulator, make_exchange, name, status, errors):
    ex = make_exchange(name)
    ex.load_markets()
    emulator.add_fault(name, BALANCE_PATHS[name], status=status, body="")
    with pytest.raises(errors[name]) as caught:
        ex.fetch_balance()
    assert type(caught.value) is errors[name]


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("okx", {"code": "50011", "msg": "Too Many Requests", "data": []}),
        ("bybit", {"retCode": 10006, "retMsg": "Too many visits!", "result": {}}),
        ("binance", {"code": -1003, "msg": "Too much request weight used"}),
    ],
)
def test_rate_limit_bodies_raise_rate_limit_errors(emulator, make_exchange, name, body):
    ex = make_exchange(name)
    ex.load_markets()
    emulator.add_fault(name, BALANCE_PATHS[name], status=429, body=body)
    with pytest.raises(DDoSProtection if name == "binance" else RateLimitExceeded):
        ex.fetch_balance()


def test_delay_beyond_timeout_raises_request_timeout(emulator, make_exchange):
    ex = make_exchange("binance", timeout=200)
    ex.load_markets()
    emulator.add_fault("binance", "/api/v3/account", delay=0.6)
    with pytest.raises(RequestTimeout):
        ex.fetch_balance()


def test_delay_within_timeout_still_answers(emulator, make_exchange):
    ex = make_exchange("okx")
    ex.load_markets()
    emulator.add_fault("okx", "/api/v5/account/balance", delay=0.05)
    assert Decimal(str(ex.fetch_balance()["total"]["BTC"])) == Decimal("3")


def test_trickle_sends_the_whole_body_slowly_and_every_read_is_quick(emulator, make_exchange):
    # ccxt's timeout is per socket read: a trickled answer beats it, which is what the fault
    # is for (the app must hold one deadline per sync).
    ex = make_exchange("binance", timeout=400)
    ex.load_markets()
    emulator.add_fault("binance", "/api/v3/account", trickle_bytes=64, trickle_interval=0.1)
    started = time.monotonic()
    raw = ex.private_get_account()
    assert time.monotonic() - started > 0.3  # several chunks, each 0.1 s apart
    assert {b["asset"] for b in raw["balances"]} >= {"BTC"}


def test_trickle_travels_through_the_remote_control(emulator):
    remote = RemoteEmulator(emulator.url)
    remote.add_fault("okx", "/api/v5/account/balance", trickle_bytes=8, trickle_interval=0.25)
    (fault,) = remote.faults()
    assert (fault["trickle_bytes"], fault["trickle_interval"]) == (8, 0.25)


@pytest.mark.parametrize("name", EXCHANGES)
def test_closed_connection_raises_network_error(emulator, make_exchange, name):
    ex = make_exchange(name)
    ex.load_markets()
    emulator.add_fault(name, BALANCE_PATHS[name], close=True)
    with pytest.raises(NetworkError):
        ex.fetch_balance()


RAW_ERRORS_ON_TEXT = {"latoken": AttributeError}


@pytest.mark.parametrize("name", EXCHANGES)
@pytest.mark.parametrize("body", ["", '{"result": {"XXBT": {"bal', "<html>maintenance</html>"])
def test_empty_or_truncated_200_gives_an_empty_balance_without_error(
    emulator, make_exchange, name, body
):
    # The trap the app must guard: ccxt reports "no holdings" instead of raising (latoken's
    # class reads a text that is not JSON as its rows and fails with a raw AttributeError).
    ex = make_exchange(name)
    ex.load_markets()
    emulator.add_fault(name, BALANCE_PATHS[name], status=200, body=body)
    if name in RAW_ERRORS_ON_TEXT and body:
        with pytest.raises(RAW_ERRORS_ON_TEXT[name]):
            ex.fetch_balance()
        return
    if name in PLAIN_ERRORS:  # no code 0: an error, of the plain kind
        with pytest.raises(PLAIN_ERRORS[name]):
            ex.fetch_balance()
        return
    if name == "krakenfutures":  # no flex account in the answer: ccxt says so
        with pytest.raises(BadRequest, match="has no account for flex"):
            ex.fetch_balance()
        return
    balance = ex.fetch_balance()
    assert all(v is None for v in balance["total"].values())


def test_fault_with_times_expires_after_n_requests(emulator, make_exchange):
    ex = make_exchange("kraken")
    ex.load_markets()
    emulator.add_fault("kraken", "/0/private/BalanceEx", status=503, times=2)
    for _ in range(2):
        with pytest.raises(ExchangeNotAvailable):
            ex.fetch_balance()
    assert ex.fetch_balance()["total"]["BTC"] == 2
    assert emulator.faults() == []


def test_forever_fault_lasts_until_cleared(emulator, make_exchange):
    ex = make_exchange("bybit")
    ex.load_markets()
    emulator.add_fault("bybit", "/v5/market/tickers", status=503, times=None)
    for _ in range(3):
        with pytest.raises(ExchangeNotAvailable):
            ex.fetch_tickers(["BTC/USDT"])
    emulator.clear_faults()
    assert ex.fetch_tickers(["BTC/USDT"])["BTC/USDT"]["last"] == 100000


def test_fault_for_one_api_key_spares_the_others(emulator, make_exchange):
    emulator.add_fault("okx", "*", status=401, body="", api_key="someone-else", times=None)
    balance, _ = sync(make_exchange("okx"))
    assert balance["total"]["BTC"] == 3


def test_stats_count_each_request(emulator, make_exchange):
    ex = make_exchange("binance")
    sync(ex)
    ex.fetch_balance()
    assert emulator.count(exchange="binance", kind="balance", api_key="test-binance-key") == 2
    assert emulator.count(exchange="binance", path="/api/v3/ticker/24hr") == 1
    assert emulator.stats()["total"] == 4


@pytest.mark.parametrize("name", EXCHANGES)
def test_stats_separate_market_loading_from_balance_and_tickers(emulator, make_exchange, name):
    sync(make_exchange(name))
    assert emulator.count(exchange=name, kind="markets") == MARKET_REQUESTS[name]
    assert emulator.count(exchange=name, kind="balance") == 1
    assert emulator.count(exchange=name, kind="ticker") == TICKER_REQUESTS.get(name, 1)


@pytest.mark.parametrize("name", EXCHANGES)
def test_markets_handed_to_a_second_instance_skip_market_requests(emulator, make_exchange, name):
    first = make_exchange(name)
    first.load_markets()
    emulator.reset_stats()
    balance, tickers = sync(make_exchange(name, markets=first.markets))
    assert emulator.count(kind="markets") == 0
    assert emulator.count(kind="balance") == 1
    assert balance["total"] and (tickers or name in NO_SPOT)


def test_runtime_price_change_is_served(emulator, make_exchange):
    emulator.set_price("okx", "BTC/USDT", "123456.789")
    try:
        ticker = make_exchange("okx").fetch_tickers(["BTC/USDT"])["BTC/USDT"]
    finally:
        emulator.set_price("okx", "BTC/USDT", "100000")
    assert ticker["info"]["last"] == "123456.789"


def test_key_permissions_are_served(make_exchange):
    binance = make_exchange("binance").sapi_get_account_apirestrictions()
    bybit = make_exchange("bybit").private_get_v5_user_query_api()["result"]
    assert binance["enableSpotAndMarginTrading"] is True
    assert binance["enableWithdrawals"] is False
    assert "Withdraw" in bybit["permissions"]["Wallet"]


def test_remote_control_over_http(emulator, make_exchange):
    remote = RemoteEmulator(emulator.url)
    remote.add_fault("coinbase", "/v2/accounts", status=429, body="")
    ex = make_exchange("coinbase")
    ex.load_markets()
    with pytest.raises(RateLimitExceeded):
        ex.fetch_balance()
    assert remote.count(exchange="coinbase", kind="balance") == 1
    assert remote.stats()["rows"][0]["exchange"] == "coinbase"


def test_cli_serves_a_scenario_until_killed():
    command = [sys.executable, "-m", "sandbox", "test", "--port", "0"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert RemoteEmulator(url).call("GET", "/health") == {"ok": True, "scenario": "test"}
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0


def test_point_at_emulator_rewrites_every_nested_url():
    api = {"rest": "https://{hostname}/v5", "list": ["https://a.example.com/x", {"n": "ws://k"}]}
    pointed = point_at_emulator(api, "http://127.0.0.1:9/", "bybit.com")
    assert pointed == {
        "rest": "http://127.0.0.1:9/bybit.com/v5",
        "list": ["http://127.0.0.1:9/a.example.com/x", {"n": "ws://k"}],
    }
    assert_offline(pointed)


def test_assert_offline_raises_on_a_leftover_https_url():
    with pytest.raises(ValueError, match=r"https://api\.kraken\.com"):
        assert_offline({"public": "https://api.kraken.com", "ok": "http://127.0.0.1:1/x"})


def test_scenario_refuses_float_amounts_and_unknown_wallets():
    account = {"exchange": "okx", "api_key": "k", "secret": "s"}
    with pytest.raises(ScenarioError, match="decimal strings"):
        Scenario({"accounts": [account | {"balances": {"trading": {"BTC": 1.5}}}]})
    with pytest.raises(ScenarioError, match="no wallet 'spot'"):
        Scenario({"accounts": [account | {"balances": {"spot": {"BTC": "1"}}}]})


def test_the_emulator_serves_every_exchange_the_app_syncs():
    # Every dedicated adapter, and one exchange the generic adapter reads.
    assert set(EXCHANGES) == set(SUPPORTED_EXCHANGES) | set(GENERIC)
    assert not set(GENERIC) & set(SUPPORTED_EXCHANGES)


def test_demo_scenario_loads():
    scenario = Scenario.load(ROOT / "sandbox" / "scenarios" / "demo.json")
    # The demo shows every dedicated adapter, and the generic one on its emulated exchange.
    assert {ex for ex, _ in scenario.accounts} == {*SUPPORTED_EXCHANGES, *GENERIC}


# A master key's sub-accounts: the listing and the balance routes, as each exchange documents.
def test_subaccount_listings_are_served(make_exchange):
    binance = make_exchange("binance").sapi_get_sub_account_list({"page": 1, "limit": 200})
    okx = make_exchange("okx").private_get_users_subaccount_list({"limit": "100"})
    bybit = make_exchange("bybit").private_get_v5_user_submembers({"pageSize": "100"})
    assert [(s["email"], s["remark"]) for s in binance["subAccounts"]] == [
        ("desk-a@fund.test", "Desk A"),
        ("desk-b@fund.test", "Desk B"),
    ]
    assert [(s["subAcct"], s["label"]) for s in okx["data"]] == [
        ("deskB", "Desk B"),  # newest first
        ("deskA", "Desk A"),
    ]
    assert [(s["uid"], s["remark"]) for s in bybit["result"]["subMembers"]] == [
        ("2001001", "Desk A"),
        ("2001002", "Desk B"),
    ]
    assert bybit["result"]["nextCursor"] == "0"


def test_binance_listing_pages_by_page_and_limit(make_exchange):
    ex = make_exchange("binance")
    first = ex.sapi_get_sub_account_list({"page": 1, "limit": 1})["subAccounts"]
    second = ex.sapi_get_sub_account_list({"page": 2, "limit": 1})["subAccounts"]
    third = ex.sapi_get_sub_account_list({"page": 3, "limit": 1})["subAccounts"]
    assert [s["email"] for s in first + second] == ["desk-a@fund.test", "desk-b@fund.test"]
    assert third == []


def test_subaccount_balances_are_served_as_exact_strings(make_exchange):
    binance = make_exchange("binance")
    email = {"email": "desk-a@fund.test"}
    spot = binance.sapiv4_get_sub_account_assets(email)["balances"]
    margin = binance.sapi_get_sub_account_margin_account(email)["marginUserAssetVoList"]
    futures = binance.sapiv2_get_sub_account_futures_account(email | {"futuresType": 1})
    assert {b["asset"]: (b["free"], b["locked"]) for b in spot} == {
        "BTC": ("0.75", "0.25"),
        "USDT": ("2500.5", "0"),
    }
    assert {m["asset"]: m["netAsset"] for m in margin} == {"ETH": "3", "USDT": "-301.25"}
    (usdt,) = futures["futureAccountResp"]["assets"]
    assert (usdt["walletBalance"], usdt["unrealizedProfit"], usdt["marginBalance"]) == (
        "1000",
        "-20.75",
        "979.25",
    )
    okx = make_exchange("okx")
    trading = okx.private_get_account_subaccount_balances({"subAcct": "deskA"})["data"][0]
    funding = okx.private_get_asset_subaccount_balances({"subAcct": "deskA"})["data"]
    assert {d["ccy"]: (d["cashBal"], d["upl"]) for d in trading["details"]} == {
        "BTC": ("2", "0.01"),
        "USDT": ("5000", "0"),
    }
    assert {f["ccy"]: f["bal"] for f in funding} == {"USDT": "250", "ETH": "0.5"}
    bybit = make_exchange("bybit")
    for kind, want in (("UNIFIED", {"BTC": "1.5", "USDT": "1000"}), ("FUND", {"USDT": "300"})):
        query = {"memberId": "2001001", "accountType": kind}
        found = bybit.private_get_v5_asset_transfer_query_account_coins_balance(query)
        assert {r["coin"]: r["walletBalance"] for r in found["result"]["balance"]} == want


@pytest.mark.parametrize(
    ("name", "method", "params", "message"),
    [
        ("binance", "sapiv4_get_sub_account_assets", {"email": "x@y.z"}, "email is invalid"),
        ("okx", "private_get_asset_subaccount_balances", {"subAcct": "x"}, "does not exist"),
        (
            "bybit",
            "private_get_v5_asset_transfer_query_account_coins_balance",
            {"memberId": "1", "accountType": "FUND"},
            "Invalid memberId",
        ),
    ],
)
def test_unknown_subaccount_answers_with_the_exchanges_error(
    make_exchange, name, method, params, message
):
    with pytest.raises(ExchangeError, match=message):
        getattr(make_exchange(name), method)(params)


@pytest.mark.parametrize(
    ("name", "method", "params"),
    [
        ("binance", "sapi_get_sub_account_list", {"page": 1, "limit": 200}),
        ("okx", "private_get_users_subaccount_list", {}),
        ("bybit", "private_get_v5_user_submembers", {}),
    ],
)
def test_subaccount_routes_check_the_signature(make_exchange, name, method, params):
    with pytest.raises(AuthenticationError):
        getattr(make_exchange(name, secret="wrong-secret"), method)(params)


def test_subaccounts_added_and_removed_at_run_time_over_http(emulator, make_exchange):
    remote = RemoteEmulator(emulator.url)
    key = scenario_account("bybit")["api_key"]
    remote.set_subaccount("bybit", key, "2009999", "Desk Z", {"funding": {"BTC": "0.3"}})
    ex = make_exchange("bybit")
    try:
        listed = ex.private_get_v5_user_submembers({})["result"]["subMembers"]
        query = {"memberId": "2009999", "accountType": "FUND"}
        found = ex.private_get_v5_asset_transfer_query_account_coins_balance(query)
    finally:
        remote.remove_subaccount("bybit", key, "2009999")
    assert ("2009999", "Desk Z") in [(s["uid"], s["remark"]) for s in listed]
    assert found["result"]["balance"][0]["walletBalance"] == "0.3"
    listed = ex.private_get_v5_user_submembers({})["result"]["subMembers"]
    assert [s["uid"] for s in listed] == ["2001001", "2001002"]


def test_removing_an_unknown_subaccount_is_refused(emulator):
    with pytest.raises(KeyError):
        emulator.remove_subaccount("okx", scenario_account("okx")["api_key"], "nobody")


def test_scenario_subaccounts_round_trip_and_refuse_unknown_wallets():
    raw = {"exchange": "okx", "api_key": "k", "secret": "s"}
    sub = {"name": "Desk", "balances": {"funding": {"BTC": {"free": "1", "locked": "0.5"}}}}
    scenario = Scenario({"accounts": [raw | {"subaccounts": {"d1": sub}}]})
    assert scenario.to_json()["accounts"][0]["subaccounts"] == {
        "d1": {"name": "Desk", "balances": {"funding": {"BTC": {"free": "1", "locked": "0.5"}}}}
    }
    assert scenario.account("okx", "k").subaccounts["d1"].wallet("funding")["BTC"].total == Decimal(
        "1.5"
    )
    with pytest.raises(ScenarioError, match="no wallet 'spot'"):
        Scenario({"accounts": [raw | {"subaccounts": {"d1": {"balances": {"spot": {}}}}}]})


def test_deribit_summaries_send_exact_numbers_adding_up_to_equity(make_exchange):
    rows = deribit_summaries(make_exchange("deribit"))
    account = scenario_account("deribit")["balances"]
    assert rows["BTC"]["balance"] == "6.5"  # a JSON number, written from the scenario's text
    assert rows["USDC"]["balance"] == "-2500"  # the borrowing: a negative cash balance
    assert rows["USDC"]["cross_collateral_enabled"] is True
    for code, row in rows.items():
        upl = Decimal(row["futures_session_upl"])
        option = Decimal(account["options"].get(code, "0"))
        assert Decimal(row["equity"]) == Decimal(row["balance"]) + upl + option


def test_deribit_signature_covers_the_query(emulator, make_exchange):
    ex = make_exchange("deribit")
    assert "summaries" in ex.private_get_get_account_summaries({"extended": "true"})["result"]
    with pytest.raises(AuthenticationError, match="13009"):
        make_exchange("deribit", secret="wrong").private_get_get_account_summaries()


def test_krakenfutures_accounts_send_exact_numbers(make_exchange):
    ex = make_exchange("krakenfutures")
    flex = ex.fetch_balance()  # ccxt reads the flex wallet by default
    assert Decimal(str(flex["total"]["BTC"])) == Decimal("0.8")
    body = json.loads(ex.last_http_response, parse_float=str, parse_int=str)["accounts"]
    assert body["flex"]["currencies"]["USDT"]["quantity"] == "-150"  # the borrowing
    assert body["flex"]["totalUnrealized"] == "-267.75"
    single = body["fi_xbtusd"]
    assert (single["balances"]["xbt"], single["auxiliary"]["pv"]) == ("1.2", "1.25")


def test_krakenfutures_is_told_apart_from_kraken_by_its_host(emulator, make_exchange):
    make_exchange("krakenfutures").fetch_balance({"type": "cash"})
    make_exchange("kraken").fetch_balance()
    assert emulator.count(exchange="krakenfutures", kind="balance") == 1
    assert emulator.count(exchange="kraken", kind="balance") == 1


def test_deribit_book_summaries_take_the_documented_currencies_only(make_exchange):
    ex = make_exchange("deribit")
    rows = ex.public_get_get_book_summary_by_currency({"currency": "USDT", "kind": "spot"})
    assert [r["instrument_name"] for r in rows["result"]] == ["SOL_USDT"]
    with pytest.raises(BadRequest, match="-32602"):
        ex.public_get_get_book_summary_by_currency({"currency": "SOL", "kind": "spot"})

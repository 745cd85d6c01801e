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
    RateLimitExceeded,
    RequestTimeout,
)

from portfolio.exchanges import SUPPORTED_EXCHANGES
from sandbox.emulator import RemoteEmulator, Scenario, ScenarioError
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
    "kucoin": "/api/v1/accounts",
    "mexc": "/api/v3/account",
    "htx": "/v1/account/accounts/10001/balance",
}
KRAKEN_CODES = {"XXBT": "BTC", "XETH": "ETH", "ZUSD": "USD"}


def expected(exchange, wallet):
    """{code: free + locked} from the scenario file, as exact Decimals."""
    coins = scenario_account(exchange)["balances"][wallet]
    out = {}
    for code, raw in coins.items():
        parts = raw if isinstance(raw, dict) else {"free": raw}
        out[code] = Decimal(parts.get("free", "0")) + Decimal(parts.get("locked", "0"))
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


def kucoin_spot(ex):
    b = ex.fetch_balance()
    return b["total"], {r["currency"]: Decimal(r["balance"]) for r in b["info"]["data"]}


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
    ("kucoin", "spot", kucoin_spot),
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
    "kucoin": lambda info: info["last"],
    "mexc": lambda info: info["lastPrice"],
    "htx": lambda info: format(Decimal(str(info["close"])), "f"),  # a JSON number
}
# kucoin with credentials: currencies, symbols, contracts, margin and isolated symbols; it also
# loads every ticker for the fees, the same request as fetch_tickers, so counted as a ticker.
# mexc with credentials: spot exchangeInfo, contract detail and the (signed) currencies.
MARKET_REQUESTS = {
    "binance": 1, "kraken": 2, "okx": 2, "coinbase": 6, "bybit": 2, "kucoin": 5, "mexc": 3,
    "htx": 2,
}  # fmt: skip
TICKER_REQUESTS = {"kucoin": 2}
# Valid shapes (kraken: base64; coinbase: not CDP-like, i.e. no trailing "=") but wrong.
WRONG_SECRETS = {"kraken": "d3Jvbmctc2VjcmV0LXh4"}


def sync(ex):
    ex.load_markets()
    return ex.fetch_balance(), ex.fetch_tickers(list(ex.markets)[:2])


@pytest.mark.parametrize("name", EXCHANGES)
def test_load_markets_lists_the_scenario_prices(make_exchange, scenario, name):
    ex = make_exchange(name)
    ex.load_markets()
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


@pytest.mark.parametrize("name", EXCHANGES)
def test_fetch_tickers_returns_the_scenario_prices(make_exchange, scenario, name):
    ex = make_exchange(name)
    ex.load_markets()
    prices = scenario["prices"][name]
    tickers = ex.fetch_tickers(list(prices))
    assert set(tickers) == set(prices)
    for symbol, price in prices.items():
        assert Decimal(str(tickers[symbol]["last"])) == Decimal(price)
        assert TICKER_FIELDS[name](tickers[symbol]["info"]) == price


@pytest.mark.parametrize("name", EXCHANGES)
def test_wrong_secret_fails_as_the_real_exchange_does(make_exchange, name):
    ex = make_exchange(name, secret=WRONG_SECRETS.get(name, "wrong-secret"))
    with pytest.raises(ExchangeError) as caught:
        sync(ex)
    # kraken's "EAPI:Invalid signature" is a plain ExchangeError in ccxt, not an auth error.
    assert isinstance(caught.value, AuthenticationError) is (name != "kraken")


def test_wrong_okx_passphrase_is_an_authentication_error(make_exchange):
    with pytest.raises(AuthenticationError, match="50105"):
        sync(make_exchange("okx", password="wrong-pass"))


# ccxt's table has mexc's 10072 ("Api key info invalid") as BadRequest: the adapter reads it as a
# rejected key (tests/portfolio/test_fault_matrix.py, REJECTED_KEY).
UNKNOWN_KEY_ERRORS = {"mexc": BadRequest}


@pytest.mark.parametrize("name", EXCHANGES)
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
    (401, {n: AuthenticationError for n in EXCHANGES}),
    # okx maps a bare 429 to ExchangeNotAvailable; its real 429 body says 50011 (see below).
    (429, {n: RateLimitExceeded for n in EXCHANGES} | OKX_BARE_429 | {"binance": DDoSProtection}),
    (503, {n: ExchangeNotAvailable for n in EXCHANGES}),
    (504, {n: RequestTimeout for n in EXCHANGES}),
]


@pytest.mark.parametrize("name", EXCHANGES)
@pytest.mark.parametrize(("status", "errors"), STATUS_ERRORS, ids=lambda v: str(v)[:3])
def test_status_faults_raise_the_documented_error(emulator, make_exchange, name, status, errors):
    ex = make_exchange(name)
    ex.load_markets()
    emulator.add_fault(name, BALANCE_PATHS[name], status=status, body="")
    with pytest.raises(NetworkError if status != 401 else ExchangeError) as caught:
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


@pytest.mark.parametrize("name", EXCHANGES)
@pytest.mark.parametrize("body", ["", '{"result": {"XXBT": {"bal', "<html>maintenance</html>"])
def test_empty_or_truncated_200_gives_an_empty_balance_without_error(
    emulator, make_exchange, name, body
):
    # The trap the app must guard: ccxt reports "no holdings" instead of raising.
    ex = make_exchange(name)
    ex.load_markets()
    emulator.add_fault(name, BALANCE_PATHS[name], status=200, body=body)
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
    assert balance["total"] and tickers


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
    # The demo shows the dedicated adapters; the generic one's exchange is for the tests.
    assert {ex for ex, _ in scenario.accounts} == set(SUPPORTED_EXCHANGES)
    assert len(scenario.accounts) >= len(SUPPORTED_EXCHANGES)

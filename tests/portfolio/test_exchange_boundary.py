"""The exchange boundary of issue 12, against ccxt's real classes over HTTP to the emulator:
every value checked, one deadline per sync, unreadable permissions, error bodies, quotes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from portfolio import exchanges
from portfolio.exchanges import ExchangeFault, FetchedAccount, fetch_account, fetch_quotes
from sandbox.emulator import Emulator, run_emulator
from tests.portfolio.test_exchanges import BALANCE_PATHS, SCENARIO, creds

D = Decimal
PATHS = BALANCE_PATHS | {"coinbase": "/v2/accounts", "latoken": "/v2/auth/account"}
Sync = Callable[..., FetchedAccount]


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    exchanges.clear_markets_cache()
    with run_emulator(SCENARIO) as emu:
        yield emu
    exchanges.clear_markets_cache()


@pytest.fixture(autouse=True)
def clean(emulator: Emulator) -> Iterator[None]:
    emulator.clear_faults()
    emulator.reset_stats()
    yield
    emulator.clear_faults()


@pytest.fixture
def sync(emulator: Emulator) -> Sync:
    def run(exchange: str, wallets: Any = exchanges.WALLETS, timeout_ms: int = 2000) -> Any:
        return fetch_account(
            exchange, creds(exchange), wallets, emulator_url=emulator.url, timeout_ms=timeout_ms
        )

    return run


def answer(emulator: Emulator, exchange: str, path: str, body: Any, **options: Any) -> None:
    emulator.add_fault(exchange, path, status=options.pop("status", 200), body=body, **options)


def refused(sync: Sync, exchange: str, wallets: Any = ("spot",)) -> ExchangeFault:
    with pytest.raises(ExchangeFault) as caught:
        sync(exchange, wallets)
    fault = caught.value
    assert (fault.kind, fault.error_class, fault.retryable) == (
        "bad_response",
        "MalformedAnswer",
        True,
    )
    return fault


def spot(*rows: tuple[str, str]) -> dict[str, Any]:
    return {"balances": [{"asset": code, "free": free, "locked": "0"} for code, free in rows]}


def amounts(result: FetchedAccount) -> dict[tuple[str, str], Decimal]:
    return {(b.code, b.product): b.amount for b in result.balances}


# ----------------------------------------------------------------------------- amounts


def test_nan_names_exchange_wallet_field_and_value(sync, emulator):
    sync("binance")  # markets loaded: the fault hits the balance request
    answer(emulator, "binance", PATHS["binance"], spot(("BTC", "NaN")))
    assert refused(sync, "binance").message == (
        "Binance sent a malformed answer for the spot wallet (free of BTC is 'NaN', not a "
        "finite amount). The sync will retry; the last good balances are kept."
    )


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("Infinity", "not a finite amount"),
        ("-Infinity", "not a finite amount"),
        ("sNaN", "not a finite amount"),
        ("1e30", "beyond any real holding"),
        ("1000000000000000000", "beyond any real holding"),
        ("0.0000000000000000001", "more than 18 decimal places"),
        ("1e-19", "more than 18 decimal places"),
        ("-5", "negative where the exchange reports no debt"),
        ("one", "not a number"),
    ],
)
def test_an_amount_the_column_cannot_hold_is_refused(sync, emulator, value, reason):
    answer(emulator, "binance", PATHS["binance"], spot(("BTC", value)))
    message = refused(sync, "binance").message
    assert f"spot wallet (free of BTC is '{value}', {reason}" in message


def test_a_float_amount_is_refused(sync, emulator):
    raw = '{"balances": [{"asset": "BTC", "free": 1e30, "locked": "0"}]}'
    answer(emulator, "binance", PATHS["binance"], raw)
    assert "free of BTC is 1e+30, not a decimal string" in refused(sync, "binance").message


def test_the_largest_amounts_that_fit_are_kept_exactly(sync, emulator):
    big, small = "999999999999999999.999999999999999999", "0.000000000000000001"
    answer(emulator, "binance", PATHS["binance"], spot(("BTC", big), ("ETH", small)))
    result = amounts(sync("binance", ["spot"]))
    assert result == {("BTC", "spot"): D(big), ("ETH", "spot"): D(small)}
    assert str(result[("BTC", "spot")]) == big


def test_zeros_beyond_eighteen_places_are_exact_and_kept(sync, emulator):
    answer(emulator, "binance", PATHS["binance"], spot(("BTC", "1.500000000000000000000")))
    assert amounts(sync("binance", ["spot"])) == {("BTC", "spot"): D("1.5")}


def test_a_sum_of_fields_beyond_the_bound_is_refused(sync, emulator):
    row = {"asset": "BTC", "free": "900000000000000000", "locked": "900000000000000000"}
    answer(emulator, "binance", PATHS["binance"], {"balances": [row]})
    assert "free + locked of BTC is '1800000000000000000'" in refused(sync, "binance").message


NEGATIVE = {
    "hyperliquid staking": (
        "hyperliquid",
        "earn",
        "/info/delegatorSummary",
        {
            "delegated": "-5",
            "undelegated": "0.0",
            "totalPendingWithdrawal": "0.0",
            "nPendingWithdrawals": 0,
        },
    ),
    "hyperliquid vault": (
        "hyperliquid",
        "earn",
        "/info/userVaultEquities",
        [
            {
                "vaultAddress": "0xdfc24b077bc1425ad1dea75bcb6f8158e10df303",
                "equity": "-1",
                "lockedUntilTimestamp": 1798761600000,
            }
        ],
    ),
    "binance funding": (
        "binance",
        "funding",
        "/sapi/v1/asset/get-funding-asset",
        [{"asset": "USDT", "free": "-1", "locked": "0"}],
    ),
    "binance earn": (
        "binance",
        "earn",
        "/sapi/v1/simple-earn/flexible/position",
        {"rows": [{"asset": "USDT", "totalAmount": "-10", "productId": "USDT001"}], "total": 1},
    ),
    "binance staking": (
        "binance",
        "earn",
        "/sapi/v1/staking/position",
        [{"asset": "BNB", "amount": "-5", "positionId": "1"}],
    ),
    "kraken staking": (
        "kraken",
        "earn",
        "/0/private/BalanceEx",
        {"error": [], "result": {"DOT.S": {"balance": "-100"}}},
    ),
    "okx funding": (
        "okx",
        "funding",
        "/api/v5/asset/balances",
        {"code": "0", "msg": "", "data": [{"ccy": "USDT", "bal": "-700"}]},
    ),
    "okx trading without liability": (
        "okx",
        "spot",
        "/api/v5/account/balance",
        {"code": "0", "msg": "", "data": [{"details": [{"ccy": "BTC", "eq": "-3", "liab": ""}]}]},
    ),
    "bybit earn": (
        "bybit",
        "earn",
        "/v5/earn/position",
        {"retCode": 0, "retMsg": "OK", "result": {"list": [{"coin": "USDT", "amount": "-1"}]}},
    ),
    "bitfinex funding": (
        "bitfinex",
        "funding",
        "/v2/auth/r/wallets",
        [["funding", "USD", -10000, 0, 0, None, None]],
    ),
    "bitfinex exchange": (
        "bitfinex",
        "spot",
        "/v2/auth/r/wallets",
        [["exchange", "BTC", -1.25, 0, 0, None, None]],
    ),
    "gemini spot": (
        "gemini",
        "spot",
        "/v1/balances",
        [{"type": "exchange", "currency": "BTC", "amount": "-0.75", "available": "0"}],
    ),
    "gemini staking": (
        "gemini",
        "earn",
        "/v1/balances/staking",
        [{"type": "Staking", "currency": "ETH", "balance": -3.5, "available": 0}],
    ),
    "bitget spot": (
        "bitget",
        "spot",
        "/api/v2/spot/account/assets",
        {"code": "00000", "msg": "success", "data": [{"coin": "BTC", "available": "-1"}]},
    ),
    "bitget funding": (
        "bitget",
        "funding",
        "/api/v2/account/funding-assets",
        {"code": "00000", "msg": "success", "data": [{"coin": "USDT", "available": "-4"}]},
    ),
    "bitget earn": (
        "bitget",
        "earn",
        "/api/v2/earn/account/assets",
        {"code": "00000", "msg": "success", "data": [{"coin": "USDT", "amount": "-3"}]},
    ),
    "gate spot": (
        "gate",
        "spot",
        "/api/v4/spot/accounts",
        [{"currency": "BTC", "available": "-1", "locked": "0"}],
    ),
    "gate uni lending": (
        "gate",
        "earn",
        "/api/v4/earn/uni/lends",
        [{"currency": "USDT", "amount": "-1200", "current_amount": "-1200"}],
    ),
    "gate staking": (
        "gate",
        "earn",
        "/api/v4/earn/staking/assets",
        [{"pid": 1, "mortgage_coin": "ETH", "mortgage_amount": "-3"}],
    ),
    "mexc spot": (
        "mexc",
        "spot",
        "/api/v3/account",
        {"balances": [{"asset": "BTC", "free": "-1", "locked": "0"}]},
    ),
    "htx otc": (
        "htx",
        "funding",
        "/v1/account/accounts/10003/balance",
        {
            "status": "ok",
            "data": {
                "id": 10003,
                "type": "otc",
                "list": [
                    {"currency": "usdt", "type": "trade", "balance": "-750"},
                ],
            },
        },
    ),
    "htx spot with a loan": (
        "htx",
        "spot",
        "/v1/account/accounts/10001/balance",
        {
            "status": "ok",
            "data": {
                "id": 10001,
                "type": "spot",
                "list": [
                    {"currency": "usdt", "type": "loan", "balance": "-10"},
                ],
            },
        },
    ),
    "coinbase spot": (
        "coinbase",
        "spot",
        "/v2/accounts",
        {"pagination": {}, "data": [{"id": "a1", "balance": {"amount": "-4", "currency": "BTC"}}]},
    ),
    "kucoin spot": (
        "kucoin",
        "spot",
        "/api/v1/accounts",
        {
            "code": "200000",
            "data": [
                {
                    "id": "a1",
                    "currency": "BTC",
                    "type": "trade",
                    "balance": "-6",
                    "available": "-6",
                    "holds": "0",
                },
            ],
        },
    ),
    "kucoin funding": (
        "kucoin",
        "funding",
        "/api/v1/accounts",
        {
            "code": "200000",
            "data": [
                {
                    "id": "m1",
                    "currency": "USDT",
                    "type": "main",
                    "balance": "-800",
                    "available": "-800",
                    "holds": "0",
                },
            ],
        },
    ),
    "kucoin earn": (
        "kucoin",
        "earn",
        "/api/v1/earn/hold-assets",
        {
            "code": "200000",
            "data": {
                "totalNum": 1,
                "currentPage": 1,
                "pageSize": 500,
                "totalPage": 1,
                "items": [
                    {
                        "orderId": "o1",
                        "productCategory": "STAKING",
                        "currency": "KCS",
                        "holdAmount": "-60",
                    }
                ],
            },
        },
    ),
    "bitstamp spot": (
        "bitstamp",
        "spot",
        "/api/v2/account_balances/",
        [{"currency": "btc", "total": "-1", "available": "-1", "reserved": "0"}],
    ),
    "bitstamp earn": (
        "bitstamp",
        "earn",
        "/api/v2/earn/subscriptions/",
        [{"currency": "ETH", "amount": -3, "type": "STAKING", "term": "FLEXIBLE"}],
    ),
    "cryptocom staking": (
        "cryptocom",
        "earn",
        "/exchange/v1/private/staking/get-staking-position",
        {
            "code": 0,
            "result": {"data": [{"instrument_name": "SOL.staked", "staked_quantity": "-30"}]},
        },
    ),
    "krakenfutures cash": (
        "krakenfutures",
        "funding",
        "/derivatives/api/v3/accounts",
        {
            "result": "success",
            "accounts": {"cash": {"type": "cashAccount", "balances": {"xbt": -1}}},
        },
    ),
    # A negative cash balance is a debt only under cross collateral.
    "deribit cash without cross collateral": (
        "deribit",
        "spot",
        "/api/v2/private/get_account_summaries",
        {
            "jsonrpc": "2.0",
            "result": {
                "summaries": [
                    {
                        "currency": "BTC",
                        "balance": -1.5,
                        "equity": -1.5,
                        "cross_collateral_enabled": False,
                    }
                ]
            },
        },
    ),
}


@pytest.mark.parametrize("case", list(NEGATIVE))
def test_negative_where_no_debt_can_be_is_refused(sync, emulator, case):
    exchange, wallet, path, body = NEGATIVE[case]
    answer(emulator, exchange, path, body)
    message = refused(sync, exchange, [wallet]).message
    assert f"for the {wallet} wallet (" in message
    assert "negative where the exchange reports no debt" in message


def test_negative_where_the_exchange_reports_a_liability_is_a_debt(sync, emulator):
    okx_row = {"ccy": "USDT", "eq": "-250.5", "liab": "250.5"}
    answer(emulator, "okx", PATHS["okx"], {"code": "0", "data": [{"details": [okx_row]}]})
    assert amounts(sync("okx", ["spot"])) == {("USDT", "margin"): D("-250.5")}
    coin = {"coin": "USDT", "equity": "-10", "borrowAmount": "10", "accruedInterest": "0"}
    unified = {"list": [{"accountType": "UNIFIED", "coin": [coin]}]}
    answer(emulator, "bybit", PATHS["bybit"], {"retCode": 0, "result": unified})
    assert amounts(sync("bybit", ["spot"])) == {("USDT", "margin"): D("-10")}
    assert amounts(sync("binance", ["margin"]))[("USDT", "margin")] == D("-1001.5")
    cross = {"accounts": [{"currency": "USDT", "total": "100", "liability": "300.25"}]}
    answer(emulator, "kucoin", "/api/v3/margin/accounts", {"code": "200000", "data": cross})
    assert amounts(sync("kucoin", ["margin"])) == {("USDT", "margin"): D("-200.25")}


def test_an_unreadable_liability_field_is_refused_not_compared(sync, emulator):
    okx_row = {"ccy": "BTC", "eq": "1", "liab": "NaN"}
    answer(emulator, "okx", PATHS["okx"], {"code": "0", "data": [{"details": [okx_row]}]})
    assert "liab of BTC is 'NaN', not a finite amount" in refused(sync, "okx").message


def test_an_empty_answer_is_legitimate_at_the_boundary(sync, emulator):
    # An account can be empty; the sync service confirms large drops (not this module's job).
    answer(emulator, "binance", PATHS["binance"], {"balances": []})
    assert sync("binance", ["spot"]).balances == ()


# ----------------------------------------------------------------------------- codes


def test_a_code_with_spaces_around_is_the_same_asset(sync, emulator):
    answer(emulator, "binance", PATHS["binance"], spot((" BTC ", "1.5")))
    result = sync("binance", ["spot"])
    assert [(b.reported_code, b.code, b.amount) for b in result.balances] == [
        ("BTC", "BTC", D("1.5"))
    ]
    assert result.quotes["BTC/USDT"] == D("100000")


def test_kraken_key_with_spaces_is_normalised(sync, emulator):
    body = {"error": [], "result": {" XXBT ": {"balance": "2"}}}
    answer(emulator, "kraken", PATHS["kraken"], body)
    assert amounts(sync("kraken", ["spot"])) == {("BTC", "spot"): D("2")}


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("B" * 41, "not a currency code"),
        ("BT C", "not a currency code"),
        ("BTC\x00", "not a currency code"),
        ("X" * 33, "longer than 32 characters"),
    ],
)
def test_a_code_that_is_no_code_or_too_long_is_refused(sync, emulator, code, problem):
    answer(emulator, "binance", PATHS["binance"], spot((code, "1")))
    message = refused(sync, "binance").message
    assert "spot wallet (asset is " in message
    assert problem in message


def test_a_thirty_two_character_code_fits(sync, emulator):
    code = "A" * 32
    answer(emulator, "binance", PATHS["binance"], spot((code, "1")))
    assert amounts(sync("binance", ["spot"])) == {(code, "spot"): D("1")}


# ----------------------------------------------------------------------------- repeated rows


def test_a_row_sent_twice_is_taken_once(sync, emulator):
    answer(emulator, "binance", PATHS["binance"], spot(("BTC", "1.5"), ("BTC", "1.5")))
    assert amounts(sync("binance", ["spot"])) == {("BTC", "spot"): D("1.5")}


def test_a_repeat_with_another_amount_is_malformed(sync, emulator):
    answer(emulator, "binance", PATHS["binance"], spot(("BTC", "1.5"), ("BTC", "2")))
    assert "(BTC appears twice with different amounts, '1.5' and '2')" in (
        refused(sync, "binance").message
    )


KRAKEN_TWICE = '{"error":[],"result":{"XXBT":{"balance":"%s"},"XXBT":{"balance":"%s"}}}'


def test_kraken_repeated_key_is_taken_once(sync, emulator):
    answer(emulator, "kraken", PATHS["kraken"], KRAKEN_TWICE % ("2", "2"))
    assert amounts(sync("kraken", ["spot"])) == {("BTC", "spot"): D("2")}


def test_kraken_repeated_key_with_another_amount_names_its_wallet(sync, emulator):
    body = (
        '{"error":[],"result":{"XXBT":{"balance":"2"},'
        '"DOT.S":{"balance":"1"},"DOT.S":{"balance":"9"}}}'
    )
    answer(emulator, "kraken", PATHS["kraken"], body, times=2)
    assert amounts(sync("kraken", ["spot"])) == {("BTC", "spot"): D("2")}  # not read there
    message = refused(sync, "kraken", ["spot", "earn"]).message
    assert "for the earn wallet (DOT.S appears twice with different amounts, '1' and '9')" in (
        message
    )


def test_binance_earn_page_repeating_the_first_is_taken_once(sync, emulator):
    row = {"asset": "BTC", "totalAmount": "0.25", "productId": "BTC001"}
    page = {"rows": [row], "total": 101}  # a second page is asked for; it repeats the first
    answer(emulator, "binance", "/sapi/v1/simple-earn/flexible/position", page, times=2)
    result = amounts(sync("binance", ["earn"]))
    assert result[("BTC", "earn")] == D("0.25")
    assert emulator.count(path="/sapi/v1/simple-earn/flexible/position") >= 2


def test_binance_locked_positions_of_one_asset_are_summed(sync, emulator):
    rows = [
        {"asset": "ETH", "amount": "2", "positionId": 1},
        {"asset": "ETH", "amount": "3", "positionId": 2},
    ]
    answer(emulator, "binance", "/sapi/v1/simple-earn/locked/position", {"rows": rows, "total": 2})
    assert amounts(sync("binance", ["earn"]))[("ETH", "earn")] == D("5")


def coinbase_page(cursor: str | None, *accounts: tuple[str, str, str]) -> dict[str, Any]:
    data = [{"id": i, "balance": {"amount": a, "currency": c}} for i, c, a in accounts]
    return {"pagination": {"next_starting_after": cursor}, "data": data}


def test_coinbase_page_served_again_is_taken_once(sync, emulator):
    page = coinbase_page("acct-btc", ("acct-btc", "BTC", "4"))
    answer(emulator, "coinbase", PATHS["coinbase"], page, times=None)  # the same cursor forever
    assert amounts(sync("coinbase")) == {("BTC", "spot"): D("4")}
    assert emulator.count(exchange="coinbase", kind="balance") == 2


def test_coinbase_one_account_twice_with_two_amounts_is_malformed(sync, emulator):
    page = coinbase_page(None, ("acct-btc", "BTC", "4"), ("acct-btc", "BTC", "5"))
    answer(emulator, "coinbase", PATHS["coinbase"], page)
    assert "BTC (row acct-btc) appears twice" in refused(sync, "coinbase").message


def test_two_coinbase_accounts_of_one_currency_are_summed(sync, emulator):
    page = coinbase_page(None, ("acct-1", "BTC", "4"), ("acct-2", "BTC", "1"))
    answer(emulator, "coinbase", PATHS["coinbase"], page)
    assert amounts(sync("coinbase")) == {("BTC", "spot"): D("5")}


def test_structural_checks_stay_bad_response(sync, emulator):
    answer(emulator, "binance", PATHS["binance"], {"balances": [{"asset": "BTC"}]})
    with pytest.raises(ExchangeFault) as caught:
        sync("binance", ["spot"])
    assert (caught.value.kind, caught.value.error_class) == ("bad_response", "BadResponse")


# ----------------------------------------------------------------------------- one deadline


def test_a_trickled_answer_times_out_at_the_deadline(sync, emulator):
    sync("binance")
    emulator.add_fault("binance", PATHS["binance"], trickle_bytes=64, trickle_interval=1.5)
    started = time.monotonic()
    with pytest.raises(ExchangeFault) as caught:
        sync("binance", ["spot"], timeout_ms=2000)
    elapsed = time.monotonic() - started
    assert caught.value.kind == "timeout"
    assert caught.value.message.startswith("Binance did not answer within 2 s (")
    assert 1.8 < elapsed < 5


def test_slow_requests_add_up_to_one_deadline(sync, emulator):
    # Each answer comes well within the per-read timeout; together they overrun the sync's.
    sync("okx")
    emulator.add_fault("okx", "*", delay=0.3, times=None)
    started = time.monotonic()
    with pytest.raises(ExchangeFault) as caught:
        sync("okx", timeout_ms=1000)
    assert caught.value.kind == "timeout"
    assert time.monotonic() - started < 4


def test_market_loading_counts_against_the_deadline(sync, emulator):
    exchanges.clear_markets_cache()
    emulator.add_fault(
        "kraken", "/0/public/AssetPairs", trickle_bytes=64, trickle_interval=1.0, times=None
    )
    started = time.monotonic()
    with pytest.raises(ExchangeFault) as caught:
        sync("kraken", timeout_ms=1500)
    assert caught.value.kind == "timeout"
    assert time.monotonic() - started < 1.5 + 3
    emulator.clear_faults()
    assert sync("kraken").balances  # the next sync loads them


def test_a_trickle_within_the_deadline_is_read(sync, emulator):
    sync("bybit")
    emulator.add_fault("bybit", PATHS["bybit"], trickle_bytes=256, trickle_interval=0.05)
    assert amounts(sync("bybit", ["spot"]))[("BTC", "spot")] == D("5")


# ----------------------------------------------------------------------------- permissions


UNREADABLE_PERMISSIONS = {
    "binance empty": ("binance", "/sapi/v1/account/apiRestrictions", {}),
    "binance no withdrawals": (
        "binance",
        "/sapi/v1/account/apiRestrictions",
        {"enableReading": True, "enableSpotAndMarginTrading": True},
    ),
    "binance not JSON": ("binance", "/sapi/v1/account/apiRestrictions", "<html>"),
    "okx without perm": ("okx", "/api/v5/account/config", {"code": "0", "data": [{}]}),
    "bybit without permissions": ("bybit", "/v5/user/query-api", {"retCode": 0, "result": {}}),
    "bitfinex not a list": ("bitfinex", "/v2/auth/r/permissions", ["wallets", 1, 0]),
    "bitfinex without withdraw": (
        "bitfinex",
        "/v2/auth/r/permissions",
        [["wallets", 1, 0], ["orders", 1, 0], ["positions", 1, 0], ["funding", 1, 0]],
    ),
    "bitfinex flag not 0 or 1": (
        "bitfinex",
        "/v2/auth/r/permissions",
        [
            ["wallets", 1, 0],
            ["orders", 1, 0],
            ["positions", 1, 0],
            ["funding", 1, 0],
            ["withdraw", 1, "yes"],
        ],
    ),
    "gemini empty": ("gemini", "/v1/roles", {}),
    "gemini role not a boolean": (
        "gemini",
        "/v1/roles",
        {"isAuditor": False, "isFundManager": "false", "isTrader": True},
    ),
    "bybit without readOnly": (
        "bybit",
        "/v5/user/query-api",
        {"retCode": 0, "result": {"permissions": {"Wallet": []}}},
    ),
    "kucoin without permission": (
        "kucoin",
        "/api/v1/user/api-key",
        {"code": "200000", "data": {"apiKey": "k", "ipWhitelist": ""}},
    ),
    "bitget without authorities": (
        "bitget",
        "/api/v2/spot/account/info",
        {"code": "00000", "msg": "success", "data": {"userId": "1"}},
    ),
    "gate without perms": ("gate", "/api/v4/account/main_keys", {"state": 1, "mode": 1}),
    "gate perm without read_only": (
        "gate",
        "/api/v4/account/main_keys",
        {"state": 1, "perms": [{"name": "wallet"}]},
    ),
    "bitget authorities not a list": (
        "bitget",
        "/api/v2/spot/account/info",
        {"code": "00000", "msg": "success", "data": {"authorities": "stow,wwow"}},
    ),
    "mexc without permissions": ("mexc", "/api/v3/apiKeyInfo", {"accessKey": "k"}),
    "htx without permission": (
        "htx",
        "/v2/user/api-key",
        {"code": 200, "data": [{"accessKey": "xt-htx-key-0001", "status": "normal"}]},
    ),
    "htx without the key": ("htx", "/v2/user/api-key", {"code": 200, "data": []}),
    "htx uid not a number": ("htx", "/v2/user/uid", {"code": 200, "data": None}),
    "mexc permissions not a list": (
        "mexc",
        "/api/v3/apiKeyInfo",
        {"accessKey": "k", "permissions": ["SPOT_DEAL_WRITE"], "status": "VALID"},
    ),
}


@pytest.mark.parametrize("case", list(UNREADABLE_PERMISSIONS))
def test_unreadable_permissions_are_unknown_and_say_why(sync, emulator, case):
    exchange, path, body = UNREADABLE_PERMISSIONS[case]
    answer(emulator, exchange, path, body)
    result = sync(exchange)
    assert result.key_permissions is None
    name = exchanges.DISPLAY_NAMES[exchange]
    assert result.permissions_problem.startswith(
        f"{name}'s answer about the key's permissions could not be read ("
    )
    assert result.balances  # the sync went on


@pytest.mark.parametrize("exchange", list(PATHS))
def test_readable_or_unreported_permissions_have_no_problem(sync, exchange):
    assert sync(exchange).permissions_problem == ""


# ----------------------------------------------------------------------------- error bodies

OKX: dict[str, Any] = {"msg": "", "data": []}
CRYPTOCOM: dict[str, Any] = {"id": 1, "method": "private/user-balance"}
BITSTAMP: dict[str, Any] = {"status": "error"}
BYBIT: dict[str, Any] = {"result": {}, "retExtInfo": {}}
BITGET: dict[str, Any] = {"requestTime": 1700000000000, "data": None}
ERROR_BODIES: dict[str, dict[str, tuple[int, Any, str]]] = {
    "binance": {
        "5xx-json": (503, {"code": -1001, "msg": "Internal error; try again."}, "maintenance"),
        "error-in-200": (200, {"code": -1008, "msg": "Server is overloaded."}, "maintenance"),
        "nonce": (400, {"code": -1021, "msg": "Timestamp outside of the recvWindow."}, "clock"),
    },
    "kraken": {
        "5xx-json": (502, {"error": ["EService:Unavailable"]}, "maintenance"),
        "error-in-200": (200, {"error": ["EService:Busy"]}, "maintenance"),
        "nonce": (200, {"error": ["EAPI:Invalid nonce"]}, "clock"),
    },
    "okx": {
        "5xx-json": (500, {"code": "1", "msg": "Operation failed."} | OKX, "maintenance"),
        "error-in-200": (200, {"code": "50013", "msg": "Systems are busy."} | OKX, "maintenance"),
        "nonce": (401, {"code": "50112", "msg": "Invalid OK-ACCESS-TIMESTAMP"} | OKX, "clock"),
    },
    "coinbase": {
        "5xx-json": (
            500,
            {"errors": [{"id": "internal_server_error", "message": "Internal error"}]},
            "maintenance",
        ),
        "error-in-200": (
            200,
            {"errors": [{"id": "internal_server_error", "message": "Internal error"}]},
            "maintenance",
        ),
        "nonce": (
            401,
            {"errors": [{"id": "authentication_error", "message": "request timestamp expired"}]},
            "clock",
        ),
    },
    "bybit": {
        "5xx-json": (502, {"retCode": 10016, "retMsg": "System error."} | BYBIT, "maintenance"),
        "error-in-200": (
            200,
            {"retCode": 10016, "retMsg": "Service is restarting."} | BYBIT,
            "maintenance",
        ),
        "nonce": (
            200,
            {"retCode": 10002, "retMsg": "check your server timestamp"} | BYBIT,
            "clock",
        ),
    },
    # The info endpoint: unsigned (no nonce to refuse) and no error body in a 200; a 5xx and
    # a 429 are what it says when in trouble.
    "hyperliquid": {
        "5xx-json": (500, {"error": "Internal server error"}, "maintenance"),
        "429-json": (429, {"error": "Too many requests"}, "rate_limit"),
    },
    # ["error", CODE, "message"]: Bitfinex's documented codes (20060 maintenance, 10114 nonce).
    "bitfinex": {
        "5xx-json": (500, ["error", 20060, "maintenance"], "maintenance"),
        "error-in-200": (200, ["error", 20060, "maintenance"], "maintenance"),
        "nonce": (500, ["error", 10114, "nonce: small"], "clock"),
    },
    # {"result": "error", "reason": ...}: Gemini's documented reasons.
    "gemini": {
        "5xx-json": (
            503,
            {
                "result": "error",
                "reason": "Maintenance",
                "message": "The Gemini Exchange is currently undergoing maintenance.",
            },
            "maintenance",
        ),
        "error-in-200": (
            200,
            {
                "result": "error",
                "reason": "System",
                "message": "We are experiencing technical issues",
            },
            "maintenance",
        ),
        "nonce": (
            400,
            {"result": "error", "reason": "InvalidNonce", "message": "Nonce has not increased"},
            "clock",
        ),
    },
    "bitget": {
        "5xx-json": (500, {"code": "45001", "msg": "Unknown error"} | BITGET, "maintenance"),
        "error-in-200": (
            200,
            {"code": "40200", "msg": "Server upgrade, please try again later"} | BITGET,
            "maintenance",
        ),
        "nonce": (400, {"code": "40008", "msg": "Request timestamp expired"} | BITGET, "clock"),
    },
    "gate": {
        "5xx-json": (
            500,
            {"label": "SERVER_ERROR", "message": "Internal server error"},
            "maintenance",
        ),
        "error-in-200": (
            200,
            {"label": "TOO_BUSY", "message": "Server is too busy"},
            "maintenance",
        ),
        # ccxt's table says AuthenticationError: the adapter reads it as a refused timestamp.
        "nonce": (
            401,
            {
                "label": "REQUEST_EXPIRED",
                "message": "gap between request Timestamp and server time exceeds 60",
            },
            "clock",
        ),
    },
    "cryptocom": {
        "5xx-json": (500, {"code": 10001, "message": "SYS_ERROR"} | CRYPTOCOM, "maintenance"),
        "error-in-200": (
            200,
            {"code": 9010001, "message": "SYSTEM_MAINTENANCE"} | CRYPTOCOM,
            "maintenance",
        ),
        "nonce": (400, {"code": 40102, "message": "INVALID_NONCE"} | CRYPTOCOM, "clock"),
    },
    "bitstamp": {
        "5xx-json": (
            500,
            {"reason": "Unknown server error.", "response_code": "500.001"} | BITSTAMP,
            "maintenance",
        ),
        "error-in-200": (
            200,
            {"reason": "Internal service failed.", "response_code": "500.002"} | BITSTAMP,
            "maintenance",
        ),
        "nonce": (403, {"reason": "Invalid nonce", "code": "API0004"} | BITSTAMP, "clock"),
    },
    # Deribit's JSON-RPC errors: 13028 temporarily_unavailable, 11051 system_maintenance; a
    # refused signature timestamp is 13009 unauthorized with the reason (the wording assumed).
    "deribit": {
        "5xx-json": (
            503,
            {"jsonrpc": "2.0", "error": {"code": 13028, "message": "temporarily_unavailable"}},
            "maintenance",
        ),
        "error-in-200": (
            200,
            {"jsonrpc": "2.0", "error": {"code": 11051, "message": "system_maintenance"}},
            "maintenance",
        ),
        "nonce": (
            400,
            {
                "jsonrpc": "2.0",
                "error": {
                    "code": 13009,
                    "message": "unauthorized",
                    "data": {"reason": "timestamp is out of the allowed range"},
                },
            },
            "clock",
        ),
    },
    # Kraken Futures: {"result": "error", "error": ...} by ccxt's exact messages.
    "krakenfutures": {
        "5xx-json": (503, {"result": "error", "error": "unavailable"}, "maintenance"),
        "error-in-200": (200, {"result": "error", "error": "Unavailable"}, "maintenance"),
        "nonce": (200, {"result": "error", "error": "nonceBelowThreshold"}, "clock"),
    },
    # Spot errors come with a 4xx or 5xx status, contract errors in a 200.
    "mexc": {
        "5xx-json": (503, {"code": 503, "msg": "service not available"}, "maintenance"),
        "error-in-200": (200, {"code": 801, "msg": "System under maintenance"}, "maintenance"),
        "nonce": (
            400,
            {"code": 700003, "msg": "Timestamp for this request is outside of the recvWindow."},
            "clock",
        ),
    },
    # v1 errors come in a 200 as {"status": "error", "err-code", "err-msg"}.
    "htx": {
        "5xx-json": (
            500,
            {"status": "error", "err-code": "base-system-error", "err-msg": "System error"},
            "maintenance",
        ),
        "error-in-200": (
            200,
            {"status": "error", "err-code": "system-maintenance", "err-msg": "in maintenance"},
            "maintenance",
        ),
        "nonce": (
            200,
            {
                "status": "error",
                "err-code": "api-signature-not-valid",
                "err-msg": "Signature not valid: Timestamp expired",
            },
            "clock",
        ),
    },
    # Bodies as KuCoin documents them: 500000 internal error, 400002 KC-API-TIMESTAMP.
    "kucoin": {
        "5xx-json": (500, {"code": "500000", "msg": "Internal Server Error"}, "maintenance"),
        "error-in-200": (200, {"code": "500000", "msg": "Internal Server Error"}, "maintenance"),
        "nonce": (
            401,
            {
                "code": "400002",
                "msg": "KC-API-TIMESTAMP Invalid -- Time differs from server time by more than "
                "5 seconds",
            },
            "clock",
        ),
    },
    # Read by the generic adapter: classified by ccxt's own table for latoken (error
    # SERVICE_UNAVAILABLE is ExchangeNotAvailable, the message "request expired or bad"
    # InvalidNonce), none of ours; bodies as latoken documents them.
    "latoken": {
        "5xx-json": (
            500,
            {"message": "Internal Server Error", "error": "INTERNAL_ERROR", "status": "FAILURE"},
            "maintenance",
        ),
        "error-in-200": (
            200,
            {
                "result": False,
                "message": "requested information currently not available",
                "error": "SERVICE_UNAVAILABLE",
                "status": "FAILURE",
            },
            "maintenance",
        ),
        "nonce": (
            400,
            {
                "result": False,
                "message": "request expired or bad <timeAlive>/<timestamp> format",
                "error": "BAD_REQUEST",
                "status": "FAILURE",
            },
            "clock",
        ),
    },
}


@pytest.mark.parametrize(
    ("exchange", "case"), [(ex, case) for ex, cases in ERROR_BODIES.items() for case in cases]
)
def test_error_bodies_are_classified_by_body_and_status(sync, emulator, exchange, case):
    status, body, kind = ERROR_BODIES[exchange][case]
    sync(exchange)
    answer(emulator, exchange, PATHS[exchange], body, status=status)
    with pytest.raises(ExchangeFault) as caught:
        sync(exchange, exchanges.supported_wallets(exchange)[:1])  # spot, or kraken futures' cash
    fault = caught.value
    assert (fault.kind, fault.retryable, fault.credentials_broken) == (kind, True, False)
    name = exchanges.display_name(exchange)
    if kind == "clock":
        assert fault.message.startswith(f"{name} refused the request's timestamp or nonce (")
        assert "check this server's clock; the sync will retry" in fault.message
        assert "Could not reach" not in fault.message


@pytest.mark.parametrize(
    ("error_id", "kind"),
    [
        ("authentication_error", "authentication"),
        ("invalid_token", "authentication"),
        ("rate_limit_exceeded", "rate_limit"),
        ("service_unavailable", "maintenance"),
        ("validation_error", "exchange_error"),
    ],
)
def test_coinbase_errors_in_a_200_are_classified_by_their_id(sync, emulator, error_id, kind):
    body = {"errors": [{"id": error_id, "message": "something"}]}
    answer(emulator, "coinbase", PATHS["coinbase"], body)
    with pytest.raises(ExchangeFault) as caught:
        sync("coinbase")
    assert caught.value.kind == kind


def test_clock_is_a_retryable_kind():
    fault = ExchangeFault(kind="clock", error_class="InvalidNonce", message="m")
    assert (fault.retryable, fault.credentials_broken) == (True, False)


# ----------------------------------------------------------------------------- quotes


def binance_tickers(prices: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"symbol": s, "lastPrice": p} for s, p in prices.items()]


@pytest.mark.parametrize(
    ("price", "reason"),
    [
        ("1e-19", "has more than 18 decimal places and cannot be stored exactly"),
        ("0.0000000000000000001", "has more than 18 decimal places"),
        ("100000000000000000000", "is too large to store"),
        ("0", "is not above zero"),
        ("-1", "is not above zero"),
        ("NaN", "is not a finite number"),
        ("Infinity", "is not a finite number"),
        ("abc", "is not a number"),
    ],
)
def test_a_quote_the_database_cannot_store_is_refused_with_a_reason(sync, emulator, price, reason):
    sync("binance")
    tickers = binance_tickers({"BTCUSDT": price, "USDCUSDT": "0.9998"})
    answer(emulator, "binance", "/api/v3/ticker/24hr", tickers)
    result = sync("binance", ["spot"])
    assert "BTC/USDT" not in result.quotes
    assert result.quotes["USDC/USDT"] == D("0.9998")
    assert result.refused_quotes["BTC/USDT"].startswith(f"the price '{price}' {reason}")


def test_a_quote_with_eighteen_places_is_kept_exactly(sync, emulator):
    tickers = binance_tickers({"BTCUSDT": "0.000000000000000001"})
    answer(emulator, "binance", "/api/v3/ticker/24hr", tickers)
    result = sync("binance", ["spot"])
    assert result.quotes["BTC/USDT"] == D("1e-18")
    assert result.refused_quotes == {}


def test_fetch_quotes_leaves_refused_quotes_out(emulator):
    fetch_quotes("kraken", ["BTC"], emulator_url=emulator.url)  # markets loaded
    body = {
        "error": [],
        "result": {
            "XXBTZUSD": {"c": ["1e-19", "1"]},
            "USDTUSD": {"c": ["1.0001", "1"]},
        },
    }
    answer(emulator, "kraken", "/0/public/Ticker", body)
    quotes = fetch_quotes("kraken", ["BTC", "USDT"], emulator_url=emulator.url)
    assert quotes == {"USDT/USD": D("1.0001")}


def test_recorded_payloads_still_read(sync):
    # A clean sync keeps its exact amounts and has nothing refused.
    result = sync("binance")
    assert result.refused_quotes == {} and result.permissions_problem == ""
    assert json.dumps(str(amounts(result)[("DAI", "spot")])) == '"1234567.123456789012345678"'


# ------------------------------------------------------------- unrealised PnL apart (issue 13)


def bybit_coins(*coins: dict[str, str]) -> dict[str, Any]:
    unified = {"list": [{"accountType": "UNIFIED", "coin": list(coins)}]}
    return {"retCode": 0, "retMsg": "OK", "result": unified}


def okx_details(*details: dict[str, str]) -> dict[str, Any]:
    return {"code": "0", "msg": "", "data": [{"details": list(details)}]}


def test_bybit_equity_splits_into_wallet_and_futures_pnl(sync, emulator):
    usdt = {"coin": "USDT", "equity": "980.5", "walletBalance": "1000", "unrealisedPnl": "-19.5"}
    btc = {"coin": "BTC", "equity": "2.25", "walletBalance": "2", "unrealisedPnl": "0.25"}
    answer(emulator, "bybit", PATHS["bybit"], bybit_coins(usdt, btc))
    assert amounts(sync("bybit", ["spot"])) == {
        ("USDT", "spot"): D("1000"),
        ("USDT", "futures"): D("-19.5"),
        ("BTC", "spot"): D("2"),
        ("BTC", "futures"): D("0.25"),
    }


def test_bybit_wallet_is_the_ledger_and_futures_the_rest_of_the_equity(sync, emulator):
    # The reported PnL is rounded (a recorded XRP row): futures keeps the equity whole.
    xrp = {
        "coin": "XRP",
        "equity": "38.47905187",
        "walletBalance": "40.05245888",
        "unrealisedPnl": "-1.573407",
    }
    answer(emulator, "bybit", PATHS["bybit"], bybit_coins(xrp))
    assert amounts(sync("bybit", ["spot"])) == {
        ("XRP", "spot"): D("40.05245888"),
        ("XRP", "futures"): D("-1.57340701"),
    }


def test_bybit_debt_stays_margin_and_its_pnl_is_futures(sync, emulator):
    # With a debt, walletBalance (gross of which borrowing?) is not the wallet: equity - PnL is.
    coin = {
        "coin": "USDT",
        "equity": "-5",
        "walletBalance": "1000",
        "borrowAmount": "10",
        "unrealisedPnl": "5",
    }
    answer(emulator, "bybit", PATHS["bybit"], bybit_coins(coin))
    assert amounts(sync("bybit", ["spot"])) == {
        ("USDT", "margin"): D("-10"),
        ("USDT", "futures"): D("5"),
    }


def test_okx_eq_splits_into_cash_and_futures_pnl(sync, emulator):
    row = {"ccy": "USDT", "eq": "1050.25", "cashBal": "1000", "upl": "50.25", "liab": "0"}
    answer(emulator, "okx", PATHS["okx"], okx_details(row))
    assert amounts(sync("okx", ["spot"])) == {
        ("USDT", "spot"): D("1000"),
        ("USDT", "futures"): D("50.25"),
    }


def test_binance_futures_wallet_and_pnl_merge_into_margin_balance(sync, emulator):
    asset = {
        "asset": "USDT",
        "walletBalance": "3100",
        "unrealizedProfit": "-50.5",
        "marginBalance": "3049.5",
    }
    answer(emulator, "binance", "/fapi/v3/account", {"assets": [asset]})
    assert amounts(sync("binance", ["futures"])) == {("USDT", "futures"): D("3049.5")}


@pytest.mark.parametrize("pnl", [None, ""])
def test_no_pnl_field_books_the_equity_as_the_wallet(sync, emulator, pnl):
    usdt = {"coin": "USDT", "equity": "980.5"} | ({} if pnl is None else {"unrealisedPnl": pnl})
    answer(emulator, "bybit", PATHS["bybit"], bybit_coins(usdt))
    assert amounts(sync("bybit", ["spot"])) == {("USDT", "spot"): D("980.5")}
    row = {"ccy": "BTC", "eq": "3"} | ({} if pnl is None else {"upl": pnl})
    answer(emulator, "okx", PATHS["okx"], okx_details(row))
    assert amounts(sync("okx", ["spot"])) == {("BTC", "spot"): D("3")}


def test_an_unreadable_wallet_field_is_refused(sync, emulator):
    usdt = {"coin": "USDT", "equity": "10", "walletBalance": "NaN", "unrealisedPnl": "0"}
    answer(emulator, "bybit", PATHS["bybit"], bybit_coins(usdt))
    assert "walletBalance of USDT is 'NaN', not a finite amount" in refused(sync, "bybit").message


def test_a_negative_wallet_field_without_a_debt_is_refused(sync, emulator):
    row = {"ccy": "USDT", "eq": "10", "cashBal": "-5", "upl": "15", "liab": "0"}
    answer(emulator, "okx", PATHS["okx"], okx_details(row))
    assert "cashBal of USDT is '-5', negative where the exchange reports no debt" in (
        refused(sync, "okx").message
    )


def test_no_equity_is_still_malformed(sync, emulator):
    usdt = {"coin": "USDT", "walletBalance": "1000", "unrealisedPnl": "-19.5"}
    answer(emulator, "bybit", PATHS["bybit"], bybit_coins(usdt))
    with pytest.raises(ExchangeFault) as caught:
        sync("bybit", ["spot"])
    assert caught.value.kind == "bad_response" and "row without equity" in caught.value.message


@pytest.mark.parametrize(
    ("pnl", "problem"),
    [
        ("NaN", "unrealisedPnl of USDT is 'NaN', not a finite amount"),
        ("-1e18", "unrealisedPnl of USDT is '-1e18', beyond any real holding"),
        ("0.0000000000000000001", "unrealisedPnl of USDT is '0.0000000000000000001', more than"),
    ],
)
def test_a_pnl_the_column_cannot_hold_is_refused(sync, emulator, pnl, problem):
    usdt = {"coin": "USDT", "equity": "10", "unrealisedPnl": pnl}
    answer(emulator, "bybit", PATHS["bybit"], bybit_coins(usdt))
    assert problem in refused(sync, "bybit").message


def test_a_wallet_left_negative_by_the_pnl_needs_a_debt(sync, emulator):
    # equity 10 with a PnL of 30 means a wallet of -20: a debt, which this row does not report.
    usdt = {"coin": "USDT", "equity": "10", "unrealisedPnl": "30", "borrowAmount": "0"}
    answer(emulator, "bybit", PATHS["bybit"], bybit_coins(usdt))
    assert (
        "equity - unrealisedPnl of USDT is '-20', negative where the exchange reports no debt"
        in (refused(sync, "bybit").message)
    )


def test_a_loss_beyond_the_equity_is_a_futures_liability(sync, emulator):
    # Negative equity: the open positions owe more than the wallet holds. Spot keeps the wallet.
    row = {"ccy": "USDT", "eq": "-20", "upl": "-120", "liab": ""}
    answer(emulator, "okx", PATHS["okx"], okx_details(row))
    assert amounts(sync("okx", ["spot"])) == {
        ("USDT", "spot"): D("100"),
        ("USDT", "futures"): D("-120"),
    }


def test_a_repeated_row_with_another_equity_is_malformed(sync, emulator):
    # Same wallet, another equity: only the futures part differs, and that is a conflict too.
    first = {"coin": "BTC", "equity": "5", "walletBalance": "5", "unrealisedPnl": "0"}
    again = first | {"equity": "7"}
    answer(emulator, "bybit", PATHS["bybit"], bybit_coins(first, again))
    assert "appears twice with different amounts, '0' and '2'" in refused(sync, "bybit").message

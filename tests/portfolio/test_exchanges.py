"""portfolio.exchanges against ccxt's real classes over real HTTP to the emulator (no mocks)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from portfolio import exchanges
from portfolio.exchanges import ExchangeFault, fetch_account, fetch_quotes
from portfolio.exchanges.rows import Lock
from sandbox.emulator import Scenario, run_emulator
from sandbox.urls import leftover_https

SCENARIO = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "exchanges_test.json"
RAW = json.loads(SCENARIO.read_text())
BALANCE_PATHS = {
    "binance": "/api/v3/account",
    "kraken": "/0/private/BalanceEx",
    "okx": "/api/v5/account/balance",
    "bybit": "/v5/account/wallet-balance",
    # One endpoint for every call, routed by the body's type.
    "hyperliquid": "/info/spotClearinghouseState",
    "kucoin": "/api/v1/accounts",
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
# Credential-less market loading: binance exchangeInfo; kraken Assets + AssetPairs; okx and bybit
# spot instruments; coinbase currencies, crypto currencies, rates, spot and future products;
# hyperliquid spotMeta and spotMetaAndAssetCtxs; kucoin currencies and spot symbols;
# bitfinex the pairs and the currencies (two conf documents: ccxt has no option to skip either);
# gemini its symbols (the currencies would be scraped from its web site: switched off);
# bitget coins, spot symbols and margin currencies; gate currencies, spot and margin pairs;
# mexc spot exchangeInfo and contract detail (ccxt loads both, whatever the options); htx spot
# symbols and currencies.
MARKET_REQUESTS = {
    "binance": 1,
    "kraken": 2,
    "okx": 1,
    "coinbase": 5,
    "bybit": 1,
    "hyperliquid": 2,
    "kucoin": 2,
    "bitfinex": 2,
    "gemini": 1,
    "bitget": 3,
    "gate": 3,
    "cryptocom": 1,
    "bitstamp": 1,
    "deribit": 2,
    "krakenfutures": 1,
    "mexc": 2,
    "htx": 2,
}
# Market requests the emulator counts as tickers: hyperliquid's spotMetaAndAssetCtxs is also
# what fetch_tickers asks, the same request, and carries the prices.
COUNTED_AS_TICKERS = {"hyperliquid": 1}
# One full sync with markets cached: permissions + every wallet + one ticker request (kucoin:
# one accounts request for spot and funding, cross, isolated, futures per currency x3, earn;
# bitfinex: permissions, wallets (spot, funding, margin, futures at once), positions, tickers;
# gemini: roles, balances, staking balances, positions, the price feed; bitget: spot, funding,
# earn, cross and isolated margin, three futures productTypes; gate: spot, margin, futures usdt
# and btc, delivery usdt, options, Uni lending, staking; htx: uid + api-key, the account
# list, one balance per account read (spot, super-margin, otc, deposit-earning), three
# derivatives accounts and the tickers).
SYNC_REQUESTS = {
    "binance": 9,
    "kraken": 2,
    "okx": 5,
    "coinbase": 2,
    "bybit": 6,
    "hyperliquid": 5,
    "kucoin": 9,
    "bitfinex": 4,
    "gemini": 5,
    "bitget": 10,
    "gate": 10,
    "cryptocom": 3,
    "bitstamp": 3,
    "deribit": 5,
    "krakenfutures": 1,
    "mexc": 4,
    "htx": 11,
}  # fmt: skip
D = Decimal

EXPECTED = {
    "binance": {
        ("BNB", "spot"): ("BNB", "10"),
        ("BNB", "staking"): ("BNB", "5"),
        ("BTC", "earn"): ("BTC", "0.25"),
        ("BTC", "margin"): ("BTC", "1"),
        ("BTC", "spot"): ("BTC", "1.5"),
        ("DAI", "spot"): ("DAI", "1234567.123456789012345678"),
        ("ETH", "earn"): ("ETH", "2"),
        ("ETH", "margin"): ("ETH", "1.5"),
        ("USDC", "funding"): ("USDC", "0.12345678"),
        ("USDT", "earn"): ("USDT", "10000"),
        ("USDT", "funding"): ("USDT", "500"),
        # marginBalance: the wallet 3100 and the open positions' unrealised PnL -75.5.
        ("USDT", "futures"): ("USDT", "3024.5"),
        ("USDT", "margin"): ("USDT", "-1001.5"),
        ("USDT", "spot"): ("USDT", "1250"),
    },
    "kraken": {
        ("BTC", "spot"): ("XXBT", "2"),
        ("BTC", "earn"): ("BTC.F", "0.5"),
        ("ETH", "spot"): ("XETH", "10"),
        ("ETH", "staking"): ("ETH2.S+ETH2", "4"),
        ("DOT", "staking"): ("DOT.S", "100"),
        ("SOL", "staking"): ("SOL.B", "7.5"),
        ("USDC", "earn"): ("USDC.M", "250"),
        ("USD", "spot"): ("ZUSD", "6000"),
    },
    "okx": {
        ("BTC", "spot"): ("BTC", "3"),
        ("BTC", "futures"): ("BTC", "0.05"),  # upl apart from the cash balance
        ("OKB", "spot"): ("OKB", "100"),
        ("USDT", "spot"): ("USDT", "1000"),
        ("USDT", "futures"): ("USDT", "-12.5"),
        ("USDT", "funding"): ("USDT", "700"),
        ("ETH", "funding"): ("ETH", "1.25"),
        ("USDT", "earn"): ("USDT", "4000"),
    },
    "coinbase": {
        ("BTC", "spot"): ("BTC", "4"),
        ("USD", "spot"): ("USD", "10500"),
        ("USDC", "spot"): ("USDC", "2500.5"),
    },
    "bybit": {
        ("BTC", "spot"): ("BTC", "5"),
        ("BTC", "futures"): ("BTC", "0.125"),  # unrealisedPnl apart from the wallet
        ("USDT", "margin"): ("USDT", "699.5"),
        ("USDT", "futures"): ("USDT", "-42.25"),
        ("USDT", "funding"): ("USDT", "600"),
        ("MNT", "funding"): ("MNT", "1000"),
        ("USDT", "earn"): ("USDT", "1500"),
        ("ETH", "staking"): ("ETH", "4"),
    },
    "hyperliquid": {
        ("BTC", "spot"): ("UBTC", "7.25"),  # the Unit token, read as the coin it wraps
        ("HYPE", "spot"): ("HYPE", "30"),
        ("USDC", "spot"): ("USDC", "1750"),  # total: hold 250 is part of it
        # accountValue: the collateral 2000 and the positions' PnL -120.5 + 300.25.
        ("USDC", "futures"): ("USDC", "2179.75"),
        # delegated 100 + undelegated 5 + the unstaking queue's 20.
        ("HYPE", "staking"): ("HYPE", "125"),
        ("USDC", "earn"): ("USDC", "1000"),  # a vault's equity, locked until 2027-01-01
    },
    "kucoin": {
        ("BTC", "spot"): ("BTC", "6"),
        ("KCS", "spot"): ("KCS", "40"),
        ("USDT", "spot"): ("USDT", "1500"),
        ("USDT", "funding"): ("USDT", "800"),
        ("USDT", "margin"): ("USDT", "599.2"),  # total 1000 - liability 400 - interest 0.8
        ("USDT", "futures"): ("USDT", "5075.25"),  # marginBalance 5000 + unrealisedPNL 75.25
        ("KCS", "staking"): ("KCS", "60"),
    },
    "bitfinex": {
        ("BTC", "spot"): ("BTC", "1.25"),
        ("USDT", "spot"): ("UST", "3000"),  # Bitfinex's UST is USDT
        ("LEO", "spot"): ("LEO", "100"),
        ("USD", "funding"): ("USD", "10000"),  # lent out or not: the funding wallet's balance
        ("USDT", "funding"): ("UST", "1500"),
        # The margin wallet 2000, its unsettled interest -1.5 and a losing position's PL -150.25.
        ("USD", "margin"): ("USD", "1848.25"),
        ("BTC", "margin"): ("BTC", "0.51"),  # 0.5 and a winning position's PL 0.01
        # The derivatives wallet (USTF0) 5000 and a derivatives position's PL 75.5.
        ("USDT", "futures"): ("USTF0", "5075.5"),
    },
    "gemini": {
        ("BTC", "spot"): ("BTC", "0.75"),
        ("USD", "spot"): ("USD", "10000"),
        ("GUSD", "spot"): ("GUSD", "5000"),  # the perpetuals' collateral: the ledger's figure
        ("ETH", "staking"): ("ETH", "3.5"),
        ("SOL", "staking"): ("SOL", "40"),
        ("GUSD", "futures"): ("GUSD", "-310.4"),  # an open perpetual's unrealised PnL
    },
    "bitget": {
        ("BGB", "spot"): ("BGB", "300"),
        ("BTC", "spot"): ("BTC", "2"),  # available 1.5 + frozen 0.5
        ("USDT", "spot"): ("USDT", "2500"),
        ("USDT", "funding"): ("USDT", "400"),
        ("ETH", "funding"): ("ETH", "0.75"),  # available 0.5 + frozen 0.25
        ("USDT", "earn"): ("USDT", "3000"),
        ("BTC", "earn"): ("BTC", "0.1"),
        # cross: 500 - 800 borrowed - 1.25 interest; isolated BTCUSDT: 100 - 250 borrowed.
        ("USDT", "margin"): ("USDT", "-451.25"),
        ("ETH", "margin"): ("ETH", "2"),
        ("BTC", "margin"): ("BTC", "0.5"),
        # accountEquity per productType: the wallet and its unrealised PnL, both futures.
        ("USDT", "futures"): ("USDT", "4879.5"),  # 5000 - 120.5
        ("BTC", "futures"): ("BTC", "0.32"),  # 0.3 + 0.02
        ("USDC", "futures"): ("USDC", "1015"),  # 1000 + 15
    },
    "gate": {
        ("BTC", "spot"): ("BTC", "2.25"),
        ("USDT", "spot"): ("USDT", "3200"),
        ("GT", "spot"): ("GT", "150"),
        ("ETH", "margin"): ("ETH", "1.5"),
        ("USDT", "margin"): ("USDT", "-200.75"),  # 400 - 600 borrowed - 0.75 interest
        # total + unrealised_pnl; the delivery account was never opened (USER_NOT_FOUND).
        ("USDT", "futures"): ("USDT", "2419.75"),  # 2500 - 80.25
        ("BTC", "futures"): ("BTC", "0.415"),  # 0.4 + 0.015
        ("USDT", "options"): ("USDT", "345.5"),  # total 300 + position_value 45.5
        ("USDT", "earn"): ("USDT", "1200"),
        ("BTC", "earn"): ("BTC", "0.05"),
        ("ETH", "staking"): ("ETH", "3"),
    },
    "cryptocom": {
        ("BTC", "spot"): ("BTC", "7"),
        ("CRO", "spot"): ("CRO", "10000"),
        ("ETH", "margin"): ("ETH", "-1.501"),  # borrowed 1.5 with 0.001 interest
        ("USD", "spot"): ("USD", "2500"),
        ("USD", "futures"): ("USD", "125.75"),  # the session's unrealised PnL, apart
        ("USDT", "spot"): ("USDT", "1000"),
        ("SOL", "staking"): ("SOL.staked", "30"),
    },
    "bitstamp": {
        ("BTC", "spot"): ("btc", "8.5"),
        ("USD", "spot"): ("usd", "5000"),
        ("XRP", "spot"): ("xrp", "1000"),
        ("EUR", "spot"): ("eur", "250.123456789012345678"),
        ("ETH", "staking"): ("ETH", "3"),
        ("SOL", "staking"): ("SOL", "12.5"),
        # A JSON number on the wire (Bitstamp's Earn amounts): every digit kept.
        ("USDC", "earn"): ("USDC", "2000.000000000000000001"),
    },
    "deribit": {
        # The cash balance, the futures session PnL and the options value apart: each
        # currency's three rows add up to its equity.
        ("BTC", "spot"): ("BTC", "6.5"),
        ("BTC", "futures"): ("BTC", "0.25"),
        ("BTC", "options"): ("BTC", "0.4"),
        ("ETH", "spot"): ("ETH", "10"),
        ("ETH", "futures"): ("ETH", "-1.5"),
        ("ETH", "options"): ("ETH", "-0.8"),  # short options: a liability
        ("SOL", "spot"): ("SOL", "30"),
        ("USDC", "margin"): ("USDC", "-2500"),  # a cross-collateral borrowing
    },
    "krakenfutures": {
        ("BTC", "funding"): ("xbt", "2.5"),  # the holding (cash) wallet
        ("USD", "funding"): ("usd", "1200"),
        # Collateral: flex XBT 0.8 and the fi_xbtusd account's 1.2.
        ("BTC", "margin"): ("XBT+xbt", "2"),
        ("BTC", "futures"): ("xbt", "0.05"),  # fi_xbtusd: pv - balance
        ("ETH", "margin"): ("eth", "3"),
        ("ETH", "futures"): ("eth", "-0.2"),
        ("USD", "margin"): ("USD", "25000"),
        ("USDT", "margin"): ("USDT", "-150"),  # a flex debt the other collateral covers
        ("USD", "futures"): ("USD", "-267.75"),  # flex totalUnrealized, in USD
    },
    "mexc": {
        ("BTC", "spot"): ("BTC", "1.75"),
        ("MX", "spot"): ("MX", "1200"),
        ("USDT", "spot"): ("USDT", "3000.123456789012345678"),
        # equity: the wallet 2500 and a winning position of 150.75; 0.4 BTC and a losing -0.015.
        ("USDT", "futures"): ("USDT", "2650.75"),
        ("BTC", "futures"): ("BTC", "0.385"),
    },
    "htx": {
        ("BTC", "spot"): ("btc", "3.0"),
        ("TRX", "spot"): ("trx", "40000"),
        ("USDT", "spot"): ("usdt", "5000.123456789012345678"),
        ("BTC", "margin"): ("btc", "0.2"),
        ("USDT", "margin"): ("usdt", "1998.75"),  # 3000 less a loan of 1000 and 1.25 interest
        ("USDT", "funding"): ("usdt", "750"),  # otc
        ("USDT", "earn"): ("usdt", "2000"),  # deposit-earning
        ("ETH", "earn"): ("eth", "1.5"),
        # The point account (fee credits) is not read. Futures: the equity, PnL of each sign.
        ("USDT", "futures"): ("USDT", "4874.5"),  # USDT-M: 5000 and -125.5
        ("BTC", "futures"): ("BTC", "0.42"),  # coin-M swap: 0.4 and 0.02
        ("ETH", "futures"): ("ETH", "1.95"),  # coin-M futures: 2 and -0.05
    },
}


def account(exchange, label=None):
    return next(
        a
        for a in RAW["accounts"]
        if a["exchange"] == exchange and (label is None or a["label"] == label)
    )


def creds(exchange, **overrides):
    raw = account(exchange)
    if exchanges.required_credentials(exchange) == ("walletAddress",):
        return {"walletAddress": raw["api_key"]} | overrides  # read by address alone
    found = {"apiKey": raw["api_key"], "secret": raw["secret"], "password": raw.get("password")}
    return {k: v for k, v in (found | overrides).items() if v}


@pytest.fixture(scope="module")
def emulator():
    exchanges.clear_markets_cache()
    with run_emulator(SCENARIO) as emu:
        yield emu
    exchanges.clear_markets_cache()


@pytest.fixture(autouse=True)
def clean(emulator):
    emulator.clear_faults()
    emulator.reset_stats()
    yield
    emulator.clear_faults()


@pytest.fixture
def sync(emulator):
    def run(exchange, wallets=exchanges.WALLETS, timeout_ms=2000, **overrides):
        return fetch_account(
            exchange,
            creds(exchange, **overrides),
            wallets,
            emulator_url=emulator.url,
            timeout_ms=timeout_ms,
        )

    return run


def by_key(result):
    return {(b.code, b.product): (b.reported_code, b.amount) for b in result.balances}


@pytest.mark.parametrize("exchange", list(EXPECTED))
def test_every_wallet_lands_exact_with_its_product(sync, exchange):
    want = {k: (code, D(v)) for k, (code, v) in EXPECTED[exchange].items()}
    assert by_key(sync(exchange)) == want


def test_kucoin_locked_staking_carries_the_reported_end_date(sync):
    staking = next(b for b in sync("kucoin").balances if b.product == "staking")
    until = datetime(2027, 1, 1, tzinfo=UTC)
    assert (staking.code, staking.amount) == ("KCS", D("60"))
    assert staking.locks == (Lock(D("60"), until),)


def test_eighteen_decimal_amount_survives_exactly(sync):
    dai = by_key(sync("binance"))[("DAI", "spot")][1]
    assert str(dai) == "1234567.123456789012345678"


# The trading accounts whose equity includes open positions' PnL: (our wallet, the scenario's).
EQUITY_WALLETS = {"bybit": ("spot", "unified"), "okx": ("spot", "trading")}


def scenario_wallet(exchange, wallet):
    return Scenario.load(SCENARIO).account(exchange, account(exchange)["api_key"]).wallet(wallet)


@pytest.mark.parametrize("exchange", list(EQUITY_WALLETS))
def test_open_positions_pnl_is_futures_and_the_total_is_still_equity(sync, exchange):
    wallet, kept_as = EQUITY_WALLETS[exchange]
    found = by_key(sync(exchange, [wallet]))
    for code, holding in scenario_wallet(exchange, kept_as).items():
        products = {p: amount for (c, p), (_, amount) in found.items() if c == code}
        booked = products.get("spot", products.get("margin"))
        assert booked == holding.net  # the wallet, neither inflated nor deflated by positions
        assert products.get("futures", D(0)) == holding.upl
        assert sum(products.values()) == holding.equity  # the claim on the exchange, as sent


def test_bybit_spot_is_not_inflated_by_a_winning_position(sync):
    found = by_key(sync("bybit", ["spot"]))
    # equity 5.125 BTC on the wire: 5 in the wallet, 0.125 unrealised on open positions.
    assert found[("BTC", "spot")] == ("BTC", D("5"))
    assert found[("BTC", "futures")] == ("BTC", D("0.125"))
    # equity 657.25 USDT: a wallet of 699.5 net of its debt, and a losing position of -42.25.
    assert found[("USDT", "margin")] == ("USDT", D("699.5"))
    assert found[("USDT", "futures")] == ("USDT", D("-42.25"))


def test_binance_futures_is_the_margin_balance_wallet_plus_pnl(sync):
    holding = scenario_wallet("binance", "future")["USDT"]
    found = by_key(sync("binance", ["futures"]))
    assert found == {("USDT", "futures"): ("USDT", D("3024.5"))}
    assert found[("USDT", "futures")][1] == holding.total + holding.upl == D("3100") + D("-75.5")


def test_mexc_futures_is_the_equity_and_spot_is_untouched_by_positions(sync):
    found = by_key(sync("mexc", ["spot", "futures"]))
    for code, holding in scenario_wallet("mexc", "futures").items():
        assert found[(code, "futures")][1] == holding.equity == holding.total + holding.upl
    spot = scenario_wallet("mexc", "spot")
    assert {c: a for (c, p), (_, a) in found.items() if p == "spot"} == {
        code: holding.total for code, holding in spot.items()
    }


def test_htx_reads_each_listed_account_once_and_leaves_out_points(sync, emulator):
    sync("htx")  # markets loaded
    emulator.reset_stats()
    found = by_key(sync("htx", ["spot", "margin", "funding", "earn"]))
    assert emulator.count(exchange="htx", path="/v1/account/accounts") == 1
    assert emulator.count(exchange="htx", path="/v1/account/accounts/10005/balance") == 0
    assert found[("USDT", "spot")] == ("usdt", D("5000.123456789012345678"))  # not + 99 points
    assert found[("USDT", "margin")][1] == D("3000") - D("1000") - D("1.25")


def test_htx_quotes_are_the_tickers_numbers_as_written(sync):
    # /market/tickers sends 0.123456789012345678 as a JSON number: a float keeps 17 digits.
    assert sync("htx").quotes["TRX/USDT"] == D("0.123456789012345678")


def test_binance_margin_debt_is_negative_net_of_interest(sync):
    assert by_key(sync("binance"))[("USDT", "margin")][1] == D("-1001.5")


def test_zero_balances_are_dropped(sync):
    assert all(b.amount != 0 for b in sync("binance").balances)
    assert "DUST" not in {b.code for b in sync("binance").balances}


def test_kraken_codes_normalised_and_kfee_dropped(sync):
    result = sync("kraken")
    assert {b.code for b in result.balances} == {"BTC", "ETH", "DOT", "SOL", "USDC", "USD"}
    assert not any("KFEE" in b.reported_code for b in result.balances)


def test_kraken_spot_only_leaves_out_earn_and_staking(sync, emulator):
    result = sync("kraken", wallets=["spot"])
    assert {b.product for b in result.balances} == {"spot"}
    assert emulator.count(exchange="kraken", kind="balance") == 1


def test_unselected_wallets_are_not_requested(sync, emulator):
    sync("binance")  # markets loaded
    emulator.reset_stats()
    result = sync("binance", wallets=["spot"])
    assert {b.product for b in result.balances} == {"spot"}
    assert result.request_count == emulator.stats()["total"] == 3  # permissions, spot, tickers


def test_quotes_are_exact_for_held_bases_and_stable_pairs(sync):
    assert sync("binance").quotes == {
        "BNB/USDT": D("700"),
        "BTC/USDT": D("100000"),
        "BTC/USDC": D("100010.5"),
        "DAI/USDT": D("0.99987654321"),
        "ETH/USDT": D("4000"),
        "USDC/USDT": D("0.9998"),
    }
    assert sync("kraken").quotes["SOL/USD"] == D("150.25")


def test_fetch_quotes_prices_from_a_reference_exchange(emulator):
    quotes = fetch_quotes("kraken", ["btc", "USDT"], emulator_url=emulator.url)
    assert quotes == {"BTC/USD": D("100000"), "USDT/USD": D("1.0001"), "USDC/USD": D("0.9999")}
    assert emulator.count(exchange="kraken", kind="balance") == 0


def test_key_permissions_reported_where_the_exchange_tells(sync, emulator):
    full = {"read": True, "trade": True, "withdraw": True}
    assert sync("binance").key_permissions == full
    assert sync("bybit").key_permissions == full
    assert sync("okx").key_permissions == {"read": True, "trade": True, "withdraw": False}
    assert sync("kucoin").key_permissions == full
    assert sync("kraken").key_permissions is None
    assert sync("coinbase").key_permissions is None
    assert sync("bitfinex").key_permissions == {"read": True, "trade": True, "withdraw": False}
    assert sync("gemini").key_permissions == {"read": True, "trade": True, "withdraw": False}
    assert sync("cryptocom").key_permissions is None
    assert sync("bitstamp").key_permissions is None
    assert sync("mexc").key_permissions == {"read": True, "trade": True, "withdraw": False}
    assert sync("htx").key_permissions == {"read": True, "trade": False, "withdraw": False}


def test_read_only_binance_key_is_visible_as_such(emulator):
    raw = account("binance", "read-only binance key")
    result = fetch_account(
        "binance",
        {"apiKey": raw["api_key"], "secret": raw["secret"]},
        ["spot"],
        emulator_url=emulator.url,
    )
    assert result.key_permissions == {"read": True, "trade": False, "withdraw": False}


@pytest.mark.parametrize("exchange", list(SYNC_REQUESTS))
def test_request_count_matches_the_emulator(sync, emulator, exchange):
    sync(exchange)  # markets loaded
    emulator.reset_stats()
    assert sync(exchange).request_count == emulator.stats()["total"] == SYNC_REQUESTS[exchange]


def test_markets_load_once_per_exchange_across_syncs(sync, emulator):
    exchanges.clear_markets_cache()
    for exchange in MARKET_REQUESTS:
        for _ in range(3):
            sync(exchange)
        counted = MARKET_REQUESTS[exchange] - COUNTED_AS_TICKERS.get(exchange, 0)
        assert emulator.count(exchange=exchange, kind="markets") == counted
    assert dict(exchanges.market_requests_by_exchange) == MARKET_REQUESTS
    assert exchanges.market_requests == sum(MARKET_REQUESTS.values())


def test_concurrent_first_syncs_share_one_market_load(sync, emulator):
    exchanges.clear_markets_cache()
    threads = [threading.Thread(target=sync, args=("kraken",)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert emulator.count(exchange="kraken", kind="markets") == 2
    assert emulator.count(exchange="kraken", kind="balance") == 4


def test_revoked_after_success_is_authentication_not_rate_limit(sync, emulator):
    doomed = account("binance") | {"api_key": "xt-soon-revoked-key"}
    emulator.update_scenario({"accounts": [doomed]})
    assert sync("binance", apiKey="xt-soon-revoked-key").balances
    emulator.update_scenario({"accounts": [doomed | {"revoked": True}]})
    with pytest.raises(ExchangeFault) as caught:
        sync("binance", apiKey="xt-soon-revoked-key")
    assert caught.value.kind == "authentication"
    assert caught.value.credentials_broken


def test_without_emulator_urls_stay_https_and_limiter_on():
    client = exchanges.build_client("okx", {"apiKey": "k", "secret": "s", "password": "p"})
    urls = json.dumps(client.urls["api"])
    assert "127.0.0.1" not in urls and "https://" in urls
    assert client.enableRateLimit is True


def test_with_emulator_every_url_is_rewritten(emulator):
    for exchange in EXPECTED:
        client = exchanges.build_client(exchange, emulator_url=emulator.url)
        assert leftover_https(client.urls["api"]) == []
        assert client.enableRateLimit is False


def test_supported_exchanges_are_those_with_their_own_calls():
    assert exchanges.SUPPORTED_EXCHANGES == (
        "binance",
        "kraken",
        "okx",
        "coinbase",
        "bybit",
        "hyperliquid",
        "kucoin",
        "bitfinex",
        "gemini",
        "bitget",
        "gate",
        "cryptocom",
        "bitstamp",
        "deribit",
        "krakenfutures",
        "htx",
        "mexc",
    )


def test_supported_wallets_per_exchange():
    binance = ("spot", "funding", "earn", "margin", "futures")  # every wallet there is
    assert exchanges.supported_wallets("binance") == binance
    assert exchanges.supported_wallets("kraken") == ("spot", "earn")
    assert exchanges.supported_wallets("okx") == ("spot", "funding", "earn")
    assert exchanges.supported_wallets("coinbase") == ("spot",)
    assert exchanges.supported_wallets("hyperliquid") == ("spot", "earn", "futures")
    assert exchanges.supported_wallets("kucoin") == binance
    assert exchanges.supported_wallets("bitfinex") == ("spot", "funding", "margin", "futures")
    assert exchanges.supported_wallets("gemini") == ("spot", "earn", "futures")
    assert exchanges.supported_wallets("bitget") == ("spot", "funding", "earn", "margin", "futures")
    assert exchanges.supported_wallets("gate") == ("spot", "earn", "margin", "futures", "options")
    assert exchanges.supported_wallets("cryptocom") == ("spot", "earn")
    assert exchanges.supported_wallets("bitstamp") == ("spot", "earn")
    assert exchanges.supported_wallets("deribit") == ("spot", "futures", "options")
    assert exchanges.supported_wallets("krakenfutures") == ("funding", "margin", "futures")
    assert exchanges.supported_wallets("mexc") == ("spot", "futures")
    assert exchanges.supported_wallets("htx") == ("spot", "funding", "earn", "margin", "futures")
    # Without a dedicated adapter: spot through the generic one; not in ccxt: nothing.
    assert exchanges.supported_wallets("bitbank") == ("spot",)
    assert exchanges.supported_wallets("ftx") == ()


def test_unsupported_exchange_is_an_exchange_error():
    with pytest.raises(ExchangeFault) as caught:
        fetch_account("ftx", {"apiKey": "k", "secret": "s"}, ["spot"])
    assert (caught.value.kind, caught.value.retryable) == ("exchange_error", False)


def test_unknown_wallet_name_is_a_programming_error():
    with pytest.raises(ValueError, match="savings"):
        fetch_account("binance", {}, ["savings"])


def test_is_known_exchange():
    assert exchanges.is_known_exchange("kraken")
    assert not exchanges.is_known_exchange("ftx-but-not-really")


# ----------------------------------------------------------------------------- faults

AUTH = ("authentication", False, True)
WRONG_SECRETS = {  # valid base64, wrong
    "kraken": "d3Jvbmctc2VjcmV0LXh4",
    "krakenfutures": "d3Jvbmctc2VjcmV0LXh4",
}
RATE_LIMIT_BODIES = {"okx": {"code": "50011", "msg": "Too Many Requests", "data": []}}
HTML = {"content_type": "text/html"}
TRUNCATED = '{"result": {"XXBT": {"bal'
BAD = ("bad_response",)
FAULTS = {
    "401": (lambda ex: {"status": 401, "body": ""}, AUTH),
    "429": (lambda ex: {"status": 429, "body": RATE_LIMIT_BODIES.get(ex, "")}, ("rate_limit",)),
    "503": (lambda ex: {"status": 503, "body": "<html>down</html>"} | HTML, ("maintenance",)),
    "timeout": (lambda ex: {"delay": 0.6}, ("timeout",)),
    "closed": (lambda ex: {"close": True}, ("network",)),
    "empty-200": (lambda ex: {"status": 200, "body": ""}, BAD),
    "truncated-200": (lambda ex: {"status": 200, "body": TRUNCATED}, BAD),
    "html-200": (lambda ex: {"status": 200, "body": "<html>hi</html>"} | HTML, BAD),
    "no-balances-200": (lambda ex: {"status": 200, "body": "{}"}, BAD),
}
FAULT_EXCHANGES = (
    "binance",
    "kraken",
    "okx",
    "bybit",
    "bitfinex",
    "gemini",
    "cryptocom",
    "bitstamp",
    "deribit",
    "krakenfutures",
)


def expected_fault(outcome):
    if len(outcome) == 3:
        return outcome
    return (outcome[0], True, False)  # every non-credential fault here is retryable


def assert_fault(caught, exchange, outcome):
    fault = caught.value
    assert (fault.kind, fault.retryable, fault.credentials_broken) == expected_fault(outcome)
    assert exchanges.DISPLAY_NAMES[exchange] in fault.message
    secret = creds(exchange)["secret"]
    assert secret not in fault.message
    assert creds(exchange)["apiKey"] not in fault.message


@pytest.mark.parametrize("exchange", FAULT_EXCHANGES)
@pytest.mark.parametrize("fault", list(FAULTS))
def test_emulated_fault_becomes_the_documented_exchange_fault(sync, emulator, exchange, fault):
    options, outcome = FAULTS[fault]
    sync(exchange)  # markets loaded: the fault hits the balance request
    emulator.add_fault(exchange, BALANCE_PATHS[exchange], **options(exchange))
    with pytest.raises(ExchangeFault) as caught:
        sync(exchange, timeout_ms=200)
    assert_fault(caught, exchange, outcome)


@pytest.mark.parametrize("exchange", FAULT_EXCHANGES)
def test_wrong_secret_is_authentication(sync, exchange):
    with pytest.raises(ExchangeFault) as caught:
        sync(exchange, secret=WRONG_SECRETS.get(exchange, "wrong-secret"))
    assert_fault(caught, exchange, AUTH)


@pytest.mark.parametrize("exchange", FAULT_EXCHANGES)
def test_unknown_key_is_authentication(sync, exchange):
    with pytest.raises(ExchangeFault) as caught:
        sync(exchange, apiKey="xt-nobody-knows-this-key")
    assert_fault(caught, exchange, AUTH)
    assert "…-key" in caught.value.message  # the key's end only


def test_kraken_invalid_signature_is_documented_as_authentication(sync):
    with pytest.raises(ExchangeFault) as caught:
        sync("kraken", secret=WRONG_SECRETS["kraken"])
    assert caught.value.error_class == "ExchangeError"
    assert "Replace the key" in caught.value.message


def test_kraken_secret_not_base64_is_authentication(sync):
    with pytest.raises(ExchangeFault) as caught:
        sync("kraken", secret="not base64!")
    assert (caught.value.kind, caught.value.error_class) == ("authentication", "binascii.Error")
    assert "not base64!" not in caught.value.message


def test_missing_secret_is_authentication(sync):
    with pytest.raises(ExchangeFault) as caught:
        sync("okx", secret="")
    assert caught.value.kind == "authentication"


def test_wrong_okx_passphrase_is_authentication(sync):
    with pytest.raises(ExchangeFault) as caught:
        sync("okx", password="wrong-pass")
    assert caught.value.kind == "authentication"
    assert "wrong-pass" not in caught.value.message


def test_fault_on_a_later_wallet_fails_the_whole_sync(sync, emulator):
    sync("binance")
    emulator.add_fault("binance", "/sapi/v1/staking/position", status=200, body="")
    with pytest.raises(ExchangeFault) as caught:
        sync("binance")
    assert caught.value.kind == "bad_response"


def test_failed_market_load_is_a_fault_and_is_retried(sync, emulator):
    exchanges.clear_markets_cache()
    emulator.add_fault("bybit", "/v5/market/instruments-info", status=503, body="")
    with pytest.raises(ExchangeFault) as caught:
        sync("bybit")
    assert caught.value.kind == "maintenance"
    assert sync("bybit").balances


def test_fault_message_reads_for_a_fund_manager(sync, emulator):
    sync("binance")
    emulator.add_fault("binance", BALANCE_PATHS["binance"], status=401, body="")
    with pytest.raises(ExchangeFault) as caught:
        sync("binance")
    message = caught.value.message
    assert message.startswith("Binance rejected the API key ending in …0001 or its secret (")
    assert message.endswith("Replace the key; syncing is paused until then.")
    assert "signature=" not in message


def test_coinbase_accounts_beyond_one_page_are_all_read(sync, emulator):
    # 260 accounts at 250 a page: the emulator pages as Coinbase does, and the cursor is followed.
    coins = {f"C{i:03d}": f"{i + 1}.5" for i in range(260)}
    key = "xt-coinbase-many-accounts"
    raw = {"exchange": "coinbase", "api_key": key, "secret": "xt-coinbase-secret"}
    emulator.update_scenario({"accounts": [raw | {"balances": {"spot": coins}}]})
    found = fetch_account(
        "coinbase",
        {"apiKey": key, "secret": "xt-coinbase-secret"},
        ["spot"],
        emulator_url=emulator.url,
    )
    assert {(b.code, b.product): b.amount for b in found.balances} == {
        (code, "spot"): D(amount) for code, amount in coins.items()
    }
    assert emulator.count(exchange="coinbase", kind="balance") == 2


def test_deribit_cash_futures_and_options_add_up_to_each_equity(sync):
    found = by_key(sync("deribit"))
    held = Scenario.load(SCENARIO).account("deribit", account("deribit")["api_key"])
    options = held.wallet("options")
    for code, holding in held.wallet("account").items():
        products = {p: amount for (c, p), (_, amount) in found.items() if c == code}
        assert products.get("spot", products.get("margin")) == holding.net
        option_value = options[code].total if code in options else D(0)
        assert sum(products.values()) == holding.net + holding.upl + option_value


def test_deribit_spot_only_reads_neither_futures_nor_options(sync, emulator):
    found = by_key(sync("deribit", ["spot"]))
    assert {product for _, product in found} == {"spot", "margin"}
    assert emulator.count(exchange="deribit", kind="balance") == 1


def test_krakenfutures_margin_and_pnl_add_up_to_each_portfolio_value(sync):
    found = by_key(sync("krakenfutures", ["margin", "futures"]))
    single = scenario_wallet("krakenfutures", "single")
    eth = single["eth"]
    assert found[("ETH", "margin")][1] + found[("ETH", "futures")][1] == eth.total + eth.upl
    flex = scenario_wallet("krakenfutures", "flex")
    assert found[("USD", "futures")][1] == sum(h.upl for h in flex.values())

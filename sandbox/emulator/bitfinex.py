"""bitfinex v2: wallets, positions, key permissions; pairs and currencies (conf), tickers.

Traced by running ccxt's class against the emulator: loading markets asks api-pub for two conf
documents (the pairs: spot info, futures info, securities, margin list; the currencies: eleven
lists), fetch_tickers for /v2/tickers?symbols=tBTCUSD,...; the private calls are POSTs to
api.bitfinex.com /v2/auth/r/{wallets,positions,permissions}.

Answers are arrays of arrays with the documented field order, and amounts are JSON numbers, as
Bitfinex sends them: written from the scenario's decimal text, never through a float. Codes are
Bitfinex's own (UST is USDT, USTF0 the derivatives wallet's USDT): the scenario holds them as
reported. Scenario wallets: exchange, funding, margin, derivatives (served as margin rows of
F0 currencies). A holding's `upl` is an open position's PL in that currency (margin positions
for the margin wallet, derivatives positions for the derivatives wallet), `interest` the margin
wallet's UNSETTLED_INTEREST and `borrowed` the position's FUNDING.

The key (bfx-apikey) and the signature (bfx-signature: hex HMAC-SHA384 of "/api/" + path +
bfx-nonce + body, ccxt's bitfinex.sign) are verified; a wrong one is answered as Bitfinex does,
500 ["error", 10100, "apikey: invalid"] (or "apikey: digest invalid").
"""

from __future__ import annotations

import json
from typing import Any

from sandbox.emulator.common import (
    ACCOUNT,
    BALANCE,
    MARKETS,
    TICKER,
    ExchangeSpec,
    Reply,
    Request,
    Route,
    hmac_digest,
    now_ms,
    same,
)
from sandbox.emulator.scenario import Account, Holding, Scenario, fmt, split_symbol

NAME = "bitfinex"
# The conf documents ccxt's fetch_markets and fetch_currencies ask for.
PAIR_LABELS = "pub:info:pair,pub:info:pair:futures,pub:list:pair:securities,pub:list:pair:margin"
CURRENCY_LABELS = (
    "pub:list:currency,pub:map:currency:sym,pub:map:currency:label,pub:map:currency:unit,"
    "pub:map:currency:undl,pub:map:currency:pool,pub:map:currency:explorer,"
    "pub:map:currency:tx:fee,pub:map:tx:method,pub:info:tx:status,pub:list:currency:margin"
)
# Bitfinex's ids for the unified codes the scenario's price symbols use (ccxt's table, reversed).
IDS = {"USDT": "UST", "USDC": "UDC", "DASH": "DSH", "IOTA": "IOT", "TUSD": "TSD"}
DERIVATIVE = "F0"


class Number(str):
    """Decimal text written into the JSON as a number, exactly as it reads."""


def number(value: Any) -> Number:
    return Number(fmt(value))


def dump(value: Any) -> str:
    if isinstance(value, Number):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(dump(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dump(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def reply(payload: Any, status: int = 200) -> Reply:
    return Reply(status, dump(payload).encode())


def error(code: int, message: str, status: int = 500) -> Reply:
    return reply(["error", code, message], status)


def authenticate(request: Request, scenario: Scenario) -> Account | Reply:
    account = scenario.account(NAME, request.header("bfx-apikey"))
    if account is None or account.revoked:
        return error(10100, "apikey: invalid")
    if not same(signature(account.secret, request), request.header("bfx-signature")):
        return error(10100, "apikey: digest invalid")
    return account


def signature(secret: str, request: Request) -> str:
    """hex HMAC-SHA384 of '/api' + path (/v2/auth/r/...) + nonce + body."""
    message = "/api" + request.path + request.header("bfx-nonce") + request.text
    return hmac_digest(secret.encode(), message.encode(), "sha384").hex()


def currency_id(code: str) -> str:
    return IDS.get(code, code)


def pair_id(base: str, quote: str) -> str:
    """BTCUSD for two three-letter ids, else BASE:QUOTE (as Bitfinex writes longer ones)."""
    return base + quote if len(base) == 3 and len(quote) == 3 else f"{base}:{quote}"


def market_id(symbol: str) -> str:
    base, quote = split_symbol(symbol)
    return pair_id(currency_id(base), currency_id(quote))


def conf(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    labels = request.path.removeprefix("/v2/conf/")
    if labels == PAIR_LABELS:
        info = [None, None, None, "0.00006", "2000.0", None, None, None, None, None, None, None]
        pairs = [[market_id(s), info] for s in scenario.symbols(NAME)]
        return reply([pairs, [], [], [market_id(s) for s in scenario.symbols(NAME)]])
    ids = sorted({currency_id(c) for c in scenario.codes(NAME)})
    return reply([ids, [], [[i, i] for i in ids], [], [], [], [], [], [], [], []])


def tickers(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    wanted = request.query.get("symbols", "ALL")
    rows = []
    for symbol, price in scenario.symbols(NAME).items():
        ticker_id = "t" + market_id(symbol)
        if wanted == "ALL" or ticker_id in wanted.split(","):
            p = number(price)
            # SYMBOL, BID, BID_SIZE, ASK, ASK_SIZE, DAILY_CHANGE, DAILY_CHANGE_RELATIVE,
            # LAST_PRICE, VOLUME, HIGH, LOW
            rows.append([ticker_id, p, Number("1"), p, Number("1"), Number("0"), Number("0"),
                         p, Number("1000"), p, p])  # fmt: skip
    return reply(rows)


def wallet_row(kind: str, code: str, h: Holding) -> list[Any]:
    # TYPE, CURRENCY, BALANCE, UNSETTLED_INTEREST, AVAILABLE_BALANCE, LAST_CHANGE, TRADE_DETAILS
    return [kind, code, number(h.total), number(h.interest), number(h.free), None, None]


def wallets(request: Request, scenario: Scenario, account: Account) -> Reply:
    rows = [wallet_row("exchange", c, h) for c, h in account.wallet("exchange").items()]
    rows += [wallet_row("funding", c, h) for c, h in account.wallet("funding").items()]
    rows += [wallet_row("margin", c, h) for c, h in account.wallet("margin").items()]
    rows += [wallet_row("margin", c, h) for c, h in account.wallet("derivatives").items()]
    return reply(rows)


def position(symbol: str, kind: int, position_id: int, h: Holding) -> list[Any]:
    return [
        symbol, "ACTIVE", Number("1"), Number("100"), number(h.borrowed), 0, number(h.upl),
        Number("0"), Number("50"), Number("2"), None, position_id, now_ms(), now_ms(), None,
        kind, None, number(h.free) if kind else Number("0"), Number("0"), None,
    ]  # fmt: skip


def margin_symbol(code: str) -> str:
    """A pair quoted in `code`, so that its PL is in that currency."""
    return "t" + pair_id("ETH" if code == "BTC" else "BTC", code)


def positions(request: Request, scenario: Scenario, account: Account) -> Reply:
    rows = [
        position(margin_symbol(c), 0, 1000 + i, h)
        for i, (c, h) in enumerate(account.wallet("margin").items())
        if h.upl
    ]
    rows += [
        position(f"tBTC{DERIVATIVE}:{c}", 1, 2000 + i, h)
        for i, (c, h) in enumerate(account.wallet("derivatives").items())
        if h.upl
    ]
    return reply(rows)


SCOPES = ("account", "history", "orders", "positions", "funding", "settings", "wallets",
          "withdraw", "ui_withdraw", "bfxpay")  # fmt: skip


def permissions(request: Request, scenario: Scenario, account: Account) -> Reply:
    writes = {
        "orders": account.can("trade"),
        "positions": account.can("margin") or account.can("futures"),
        "funding": account.can("trade"),
        "wallets": account.can("transfer"),
        "withdraw": account.can("withdraw"),
    }
    return reply([[scope, 1, int(writes.get(scope, False))] for scope in SCOPES])


ROUTES = {
    ("GET", f"/v2/conf/{PAIR_LABELS}"): Route(MARKETS, conf),
    ("GET", f"/v2/conf/{CURRENCY_LABELS}"): Route(MARKETS, conf),
    ("GET", "/v2/tickers"): Route(TICKER, tickers),
    ("POST", "/v2/auth/r/wallets"): Route(BALANCE, wallets, private=True),
    ("POST", "/v2/auth/r/positions"): Route(BALANCE, positions, private=True),
    ("POST", "/v2/auth/r/permissions"): Route(ACCOUNT, permissions, private=True),
}

SPEC = ExchangeSpec(NAME, "bfx-apikey", ROUTES, authenticate)

"""bitstamp v2: account balances, Earn subscriptions, markets, tickers.

Private requests carry X-Auth ("BITSTAMP " + key), X-Auth-Nonce, X-Auth-Timestamp, X-Auth-Version
and X-Auth-Signature: hex HMAC-SHA256 of X-Auth + method + URL without its "https://" + content type
+ nonce + timestamp + version + body. Behind the emulator ccxt signs the URL it requests, which
keeps its "http://127.0.0.1:PORT/" prefix; against the real host it is "www.bitstamp.net/...":
both forms are accepted, nothing else.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from sandbox.emulator.common import (
    BALANCE,
    MARKETS,
    TICKER,
    ExchangeSpec,
    Reply,
    Request,
    Route,
    hmac_hex,
    json_reply,
    now_ms,
    same,
)
from sandbox.emulator.scenario import Account, Scenario, fmt, split_symbol

NAME = "bitstamp"
PREFIX = "BITSTAMP "
TIMESTAMP_WINDOW_MS = 150_000
EARN_WALLETS = {"staking": "STAKING", "lending": "LENDING"}


def error(code: str, reason: str, status: int = 403) -> Reply:
    return json_reply({"status": "error", "reason": reason, "code": code}, status)


def api_key(request: Request) -> str:
    auth = request.header("X-Auth")
    return auth[len(PREFIX) :] if auth.startswith(PREFIX) else ""


def signed_urls(request: Request) -> tuple[str, ...]:
    path = f"{request.host}{request.path}"
    return (path, f"http://{request.header('Host')}/{path}")


def signature(secret: str, request: Request, url: str) -> str:
    content_type = request.header("Content-Type") if request.body else ""
    message = (
        request.header("X-Auth") + request.method + url + content_type
        + request.header("X-Auth-Nonce") + request.header("X-Auth-Timestamp")
        + request.header("X-Auth-Version") + request.text
    )  # fmt: skip
    return hmac_hex(secret, message)


def authenticate(request: Request, scenario: Scenario) -> Account | Reply:
    account = scenario.account(NAME, api_key(request))
    if account is None or account.revoked:
        return error("API0001", "API key not found")
    timestamp = request.header("X-Auth-Timestamp")
    if not timestamp.isdigit() or abs(now_ms() - int(timestamp)) > TIMESTAMP_WINDOW_MS:
        return error("API0017", "X-Auth-Timestamp header is out of boundaries")
    given = request.header("X-Auth-Signature")
    if not any(same(signature(account.secret, request, u), given) for u in signed_urls(request)):
        return error("API0005", "Invalid signature")
    return account


def market(symbol: str) -> dict[str, Any]:
    base, quote = split_symbol(symbol)
    return {
        "name": symbol, "market_symbol": f"{base}{quote}".lower(), "base_currency": base,
        "base_decimals": 8, "counter_currency": quote, "counter_decimals": 8,
        "minimum_order_value": "10", "trading": "Enabled",
        "instant_order_counter_decimals": 2, "instant_and_market_orders": "Enabled",
        "description": f"{base} / {quote}", "market_type": "SPOT",
    }  # fmt: skip


def markets(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    return json_reply([market(s) for s in scenario.symbols(NAME)])


def ticker(symbol: str, price: str) -> dict[str, Any]:
    return {
        "timestamp": str(now_ms() // 1000), "open": price, "high": price, "low": price,
        "last": price, "volume": "1000", "vwap": price, "bid": price, "ask": price,
        "side": "0", "open_24": price, "percent_change_24": "0", "pair": symbol,
        "market_type": "SPOT",
    }  # fmt: skip


def tickers(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    return json_reply([ticker(s, fmt(p)) for s, p in scenario.symbols(NAME).items()])


def account_balances(request: Request, scenario: Scenario, account: Account) -> Reply:
    return json_reply(
        [
            {"currency": c.lower(), "total": fmt(h.total), "available": fmt(h.free),
             "reserved": fmt(h.locked)}
            for c, h in account.wallet("spot").items()
        ]
    )  # fmt: skip


NUMBER = re.compile(r'"\\u0000(-?[0-9A-Za-z.+-]+)"')


def numbers_reply(payload: Any) -> Reply:
    """JSON with every Decimal written as a number literal, exactly (no float on the way)."""

    def mark(value: Any) -> Any:
        if isinstance(value, Decimal):
            return "\x00" + fmt(value)
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    text = json.dumps(mark(payload), separators=(",", ":"))
    return Reply(200, NUMBER.sub(r"\1", text).encode())


def earn_subscriptions(request: Request, scenario: Scenario, account: Account) -> Reply:
    # The OpenAPI specification gives the amounts as JSON numbers.
    rows = [
        {"activation_period": "1 day", "amount": h.total, "amount_earned": Decimal(0),
         "available_amount": h.free, "currency": c, "distribution_period": "WEEKLY",
         "estimated_annual_yield": Decimal("3.5"), "minimum_subscription_amount": Decimal("0.001"),
         "term": "FLEXIBLE", "type": kind}
        for wallet, kind in EARN_WALLETS.items()
        for c, h in account.wallet(wallet).items()
    ]  # fmt: skip
    return numbers_reply(rows)


ROUTES = {
    ("GET", "/api/v2/markets/"): Route(MARKETS, markets),
    ("GET", "/api/v2/ticker/"): Route(TICKER, tickers),
    ("POST", "/api/v2/account_balances/"): Route(BALANCE, account_balances, private=True),
    ("GET", "/api/v2/earn/subscriptions/"): Route(BALANCE, earn_subscriptions, private=True),
}

SPEC = ExchangeSpec(NAME, "X-Auth", ROUTES, authenticate, account_key=api_key)

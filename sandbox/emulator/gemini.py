"""gemini: balances, staking balances, perpetuals' positions, roles; symbols and the price feed.

Traced by running ccxt's class against the emulator with the app's options (currencies not
scraped from the web site): loading markets asks for /v1/symbols, fetch_tickers for
/v1/pricefeed; the private calls are POSTs to /v1/balances, /v1/balances/staking, /v1/positions
and /v1/roles. Balances carry decimal strings, as Gemini sends them; the staking answer's amounts
are JSON numbers, as its documentation types them (written from the scenario's decimal text,
never through a float). Scenario wallets: exchange, staking, perps (a holding's `upl` is an open
perpetual position's unrealised PnL, settled in that currency: GUSD -> btcgusdperp).

The key (X-GEMINI-APIKEY), the payload (X-GEMINI-PAYLOAD: base64 JSON whose "request" is the
path, with a nonce) and the signature (X-GEMINI-SIGNATURE: hex HMAC-SHA384 of the base64 payload,
ccxt's gemini.sign) are verified; a wrong one is answered as Gemini does, 400 {"result": "error",
"reason": "InvalidApiKey" / "InvalidSignature" / "EndpointMismatch", "message": ...}.
"""

from __future__ import annotations

import base64
import binascii
import json

# Amounts written as JSON numbers from decimal text: the writer bitfinex's answers need too.
from sandbox.emulator.bitfinex import Number, dump, number
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
    json_reply,
    same,
)
from sandbox.emulator.scenario import Account, Scenario, fmt, split_symbol

NAME = "gemini"


def error(reason: str, message: str, status: int = 400) -> Reply:
    return json_reply({"result": "error", "reason": reason, "message": message}, status)


def authenticate(request: Request, scenario: Scenario) -> Account | Reply:
    account = scenario.account(NAME, request.header("X-GEMINI-APIKEY"))
    if account is None or account.revoked:
        return error("InvalidApiKey", "Invalid API key")
    payload = request.header("X-GEMINI-PAYLOAD")
    expected = hmac_digest(account.secret.encode(), payload.encode(), "sha384").hex()
    if not same(expected, request.header("X-GEMINI-SIGNATURE")):
        return error("InvalidSignature", "InvalidSignature")
    try:
        fields = json.loads(base64.b64decode(payload, validate=True))
    except (binascii.Error, ValueError):
        return error("InvalidJson", "Could not parse the payload")
    if not isinstance(fields, dict) or fields.get("request") != request.path:
        return error("EndpointMismatch", "EndpointMismatch")
    if not str(fields.get("nonce", "")).isdigit():
        return error("InvalidNonce", "Nonce must be a number")
    return account


def market_id(symbol: str) -> str:
    base, quote = split_symbol(symbol)
    return (base + quote).lower()


def symbols(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    return json_reply([market_id(s) for s in scenario.symbols(NAME)])


def pricefeed(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    return json_reply(
        [
            {"pair": market_id(s).upper(), "price": fmt(p), "percentChange24h": "0.0000"}
            for s, p in scenario.symbols(NAME).items()
        ]
    )


def balances(request: Request, scenario: Scenario, account: Account) -> Reply:
    return json_reply(
        [
            {"type": "exchange", "currency": c, "amount": fmt(h.total),
             "available": fmt(h.free), "availableForWithdrawal": fmt(h.free)}
            for c, h in account.wallet("exchange").items()
        ]
    )  # fmt: skip


PROVIDER = "62b21e17-2534-4b9f-afcf-b7edb609dd8d"


def staking(request: Request, scenario: Scenario, account: Account) -> Reply:
    rows = [
        {"type": "Staking", "currency": c, "balance": number(h.total), "available": Number("0"),
         "availableForWithdrawal": number(h.free),
         "balanceByProvider": {PROVIDER: {"balance": number(h.total)}}}
        for c, h in account.wallet("staking").items()
    ]  # fmt: skip
    return Reply(200, dump(rows).encode())


def positions(request: Request, scenario: Scenario, account: Account) -> Reply:
    return json_reply(
        [
            {"symbol": f"btc{c.lower()}perp", "instrument_type": "perp", "quantity": "0.2",
             "notional_value": "20000", "realised_pnl": "0", "unrealised_pnl": fmt(h.upl),
             "average_cost": "99000", "mark_price": "100000"}
            for c, h in account.wallet("perps").items()
            if h.upl
        ]
    )  # fmt: skip


def roles(request: Request, scenario: Scenario, account: Account) -> Reply:
    trader, fund_manager = account.can("trade"), account.can("withdraw")
    return json_reply(
        {"isAuditor": not (trader or fund_manager), "isFundManager": fund_manager,
         "isTrader": trader, "counterparty_id": "CPEMULATED"}
    )  # fmt: skip


ROUTES = {
    ("GET", "/v1/symbols"): Route(MARKETS, symbols),
    ("GET", "/v1/pricefeed"): Route(TICKER, pricefeed),
    ("POST", "/v1/balances"): Route(BALANCE, balances, private=True),
    ("POST", "/v1/balances/staking"): Route(BALANCE, staking, private=True),
    ("POST", "/v1/positions"): Route(BALANCE, positions, private=True),
    ("POST", "/v1/roles"): Route(ACCOUNT, roles, private=True),
}

SPEC = ExchangeSpec(NAME, "X-GEMINI-APIKEY", ROUTES, authenticate)

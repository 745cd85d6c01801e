"""latoken: the generic adapter's emulated exchange (ccxt's unified fetch_balance, no module of
ours), serving every request ccxt's latoken class makes on the way.

Chosen because its answers exercise everything the generic adapter guards: balance rows carry
the exchange's own `id` (a row repeated with two amounts is caught before ccxt keeps the last),
amounts are strings, and ccxt's table for it classes a refused timestamp (InvalidNonce), an
unavailable service in a 200 (ExchangeNotAvailable) and a rejected key (AuthenticationError).

Traced by running ccxt against the emulator: loading markets asks for the server time
(/v2/time, ccxt's adjustForTimeDifference), the currencies (/v2/currency) and the pairs
(/v2/pair); fetch_tickers asks for /v2/ticker; fetch_balance for /v2/auth/account, every
account of the user (https://api.latoken.com/doc/v2/#tag/Account/operation/getBalancesByUser),
of which ccxt keeps the ACCOUNT_TYPE_SPOT rows. Rows name their currency by latoken's own id (a
UUID), resolved through the currency list; the emulator derives a stable UUID per code.

The key (X-LA-APIKEY) and the signature (X-LA-SIGNATURE: hex HMAC-SHA512 of method + path +
urlencoded query, keyed with the secret; X-LA-DIGEST names the algorithm) are verified; a wrong
key or signature is answered as latoken does, 401 "invalid API key, signature or digest".
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any

from sandbox.emulator.common import (
    BALANCE,
    MARKETS,
    TICKER,
    ExchangeSpec,
    Reply,
    Request,
    Route,
    json_reply,
    now_ms,
    same,
)
from sandbox.emulator.scenario import Account, Holding, Scenario, fmt, split_symbol

NAME = "latoken"
CREATED = 1572912000000  # when every emulated currency and pair was listed
# The scenario's wallets and latoken's account types.
ACCOUNT_TYPES = {"spot": "ACCOUNT_TYPE_SPOT", "wallet": "ACCOUNT_TYPE_WALLET"}


def error(message: str, error_id: str = "BAD_REQUEST", status: int = 401) -> Reply:
    body = {"result": False, "message": message, "error": error_id, "status": "FAILURE"}
    return json_reply(body, status)


def authenticate(request: Request, scenario: Scenario) -> Account | Reply:
    account = scenario.account(NAME, request.header("X-LA-APIKEY"))
    if account is None or account.revoked:
        return error("invalid API key, signature or digest")
    if not same(signature(account.secret, request), request.header("X-LA-SIGNATURE")):
        return error("invalid API key, signature or digest")
    return account


def signature(secret: str, request: Request) -> str:
    digest = request.header("X-LA-DIGEST") or "HMAC-SHA512"
    algo = {"HMAC-SHA512": hashlib.sha512, "HMAC-SHA384": hashlib.sha384}.get(digest)
    if algo is None:
        return ""
    message = request.method + request.path + request.raw_query
    return hmac.new(secret.encode(), message.encode(), algo).hexdigest()


def currency_id(code: str) -> str:
    """latoken names currencies by UUID: a stable one per code (whitespace around is not part
    of a code; a row can only name a currency by its id)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{NAME}:{code.strip()}"))


def currency_entry(code: str) -> dict[str, Any]:
    return {
        "id": currency_id(code), "status": "CURRENCY_STATUS_ACTIVE",
        "type": "CURRENCY_TYPE_CRYPTO", "name": code, "tag": code, "description": "",
        "logo": "", "decimals": 8, "created": CREATED, "tier": 1,
        "assetClass": "ASSET_CLASS_UNKNOWN", "minTransferAmount": 0,
    }  # fmt: skip


def currencies(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    codes = sorted({code.strip() for code in scenario.codes(NAME)})
    return json_reply([currency_entry(code) for code in codes])


def pair_id(symbol: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{NAME}:pair:{symbol}"))


def pair_entry(symbol: str) -> dict[str, Any]:
    base, quote = split_symbol(symbol)
    return {
        "id": pair_id(symbol), "status": "PAIR_STATUS_ACTIVE",
        "baseCurrency": currency_id(base), "quoteCurrency": currency_id(quote),
        "priceTick": "0.000000100000000000", "priceDecimals": 7,
        "quantityTick": "0.010000000", "quantityDecimals": 2, "costDisplayDecimals": 7,
        "created": CREATED, "minOrderQuantity": "0", "maxOrderCostUsd": "999999999999999999",
        "minOrderCostUsd": "0", "externalSymbol": "",
    }  # fmt: skip


def pairs(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    return json_reply([pair_entry(symbol) for symbol in scenario.symbols(NAME)])


def server_time(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    return json_reply({"serverTime": now_ms()})


def ticker_entry(symbol: str, price: str) -> dict[str, Any]:
    base, quote = split_symbol(symbol)
    return {
        "symbol": symbol, "baseCurrency": currency_id(base), "quoteCurrency": currency_id(quote),
        "volume24h": "1000", "volume7d": "7000", "change24h": "0", "change7d": "0",
        "amount24h": "10", "amount7d": "70", "lastPrice": price, "lastQuantity": "1",
        "bestBid": price, "bestBidQuantity": "1", "bestAsk": price, "bestAskQuantity": "1",
        "updateTimestamp": now_ms(),
    }  # fmt: skip


def tickers(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    return json_reply([ticker_entry(s, fmt(p)) for s, p in scenario.symbols(NAME).items()])


def account_row_id(wallet: str, code: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{NAME}:account:{wallet}:{code}"))


def account_row(wallet: str, code: str, holding: Holding) -> dict[str, str]:
    return {
        "id": account_row_id(wallet, code), "status": "ACCOUNT_STATUS_ACTIVE",
        "type": ACCOUNT_TYPES[wallet], "timestamp": str(CREATED), "currency": currency_id(code),
        "available": fmt(holding.free), "blocked": fmt(holding.locked),
    }  # fmt: skip


def accounts(request: Request, scenario: Scenario, account: Account) -> Reply:
    """Every account of the user, of every type, as latoken lists them in one answer."""
    rows = [
        account_row(wallet, code, holding)
        for wallet in ACCOUNT_TYPES
        for code, holding in account.wallet(wallet).items()
    ]
    return json_reply(rows)


ROUTES = {
    ("GET", "/v2/time"): Route(MARKETS, server_time),
    ("GET", "/v2/currency"): Route(MARKETS, currencies),
    ("GET", "/v2/pair"): Route(MARKETS, pairs),
    ("GET", "/v2/ticker"): Route(TICKER, tickers),
    ("GET", "/v2/auth/account"): Route(BALANCE, accounts, private=True),
}

SPEC = ExchangeSpec(NAME, "X-LA-APIKEY", ROUTES, authenticate)

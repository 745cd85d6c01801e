"""kucoin: the generic adapter's emulated exchange (ccxt's unified fetch_balance, no module of
ours), serving every request ccxt's kucoin class makes on the way.

Traced by running ccxt against the emulator: loading markets asks for the currencies
(/api/v3/currencies), the spot symbols (/api/v2/symbols), every ticker
(/api/v1/market/allTickers, for the fees) and the futures contracts (/api/v1/contracts/active
on api-futures, served empty: no futures here); with credentials (the app's market loader has
none, the emulator's own tests do) also the margin and isolated symbols (/api/v3/margin/symbols,
/api/v1/isolated/symbols, empty) and whether the account is high-frequency
(/api/v1/hf/accounts/opened, false: the classic trade account). fetch_balance asks for the
account mode (/api/ua/v1/account/mode, CLASSIC so that the classic endpoints are used), then the
trade accounts (/api/v1/accounts?type=trade) in the shape of the recorded real payload
(/work/shared/ccxt-recorded/kucoin.json): id, currency, type, balance, available, holds.

The key (KC-API-KEY), the passphrase (KC-API-PASSPHRASE, ccxt's key version 2: base64
HMAC-SHA256 of the password keyed with the secret) and the signature (KC-API-SIGN: base64
HMAC-SHA256 of timestamp + method + path with query + body) are all verified.
"""

from __future__ import annotations

import hashlib
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
    hmac_b64,
    json_reply,
    now_ms,
    same,
)
from sandbox.emulator.scenario import Account, Holding, Scenario, fmt, split_symbol

NAME = "kucoin"
OK = "200000"


def ok(data: Any) -> Reply:
    return json_reply({"code": OK, "data": data})


def error(code: str, msg: str, status: int = 401) -> Reply:
    return json_reply({"code": code, "msg": msg}, status)


def authenticate(request: Request, scenario: Scenario) -> Account | Reply:
    account = scenario.account(NAME, request.header("KC-API-KEY"))
    if account is None or account.revoked:
        return error("400003", "KC-API-KEY not exists")
    passphrase = hmac_b64(account.secret.encode(), (account.password or "").encode())
    if not same(passphrase, request.header("KC-API-PASSPHRASE")):
        return error("400004", "Invalid KC-API-PASSPHRASE")
    if not same(signature(account.secret, request), request.header("KC-API-SIGN")):
        return error("400005", "Invalid KC-API-SIGN")
    return account


def signature(secret: str, request: Request) -> str:
    path = request.path + (f"?{request.raw_query}" if request.raw_query else "")
    prehash = request.header("KC-API-TIMESTAMP") + request.method + path + request.text
    return hmac_b64(secret.encode(), prehash.encode(), "sha256")


def symbol_entry(symbol: str) -> dict[str, Any]:
    base, quote = split_symbol(symbol)
    return {
        "symbol": f"{base}-{quote}", "name": f"{base}-{quote}", "baseCurrency": base,
        "quoteCurrency": quote, "feeCurrency": quote, "market": "USDS", "baseMinSize": "0.00001",
        "quoteMinSize": "0.1", "baseMaxSize": "10000000000", "quoteMaxSize": "99999999",
        "baseIncrement": "0.00000001", "quoteIncrement": "0.000001",
        "priceIncrement": "0.00000001", "priceLimitRate": "0.1", "minFunds": "0.1",
        "isMarginEnabled": False, "enableTrading": True, "feeCategory": 1,
        "makerFeeCoefficient": "1.00", "takerFeeCoefficient": "1.00", "st": False,
    }  # fmt: skip


def symbols(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    return ok([symbol_entry(s) for s in scenario.symbols(NAME)])


def currency_entry(code: str) -> dict[str, Any]:
    chain = {
        "chainName": code, "chainId": code.lower(), "withdrawalMinSize": "0.001",
        "withdrawalMinFee": "0.0005", "isWithdrawEnabled": True, "isDepositEnabled": True,
        "withdrawPrecision": 8, "confirms": 3, "contractAddress": "",
    }  # fmt: skip
    return {
        "currency": code, "name": code, "fullName": code, "precision": 8, "confirms": None,
        "contractAddress": None, "isMarginEnabled": False, "isDebitEnabled": False,
        "chains": [chain],
    }  # fmt: skip


def currencies(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    return ok([currency_entry(code) for code in scenario.codes(NAME)])


def ticker_entry(symbol: str, price: str) -> dict[str, Any]:
    base, quote = split_symbol(symbol)
    return {
        "symbol": f"{base}-{quote}", "symbolName": f"{base}-{quote}", "buy": price,
        "bestBidSize": "1", "sell": price, "bestAskSize": "1", "changeRate": "0",
        "changePrice": "0", "high": price, "low": price, "vol": "1000", "volValue": "1000",
        "last": price, "averagePrice": price, "takerFeeRate": "0.001", "makerFeeRate": "0.001",
        "takerCoefficient": "1", "makerCoefficient": "1",
    }  # fmt: skip


def all_tickers(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    found = [ticker_entry(s, fmt(p)) for s, p in scenario.symbols(NAME).items()]
    return ok({"time": now_ms(), "ticker": found})


def contracts(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    return ok([])  # no futures in the scenario: ccxt loads them with the spot markets


def margin_symbols(request: Request, scenario: Scenario, account: Account) -> Reply:
    return ok({"timestamp": now_ms(), "items": []})  # no margin in the scenario


def isolated_symbols(request: Request, scenario: Scenario, account: Account) -> Reply:
    return ok([])


def account_mode(request: Request, scenario: Scenario, account: Account) -> Reply:
    return ok({"selfAccountMode": "CLASSIC"})


def hf_opened(request: Request, scenario: Scenario, account: Account) -> Reply:
    return ok(False)


def account_id(code: str) -> str:
    """A stable 24-hex id per currency, as kucoin's account ids look."""
    return hashlib.sha256(f"{NAME}-{code}".encode()).hexdigest()[:24]


def accounts(request: Request, scenario: Scenario, account: Account) -> Reply:
    wanted = request.query.get("type", "")
    if wanted and wanted != "trade":
        return ok([])  # only the trade (spot) wallet is in the scenario
    return ok([account_row(code, h) for code, h in account.wallet("spot").items()])


def account_row(code: str, holding: Holding) -> dict[str, str]:
    return {
        "id": account_id(code), "currency": code, "type": "trade",
        "balance": fmt(holding.total), "available": fmt(holding.free), "holds": fmt(holding.locked),
    }  # fmt: skip


ROUTES = {
    ("GET", "/api/v3/currencies"): Route(MARKETS, currencies),
    ("GET", "/api/v2/symbols"): Route(MARKETS, symbols),
    ("GET", "/api/v1/market/allTickers"): Route(TICKER, all_tickers),
    ("GET", "/api/v1/contracts/active"): Route(MARKETS, contracts),
    ("GET", "/api/v3/margin/symbols"): Route(MARKETS, margin_symbols, private=True),
    ("GET", "/api/v1/isolated/symbols"): Route(MARKETS, isolated_symbols, private=True),
    ("GET", "/api/ua/v1/account/mode"): Route(ACCOUNT, account_mode, private=True),
    ("GET", "/api/v1/hf/accounts/opened"): Route(ACCOUNT, hf_opened, private=True),
    ("GET", "/api/v1/accounts"): Route(BALANCE, accounts, private=True),
}

SPEC = ExchangeSpec(NAME, "KC-API-KEY", ROUTES, authenticate)

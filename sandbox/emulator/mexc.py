"""mexc: spot account (v3, signed query) and futures assets (contract API, signed headers); the
API key's permissions; spot exchangeInfo, contract detail and 24h tickers.

The contract API sends its amounts as JSON numbers (MEXC's documented examples), written here
from the scenario's exact decimals, never through a float.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
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
    hmac_hex,
    json_reply,
    now_ms,
    same,
)
from sandbox.emulator.scenario import Account, Holding, Scenario, fmt, split_symbol

NAME = "mexc"
SPOT_KEY = "X-MEXC-APIKEY"
CONTRACT_KEY = "ApiKey"
NUMBER = re.compile(r'"\\u0000(-?[0-9.]+)\\u0000"')


def number_reply(payload: Any, status: int = 200) -> Reply:
    """JSON whose Decimal values are bare numbers with exactly the scenario's digits."""

    def mark(value: Any) -> Any:
        if isinstance(value, Decimal):
            return f"\x00{fmt(value)}\x00"
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    text = json.dumps(mark(payload), separators=(",", ":"))
    return Reply(status, NUMBER.sub(r"\1", text).encode())


def spot_error(code: int, msg: str, status: int = 400) -> Reply:
    return json_reply({"code": code, "msg": msg}, status)


def contract_error(code: int, message: str) -> Reply:
    return json_reply({"success": False, "code": code, "message": message})


def read_key(request: Request) -> str:
    return request.header(SPOT_KEY) or request.header(CONTRACT_KEY)


def authenticate(request: Request, scenario: Scenario) -> Account | Reply:
    if request.path.startswith("/api/v1/private/"):
        return authenticate_contract(request, scenario)
    account = scenario.account(NAME, request.header(SPOT_KEY))
    if account is None or account.revoked:
        return spot_error(10072, "Api key info invalid")
    signed, _, given = request.raw_query.rpartition("&signature=")
    if not given or not same(hmac_hex(account.secret, signed), given):
        return spot_error(700002, "Signature for this request is not valid.")
    return account


def authenticate_contract(request: Request, scenario: Scenario) -> Account | Reply:
    """hex HMAC-SHA256 of key + Request-Time + the sorted query (GET) or the body (POST)."""
    account = scenario.account(NAME, request.header(CONTRACT_KEY))
    if account is None or account.revoked:
        return contract_error(401, "Not logged in or login has expired")
    params = request.raw_query if request.method == "GET" else request.text
    prehash = account.api_key + request.header("Request-Time") + params
    if not same(hmac_hex(account.secret, prehash), request.header("Signature")):
        return contract_error(602, "Signature verification failed!")
    return account


def spot_symbol(symbol: str) -> dict[str, Any]:
    base, quote = split_symbol(symbol)
    return {
        "symbol": base + quote, "status": "1", "baseAsset": base, "baseAssetPrecision": 6,
        "quoteAsset": quote, "quotePrecision": 2, "quoteAssetPrecision": 2,
        "baseCommissionPrecision": 6, "quoteCommissionPrecision": 2,
        "orderTypes": ["LIMIT", "MARKET", "LIMIT_MAKER"], "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False, "quoteAmountPrecision": "1.000000000000000000000000000000",
        "baseSizePrecision": "0", "permissions": ["SPOT"], "filters": [],
        "maxQuoteAmount": "2000000.000000000000000000000000000000", "makerCommission": "0",
        "takerCommission": "0.0005", "quoteAmountPrecisionMarket": "1.0",
        "maxQuoteAmountMarket": "100000.0", "fullName": base, "tradeSideType": 1,
    }  # fmt: skip


def exchange_info(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    symbols = [spot_symbol(s) for s in scenario.symbols(NAME)]
    return json_reply(
        {"timezone": "CST", "serverTime": now_ms(), "rateLimits": [], "exchangeFilters": [],
         "symbols": symbols}
    )  # fmt: skip


def contract_detail(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    # One USDT perpetual per base the scenario prices in USDT: ccxt reads the settle coin here.
    bases = sorted({split_symbol(s)[0] for s in scenario.symbols(NAME) if s.endswith("/USDT")})
    rows = [
        {"symbol": f"{b}_USDT", "displayName": f"{b}_USDT永续",
         "displayNameEn": f"{b}_USDT PERPETUAL", "positionOpenType": 3, "baseCoin": b,
         "quoteCoin": "USDT", "settleCoin": "USDT",
         "contractSize": Decimal("0.0001"), "minLeverage": 1, "maxLeverage": 200,
         "priceScale": 1, "volScale": 0, "amountScale": 4, "priceUnit": Decimal("0.1"),
         "volUnit": 1, "minVol": 1, "maxVol": 1000000, "bidLimitPriceRate": Decimal("0.2"),
         "askLimitPriceRate": Decimal("0.2"), "takerFeeRate": Decimal("0.0002"),
         "makerFeeRate": 0, "maintenanceMarginRate": Decimal("0.004"),
         "initialMarginRate": Decimal("0.005"), "state": 0, "isNew": False, "isHot": True,
         "isHidden": False, "futureType": 1, "apiAllowed": True}
        for b in bases
    ]  # fmt: skip
    return number_reply({"success": True, "code": 0, "data": rows})


def currencies(request: Request, scenario: Scenario, _: Account) -> Reply:
    """Signed: ccxt asks for it while loading markets when it holds credentials."""
    rows = [
        {"coin": c, "Name": c, "networkList": [
            {"coin": c, "depositDesc": None, "depositEnable": True, "minConfirm": 12,
             "name": c, "network": c, "withdrawEnable": True, "withdrawFee": "0.0001",
             "withdrawIntegerMultiple": None, "withdrawMax": "1000000", "withdrawMin": "0.001",
             "sameAddress": False, "contract": "", "withdrawTips": None, "depositTips": None,
             "netWork": c}]}
        for c in scenario.codes(NAME)
    ]  # fmt: skip
    return json_reply(rows)


def ticker(symbol: str, price: str) -> dict[str, Any]:
    base, quote = split_symbol(symbol)
    return {
        "symbol": base + quote, "priceChange": "0", "priceChangePercent": "0",
        "prevClosePrice": price, "lastPrice": price, "bidPrice": price, "bidQty": "1",
        "askPrice": price, "askQty": "1", "openPrice": price, "highPrice": price,
        "lowPrice": price, "volume": "1000", "quoteVolume": "1000", "openTime": now_ms() - 86400000,
        "closeTime": now_ms(), "count": None,
    }  # fmt: skip


def tickers(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    rows = [ticker(s, fmt(p)) for s, p in scenario.symbols(NAME).items()]
    wanted = request.query.get("symbol")
    return json_reply([r for r in rows if wanted in (None, r["symbol"])])


def account(request: Request, scenario: Scenario, account: Account) -> Reply:
    rows = [
        {"asset": c, "free": fmt(h.free), "locked": fmt(h.locked), "available": fmt(h.free)}
        for c, h in account.wallet("spot").items()
    ]
    return json_reply(
        {"makerCommission": None, "takerCommission": None, "buyerCommission": None,
         "sellerCommission": None, "canTrade": True, "canWithdraw": True, "canDeposit": True,
         "updateTime": None, "accountType": "SPOT", "balances": rows, "permissions": ["SPOT"]}
    )  # fmt: skip


def asset_row(code: str, h: Holding) -> dict[str, Any]:
    # equity = the wallet (available + frozen + position margin) + unrealized, as MEXC reports.
    return {
        "currency": code, "positionMargin": Decimal(0), "availableBalance": h.free,
        "cashBalance": h.free, "frozenBalance": h.locked, "equity": h.equity,
        "unrealized": h.upl, "bonus": Decimal(0), "availableCash": h.free,
        "availableOpen": h.free, "debtAmount": Decimal(0), "contributeMarginAmount": Decimal(0),
        "vcoinId": f"{code.lower()}-vcoin",
    }  # fmt: skip


def contract_assets(request: Request, scenario: Scenario, account: Account) -> Reply:
    rows = [asset_row(c, h) for c, h in account.wallet("futures").items()]
    return number_reply({"success": True, "code": 0, "data": rows})


SCOPES = {
    "read": ("SPOT_ACCOUNT_READ", "SPOT_DEAL_READ", "CONTRACT_ACCOUNT_READ", "CONTRACT_DEAL_READ"),
    "trade": ("SPOT_DEAL_WRITE",),
    "futures": ("CONTRACT_DEAL_WRITE",),
    "transfer": ("SPOT_TRANSFER_READ", "SPOT_TRANSFER_WRITE"),
    "withdraw": ("SPOT_WITHDRAW_READ", "SPOT_WITHDRAW_WRITE"),
}


def api_key_info(request: Request, scenario: Scenario, account: Account) -> Reply:
    if request.query.get("accessKey") != account.api_key:
        return spot_error(700004, "Param 'accessKey' must be the key that signs the request")
    granted = [scope for name, scopes in SCOPES.items() if account.can(name) for scope in scopes]
    return json_reply(
        {"note": account.label, "accessKey": account.api_key,
         "createTime": "2026-09-14T18:53:36.000+00:00", "permissions": ",".join(granted),
         "remainingValidity": 82, "ipWhiteList": "", "status": "VALID"}
    )  # fmt: skip


def subaccount_list(request: Request, scenario: Scenario, account: Account) -> Reply:
    """Pages by page (from 1) and limit (default 10, at most 200); no total is sent."""
    query = request.query
    limit = min(int(query.get("limit", "10")), 200)
    start = (int(query.get("page", "1")) - 1) * limit
    subs = list(account.subaccounts.values())[start : start + limit]
    return json_reply(
        {"subAccounts": [
            {"subAccount": sub.id, "isFreeze": False, "createTime": sub.created_ms,
             "uid": str(40_000_000 + sub.created_ms // 60_000 % 10_000_000)}
            for sub in subs
        ]}
    )  # fmt: skip


def subaccount_asset(request: Request, scenario: Scenario, account: Account) -> Reply:
    """One sub-account's spot balances; MEXC supports accountType SPOT only."""
    sub = account.subaccounts.get(request.query.get("subAccount", ""))
    if sub is None:
        return spot_error(140001, "sub account does not exist")
    if request.query.get("accountType") != "SPOT":
        # MEXC documents no words for it: its generic "input param is invalid".
        return spot_error(730002, "Your input param is invalid")
    rows = [
        {"asset": c, "free": fmt(h.free), "locked": fmt(h.locked)}
        for c, h in sub.wallet("spot").items()
    ]
    return json_reply({"balances": rows})


ROUTES = {
    ("GET", "/api/v3/exchangeInfo"): Route(MARKETS, exchange_info),
    ("GET", "/api/v1/contract/detail"): Route(MARKETS, contract_detail),
    ("GET", "/api/v3/capital/config/getall"): Route(MARKETS, currencies, private=True),
    ("GET", "/api/v3/ticker/24hr"): Route(TICKER, tickers),
    ("GET", "/api/v3/account"): Route(BALANCE, account, private=True),
    ("GET", "/api/v1/private/account/assets"): Route(BALANCE, contract_assets, private=True),
    ("GET", "/api/v3/apiKeyInfo"): Route(ACCOUNT, api_key_info, private=True),
    ("GET", "/api/v3/sub-account/list"): Route(ACCOUNT, subaccount_list, private=True),
    ("GET", "/api/v3/sub-account/asset"): Route(BALANCE, subaccount_asset, private=True),
}

SPEC = ExchangeSpec(NAME, SPOT_KEY, ROUTES, authenticate, account_key=read_key)

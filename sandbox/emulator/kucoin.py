"""kucoin: every wallet the dedicated adapter reads, and every request ccxt's kucoin class
makes on the way.

Traced by running ccxt against the emulator: loading markets asks for the currencies
(/api/v3/currencies) and the spot symbols (/api/v2/symbols); ccxt's defaults also ask every
ticker (/api/v1/market/allTickers, for the fees) and the futures contracts
(/api/v1/contracts/active on api-futures, served empty), which the app's options skip; with
credentials (the app's market loader has none, the emulator's own tests do) also the margin and
isolated symbols (/api/v3/margin/symbols, /api/v1/isolated/symbols, empty), the account mode
(/api/ua/v1/account/mode, CLASSIC) and whether the account is high-frequency
(/api/v1/hf/accounts/opened, false).

Wallets (scenario wallet: endpoint, in KuCoin's documented shape):
- trade, main: /api/v1/accounts (all types, or the asked `type`), as the recorded real payload
  (/work/shared/ccxt-recorded/kucoin.json): id, currency, type, balance, available, holds;
- margin: /api/v3/margin/accounts (cross), liability = borrowed + interest, with
  liabilityPrincipal and liabilityInterest;
- isolated: /api/v3/isolated/accounts, one <code>-USDT position per base currency, the USDT
  holding in the first;
- futures: /api/v1/account-overview on api-futures, per `currency` (XBT by default), amounts as
  JSON numbers as KuCoin's futures API sends them: marginBalance = free + locked, unrealisedPNL
  = the scenario's upl, accountEquity their sum;
- earn_flexible, earn_locked, staking: /api/v1/earn/hold-assets (paged by currentPage and
  pageSize), categories DEMAND, ACTIVITY and STAKING; the locked ones end on LOCK_END_MS.
Key permissions: /api/v1/user/api-key, `permission` from the scenario's flags.

Sub-accounts (the scenario account's `subaccounts`, keyed by userId): /api/v2/sub/user lists
them (currentPage, pageSize at most 100, KuCoin's paging fields); /api/v1/sub-accounts/{id}
answers one's mainAccounts (scenario wallet main), tradeAccounts (trade) and marginAccounts
(margin, balances only, as KuCoin's answer has no liability). The path carries the id: the
request is routed under /api/v1/sub-accounts/{subUserId}, and signed with the path as sent. An
unknown id: KuCoin documents no answer; a 400100 parameter error here.

The key (KC-API-KEY), the passphrase (KC-API-PASSPHRASE, ccxt's key version 2: base64
HMAC-SHA256 of the password keyed with the secret) and the signature (KC-API-SIGN: base64
HMAC-SHA256 of timestamp + method + path with query + body) are all verified, on both hosts;
a wrong one is answered as KuCoin does (401, 400003/400004/400005).
"""

from __future__ import annotations

import dataclasses
import hashlib
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
    hmac_b64,
    json_reply,
    now_ms,
    same,
)
from sandbox.emulator.scenario import (
    ZERO,
    Account,
    Holding,
    Scenario,
    SubAccount,
    fmt,
    split_symbol,
)

NAME = "kucoin"
OK = "200000"
# The scenario's wallets: /api/v1/accounts types, and the earn products with their category
# and whether they lock until a date.
ACCOUNT_TYPES = ("trade", "main")
EARN_PRODUCTS = {
    "earn_flexible": ("DEMAND", False),
    "earn_locked": ("ACTIVITY", True),
    "staking": ("STAKING", True),
}
ISOLATED_QUOTE = "USDT"
LOCK_START_MS = 1764547200000  # 2025-12-01 00:00 UTC
LOCK_END_MS = 1798761600000  # 2027-01-01 00:00 UTC: every locked product ends then
# Scenario permissions and KuCoin's names for them.
PERMISSION_NAMES = {
    "trade": "Spot",
    "margin": "Margin",
    "futures": "Futures",
    "transfer": "InnerTransfer",
    "withdraw": "Withdrawal",
}


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
    sent = request.header(SENT_PATH) or request.path  # a routed path is signed as sent
    path = sent + (f"?{request.raw_query}" if request.raw_query else "")
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


def account_id(kind: str, code: str) -> str:
    """A stable 24-hex id per account, as kucoin's account ids look."""
    return hashlib.sha256(f"{NAME}-{kind}-{code}".encode()).hexdigest()[:24]


def accounts(request: Request, scenario: Scenario, account: Account) -> Reply:
    """Every account of /api/v1/accounts (main and trade), or those of the asked type."""
    wanted = request.query.get("type", "")
    found = [
        account_row(kind, code, holding)
        for kind in ACCOUNT_TYPES
        if not wanted or wanted == kind
        for code, holding in account.wallet(kind).items()
    ]
    return ok(found)


def account_row(kind: str, code: str, holding: Holding) -> dict[str, str]:
    return {
        "id": account_id(kind, code), "currency": code, "type": kind,
        "balance": fmt(holding.total), "available": fmt(holding.free), "holds": fmt(holding.locked),
    }  # fmt: skip


def margin_asset(code: str, holding: Holding) -> dict[str, Any]:
    """One currency of a margin account as the v3 endpoints document it: liability is the
    principal plus the accrued interest."""
    owed = holding.borrowed + holding.interest
    return {
        "currency": code, "total": fmt(holding.total), "available": fmt(holding.free),
        "hold": fmt(holding.locked), "liability": fmt(owed),
        "liabilityPrincipal": fmt(holding.borrowed), "liabilityInterest": fmt(holding.interest),
        "maxBorrowSize": "0", "borrowEnabled": True, "transferInEnabled": True,
    }  # fmt: skip


def cross_margin(request: Request, scenario: Scenario, account: Account) -> Reply:
    wallet = account.wallet("margin")
    return ok({
        "totalAssetOfQuoteCurrency": "0", "totalLiabilityOfQuoteCurrency": "0",
        "debtRatio": "0", "status": "EFFECTIVE",
        "accounts": [margin_asset(code, holding) for code, holding in wallet.items()],
    })  # fmt: skip


def isolated_positions(wallet: dict[str, Holding]) -> list[dict[str, Any]]:
    """One position per base currency against USDT; the USDT holding sits in the first."""
    quote = wallet.get(ISOLATED_QUOTE, Holding(free=ZERO))
    bases = [code for code in wallet if code != ISOLATED_QUOTE]
    return [
        isolated_position(code, wallet[code], quote if i == 0 else Holding(free=ZERO))
        for i, code in enumerate(bases)
    ]


def isolated_position(base: str, held: Holding, quote: Holding) -> dict[str, Any]:
    return {
        "symbol": f"{base}-{ISOLATED_QUOTE}", "status": "EFFECTIVE", "debtRatio": "0",
        "baseAsset": margin_asset(base, held), "quoteAsset": margin_asset(ISOLATED_QUOTE, quote),
    }  # fmt: skip


def isolated_margin(request: Request, scenario: Scenario, account: Account) -> Reply:
    return ok({
        "totalAssetOfQuoteCurrency": "0", "totalLiabilityOfQuoteCurrency": "0",
        "timestamp": now_ms(), "assets": isolated_positions(account.wallet("isolated")),
    })  # fmt: skip


def futures_overview(request: Request, scenario: Scenario, account: Account) -> Reply:
    """KuCoin's futures API answers numbers, not strings: written out as the exact digits."""
    code = request.query.get("currency") or "XBT"
    holding = account.wallet("futures").get(code, Holding(free=ZERO))
    wallet = holding.total
    fields = {
        "accountEquity": wallet + holding.upl, "unrealisedPNL": holding.upl,
        "marginBalance": wallet, "positionMargin": ZERO, "orderMargin": holding.locked,
        "frozenFunds": ZERO, "availableBalance": holding.free,
    }  # fmt: skip
    numbers = ",".join(f'"{name}":{fmt(value)}' for name, value in fields.items())
    body = f'{{"code":"{OK}","data":{{{numbers},"currency":{json.dumps(code)}}}}}'
    return Reply(200, body.encode())


def earn_item(kind: str, code: str, holding: Holding) -> dict[str, Any]:
    category, locked = EARN_PRODUCTS[kind]
    return {
        "orderId": account_id(kind, code), "productId": account_id(f"{kind}-product", code),
        "productCategory": category, "productType": "TIME" if locked else "DEMAND",
        "currency": code, "incomeCurrency": code, "returnRate": "0.05",
        "holdAmount": fmt(holding.total), "redeemedAmount": "0", "redeemingAmount": "0",
        "lockStartTime": LOCK_START_MS if locked else None,
        "lockEndTime": LOCK_END_MS if locked else None, "purchaseTime": LOCK_START_MS,
        "redeemPeriod": 3 if locked else 0, "status": "LOCKED",
        "earlyRedeemSupported": 0 if locked else 1,
    }  # fmt: skip


def hold_assets(request: Request, scenario: Scenario, account: Account) -> Reply:
    items = [
        earn_item(kind, code, holding)
        for kind in EARN_PRODUCTS
        for code, holding in account.wallet(kind).items()
    ]
    page = max(int(request.query.get("currentPage") or 1), 1)
    size = max(int(request.query.get("pageSize") or 15), 1)
    pages = max((len(items) + size - 1) // size, 1)
    return ok({
        "totalNum": len(items), "items": items[(page - 1) * size : page * size],
        "currentPage": page, "pageSize": size, "totalPage": pages,
    })  # fmt: skip


def permission_names(account: Account) -> str:
    names = ["General"]
    names += [n for p, n in PERMISSION_NAMES.items() if account.can(p)]
    return ",".join(names)


def api_key_info(request: Request, scenario: Scenario, account: Account) -> Reply:
    return ok({
        "remark": account.label, "apiKey": account.api_key, "apiVersion": 3,
        "permission": permission_names(account), "ipWhitelist": "127.0.0.1",
        "createdAt": LOCK_START_MS, "uid": 165111215, "isMaster": True,
    })  # fmt: skip


def sub_user_row(sub: SubAccount) -> dict[str, Any]:
    return {
        "userId": sub.id, "uid": sub.created_ms // 1000, "subName": f"sub{sub.created_ms}",
        "status": 2, "type": 0, "access": "All", "createdAt": sub.created_ms,
        "remarks": sub.name, "tradeTypes": ["Spot", "Futures", "Margin"],
        "openedTradeTypes": ["Spot"], "hostedStatus": None,
    }  # fmt: skip


def sub_users(request: Request, scenario: Scenario, account: Account) -> Reply:
    """Pages of pageSize (default 10, at most 100) from currentPage (1 first)."""
    page = max(int(request.query.get("currentPage") or 1), 1)
    size = min(max(int(request.query.get("pageSize") or 10), 1), 100)
    subs = list(account.subaccounts.values())
    pages = max((len(subs) + size - 1) // size, 1)
    return ok({
        "currentPage": page, "pageSize": size, "totalNum": len(subs), "totalPage": pages,
        "items": [sub_user_row(s) for s in subs[(page - 1) * size : page * size]],
    })  # fmt: skip


def sub_balance_row(code: str, holding: Holding) -> dict[str, str]:
    return {
        "currency": code, "balance": fmt(holding.total), "available": fmt(holding.free),
        "holds": fmt(holding.locked), "baseCurrency": "BTC", "baseCurrencyPrice": "0",
        "baseAmount": "0",
    }  # fmt: skip


SUB_DETAIL_PATH = "/api/v1/sub-accounts/{subUserId}"
SENT_PATH = "Emulator-Sent-Path"  # the path as sent, kept for the signature


def sub_detail(request: Request, scenario: Scenario, account: Account) -> Reply:
    sub_id = request.header(SENT_PATH).rpartition("/")[2]
    sub = account.subaccounts.get(sub_id)
    if sub is None:
        return error("400100", "Parameter Error", 400)

    def rows(wallet: str) -> list[dict[str, str]]:
        return [sub_balance_row(c, h) for c, h in sub.wallet(wallet).items()]

    return ok({
        "subUserId": sub.id, "subName": f"sub{sub.created_ms}", "mainAccounts": rows("main"),
        "tradeAccounts": rows("trade"), "marginAccounts": rows("margin"), "tradeHFAccounts": [],
    })  # fmt: skip


def routed_path(request: Request) -> Request:
    """/api/v1/sub-accounts/<id> is routed (and counted) under its template; the path as sent
    stays in a header for the signature and the id."""
    prefix, _, sub_id = request.path.rpartition("/")
    if prefix != "/api/v1/sub-accounts" or not sub_id:
        return request
    headers = {**request.headers, SENT_PATH: request.path}
    return dataclasses.replace(request, path=SUB_DETAIL_PATH, headers=headers)


@dataclasses.dataclass(frozen=True)
class KucoinSpec(ExchangeSpec):
    def routed(self, request: Request) -> Request:
        return routed_path(request)


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
    ("GET", "/api/v3/margin/accounts"): Route(BALANCE, cross_margin, private=True),
    ("GET", "/api/v3/isolated/accounts"): Route(BALANCE, isolated_margin, private=True),
    ("GET", "/api/v1/account-overview"): Route(BALANCE, futures_overview, private=True),
    ("GET", "/api/v1/earn/hold-assets"): Route(BALANCE, hold_assets, private=True),
    ("GET", "/api/v1/user/api-key"): Route(ACCOUNT, api_key_info, private=True),
    ("GET", "/api/v2/sub/user"): Route(ACCOUNT, sub_users, private=True),
    ("GET", SUB_DETAIL_PATH): Route(BALANCE, sub_detail, private=True),
}

SPEC = KucoinSpec(NAME, "KC-API-KEY", ROUTES, authenticate)

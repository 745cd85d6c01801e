"""bitget v2 (classic account): spot, funding, Earn, cross and isolated margin, futures per
productType, key info; coins, spot symbols, margin currencies, tickers.

Sub-accounts (the scenario account's `subaccounts`, keyed by subAccountUid), newest first and
paged by idLessThan (a sub-account's cursor id is its creation time here):
- /api/v2/user/virtual-subaccount-list: limit (default 100, at most 500), endId the last row's;
- /api/v2/spot/account/subaccount-assets: every sub-account with a spot holding, {id, userId,
  assetsList}, limit (default 10, at most 50);
- /api/v2/mix/account/sub-account-assets: every sub-account with a holding in the productType's
  futures wallet, {userId, assetList} in the master's row shape. Neither balance call takes an
  id, so neither has an unknown-id error."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

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
from sandbox.emulator.scenario import Account, Holding, Scenario, SubAccount, fmt, split_symbol

NAME = "bitget"
# The scenario's futures wallet per productType.
FUTURES_WALLETS = {
    "USDT-FUTURES": "futures_usdt",
    "COIN-FUTURES": "futures_coin",
    "USDC-FUTURES": "futures_usdc",
}


def ok(data: Any) -> Reply:
    return json_reply({"code": "00000", "msg": "success", "requestTime": now_ms(), "data": data})


def error(code: str, msg: str, status: int = 400) -> Reply:
    return json_reply({"code": code, "msg": msg, "requestTime": now_ms(), "data": None}, status)


def authenticate(request: Request, scenario: Scenario) -> Account | Reply:
    account = scenario.account(NAME, request.header("ACCESS-KEY"))
    if account is None or account.revoked:
        return error("40006", "Invalid ACCESS_KEY")
    if account.password is not None and request.header("ACCESS-PASSPHRASE") != account.password:
        return error("40012", "apikey/password is incorrect")
    if not same(signature(account.secret, request), request.header("ACCESS-SIGN")):
        return error("40009", "sign signature error")
    return account


def signature(secret: str, request: Request) -> str:
    """base64 HMAC-SHA256 of timestamp + method + path + ('?' + the query, not percent-encoded)
    + body: Bitget signs the raw query string."""
    pairs = parse_qsl(request.raw_query, keep_blank_values=True)
    query = "&".join(f"{k}={v}" for k, v in pairs)
    prehash = (
        request.header("ACCESS-TIMESTAMP")
        + request.method
        + request.path
        + (f"?{query}" if query else "")
        + request.text
    )
    return hmac_b64(secret.encode(), prehash.encode())


def coin_entry(code: str) -> dict[str, Any]:
    chain = {
        "chain": code, "needTag": "false", "withdrawable": "true", "rechargeable": "true",
        "withdrawFee": "0.0001", "extraWithdrawFee": "0", "depositConfirm": "12",
        "withdrawConfirm": "64", "minDepositAmount": "0.0001", "minWithdrawAmount": "0.001",
        "browserUrl": "", "contractAddress": "", "withdrawStep": "0", "withdrawMinScale": "8",
        "congestion": "normal",
    }  # fmt: skip
    return {"coinId": str(sum(map(ord, code))), "coin": code, "transfer": "true",
            "chains": [chain], "areaCoin": "no"}  # fmt: skip


def coins(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    return ok([coin_entry(code) for code in scenario.codes(NAME)])


def symbol_entry(symbol: str) -> dict[str, Any]:
    base, quote = split_symbol(symbol)
    return {
        "symbol": base + quote, "baseCoin": base, "quoteCoin": quote, "minTradeAmount": "0",
        "maxTradeAmount": "10000000000", "takerFeeRate": "0.002", "makerFeeRate": "0.002",
        "pricePrecision": "6", "quantityPrecision": "6", "quotePrecision": "6",
        "status": "online", "minTradeUSDT": "5", "buyLimitPriceRatio": "0.05",
        "sellLimitPriceRatio": "0.05", "areaSymbol": "no", "orderQuantity": "200",
        "openTime": "1532454360000", "offTime": "",
    }  # fmt: skip


def symbols(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    return ok([symbol_entry(s) for s in scenario.symbols(NAME)])


def margin_currency(symbol: str) -> dict[str, Any]:
    base, quote = split_symbol(symbol)
    return {
        "symbol": base + quote, "baseCoin": base, "quoteCoin": quote,
        "maxCrossedLeverage": "3", "maxIsolatedLeverage": "10", "warningRiskRatio": "0.8",
        "liquidationRiskRatio": "1", "minTradeAmount": "0", "maxTradeAmount": "10000000",
        "takerFeeRate": "0.001", "makerFeeRate": "0.001", "priceScale": "6",
        "quantityScale": "6", "minTradeUSDT": "5", "isBorrowable": True, "userMinBorrow": "0",
        "status": "1", "isIsolatedBaseBorrowable": True, "isIsolatedQuoteBorrowable": True,
        "isCrossBorrowable": True,
    }  # fmt: skip


def margin_currencies(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    return ok([margin_currency(s) for s in scenario.symbols(NAME)])


def ticker_entry(symbol: str, price: str) -> dict[str, Any]:
    base, quote = split_symbol(symbol)
    return {
        "open": price, "symbol": base + quote, "high24h": price, "low24h": price,
        "lastPr": price, "quoteVolume": "1000", "baseVolume": "1000", "usdtVolume": "1000",
        "ts": str(now_ms()), "bidPr": price, "askPr": price, "bidSz": "1", "askSz": "1",
        "openUtc": price, "changeUtc24h": "0", "change24h": "0",
    }  # fmt: skip


def tickers(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    wanted = request.query.get("symbol")
    found = [
        ticker_entry(s, fmt(p))
        for s, p in scenario.symbols(NAME).items()
        if wanted in (None, "".join(split_symbol(s)))
    ]
    return ok(found)


def spot_assets(request: Request, scenario: Scenario, account: Account) -> Reply:
    return ok(
        [
            {"coin": c, "available": fmt(h.free), "frozen": fmt(h.locked), "locked": "0",
             "limitAvailable": "0", "uTime": str(now_ms())}
            for c, h in account.wallet("spot").items()
        ]
    )  # fmt: skip


def funding_assets(request: Request, scenario: Scenario, account: Account) -> Reply:
    return ok(
        [
            # As in the documented example, nothing frozen is sent as "".
            {"coin": c, "available": fmt(h.free), "frozen": fmt(h.locked) if h.locked else "",
             "usdtValue": "0"}
            for c, h in account.wallet("funding").items()
        ]
    )  # fmt: skip


def earn_assets(request: Request, scenario: Scenario, account: Account) -> Reply:
    return ok([{"coin": c, "amount": fmt(h.total)} for c, h in account.wallet("earn").items()])


def margin_row(code: str, h: Holding) -> dict[str, Any]:
    return {
        "coin": code, "totalAmount": fmt(h.total), "available": fmt(h.free),
        "frozen": fmt(h.locked), "borrow": fmt(h.borrowed), "interest": fmt(h.interest),
        "net": fmt(h.net), "coupon": "0", "cTime": "1759828511592", "uTime": str(now_ms()),
    }  # fmt: skip


def isolated_symbol(code: str) -> str:
    """The pair an isolated coin sits in: its USDT pair, or BTCUSDT for USDT itself."""
    return "BTCUSDT" if code == "USDT" else f"{code}USDT"


def cross_assets(request: Request, scenario: Scenario, account: Account) -> Reply:
    return ok([margin_row(c, h) for c, h in account.wallet("margin_cross").items()])


def isolated_assets(request: Request, scenario: Scenario, account: Account) -> Reply:
    return ok(
        [
            {"symbol": isolated_symbol(c)} | margin_row(c, h)
            for c, h in account.wallet("margin_isolated").items()
        ]
    )


def futures_row(code: str, h: Holding) -> dict[str, Any]:
    # accountEquity includes the unrealised PnL (mark price); "" when there is none.
    upl = fmt(h.upl) if h.upl else ""
    equity = fmt(h.total + h.upl)
    return {
        "marginCoin": code, "locked": fmt(h.locked), "available": fmt(h.free),
        "crossedMaxAvailable": fmt(h.free), "isolatedMaxAvailable": fmt(h.free),
        "maxTransferOut": fmt(h.free), "accountEquity": equity, "usdtEquity": "0",
        "btcEquity": "0", "crossedRiskRate": "0", "unrealizedPL": upl, "coupon": "0",
        "unionTotalMargin": "0", "unionAvailable": "0", "unionMm": "0", "assetList": [],
        "isolatedMargin": "0", "crossedMargin": fmt(h.locked), "crossedUnrealizedPL": upl,
        "isolatedUnrealizedPL": "0", "assetMode": "single",
    }  # fmt: skip


def futures_accounts(request: Request, scenario: Scenario, account: Account) -> Reply:
    kind = request.query.get("productType", "")
    if kind not in FUTURES_WALLETS:
        return error("40019", "Parameter productType cannot be empty")
    return ok([futures_row(c, h) for c, h in account.wallet(FUTURES_WALLETS[kind]).items()])


def newest_first(
    request: Request, subs: Iterable[SubAccount], default: int, most: int
) -> list[SubAccount]:
    """The page of sub-accounts the request asks: newest first, below idLessThan, `limit`."""
    limit = min(max(int(request.query.get("limit") or default), 1), most)
    ordered = sorted(subs, key=lambda s: s.created_ms, reverse=True)
    below = request.query.get("idLessThan")
    if below:
        ordered = [s for s in ordered if s.created_ms < int(below)]
    return ordered[:limit]


def virtual_subaccounts(request: Request, scenario: Scenario, account: Account) -> Reply:
    page = newest_first(request, account.subaccounts.values(), 100, 500)
    listed = [
        {"subAccountUid": s.id, "subAccountName": f"virtual{s.id}@virtual-bitget.com",
         "status": "normal", "permList": ["spot_trade", "contract_trade", "read"],
         "label": s.name, "accountType": "virtual", "bindingTime": "",
         "cTime": str(s.created_ms), "uTime": str(s.created_ms)}
        for s in page
    ]  # fmt: skip
    end = str(page[-1].created_ms) if page else ""
    return ok({"endId": end, "subAccountList": listed})


def sub_spot_row(code: str, h: Holding) -> dict[str, Any]:
    return {
        "coin": code, "available": fmt(h.free), "limitAvailable": "0", "frozen": fmt(h.locked),
        "locked": "0", "uTime": str(now_ms()),
    }  # fmt: skip


def subaccount_spot_assets(request: Request, scenario: Scenario, account: Account) -> Reply:
    held = [s for s in account.subaccounts.values() if s.wallet("spot")]
    return ok(
        [
            {"id": s.created_ms, "userId": int(s.id),
             "assetsList": [sub_spot_row(c, h) for c, h in s.wallet("spot").items()]}
            for s in newest_first(request, held, 10, 50)
        ]
    )  # fmt: skip


def subaccount_futures_assets(request: Request, scenario: Scenario, account: Account) -> Reply:
    kind = request.query.get("productType", "")
    if kind not in FUTURES_WALLETS:
        return error("40019", "Parameter productType cannot be empty")
    wallet = FUTURES_WALLETS[kind]
    return ok(
        [
            {"userId": int(s.id),
             "assetList": [futures_row(c, h) for c, h in s.wallet(wallet).items()]}
            for s in account.subaccounts.values()
            if s.wallet(wallet)
        ]
    )  # fmt: skip


# Read and write permission names, as Bitget lists them in `authorities`.
AUTHORITIES = {
    "read": ("coor", "cpor", "stor", "smor", "wtor"),
    "trade": ("coow", "cpow", "stow", "smow"),
    "transfer": ("wtow",),
    "withdraw": ("wwow",),
}


def account_info(request: Request, scenario: Scenario, account: Account) -> Reply:
    granted = [name for p, names in AUTHORITIES.items() if account.can(p) for name in names]
    return ok(
        {"userId": "1", "inviterId": "0", "ips": "", "authorities": granted, "parentId": 1,
         "traderType": "not_trader", "channelCode": "", "channel": "",
         "regisTime": "1246566789345"}
    )  # fmt: skip


def uta_settings(request: Request, scenario: Scenario, account: Account) -> Reply:
    # ccxt asks this (unless told uta=False) to learn whether the account is unified; the
    # emulated accounts are classic ones, which Bitget answers so.
    return error(
        "40084",
        "You are in Classic Account mode, and the Unified Account API is not supported at "
        "this time",
    )


ROUTES = {
    ("GET", "/api/v2/spot/public/coins"): Route(MARKETS, coins),
    ("GET", "/api/v2/spot/public/symbols"): Route(MARKETS, symbols),
    ("GET", "/api/v2/margin/currencies"): Route(MARKETS, margin_currencies),
    ("GET", "/api/v2/spot/market/tickers"): Route(TICKER, tickers),
    ("GET", "/api/v2/spot/account/assets"): Route(BALANCE, spot_assets, private=True),
    ("GET", "/api/v2/account/funding-assets"): Route(BALANCE, funding_assets, private=True),
    ("GET", "/api/v2/earn/account/assets"): Route(BALANCE, earn_assets, private=True),
    ("GET", "/api/v2/margin/crossed/account/assets"): Route(BALANCE, cross_assets, private=True),
    ("GET", "/api/v2/margin/isolated/account/assets"): Route(
        BALANCE, isolated_assets, private=True
    ),
    ("GET", "/api/v2/mix/account/accounts"): Route(BALANCE, futures_accounts, private=True),
    ("GET", "/api/v2/spot/account/info"): Route(ACCOUNT, account_info, private=True),
    ("GET", "/api/v3/account/settings"): Route(ACCOUNT, uta_settings, private=True),
    ("GET", "/api/v2/user/virtual-subaccount-list"): Route(
        ACCOUNT, virtual_subaccounts, private=True
    ),
    ("GET", "/api/v2/spot/account/subaccount-assets"): Route(
        BALANCE, subaccount_spot_assets, private=True
    ),
    ("GET", "/api/v2/mix/account/sub-account-assets"): Route(
        BALANCE, subaccount_futures_assets, private=True
    ),
}

SPEC = ExchangeSpec(NAME, "ACCESS-KEY", ROUTES, authenticate)

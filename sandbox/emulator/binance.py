"""binance: spot, funding, cross margin, USDⓈ-M futures, Simple Earn, staking, key permissions;
a master key's sub-accounts (listing, spot assets, cross margin, USDⓈ-M futures)."""

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
    hmac_hex,
    json_reply,
    now_ms,
    same,
)
from sandbox.emulator.scenario import Account, Holding, Scenario, SubAccount, fmt, split_symbol

NAME = "binance"


def error(code: int, msg: str, status: int) -> Reply:
    return json_reply({"code": code, "msg": msg}, status)


def authenticate(request: Request, scenario: Scenario) -> Account | Reply:
    account = scenario.account(NAME, request.header("X-MBX-APIKEY"))
    if account is None or account.revoked:
        return error(-2015, "Invalid API-key, IP, or permissions for action.", 401)
    # binance signs the query string (GET) or the form body (POST); the signature comes last.
    signed = request.raw_query if request.method in ("GET", "DELETE") else request.text
    payload, _, signature = signed.rpartition("&signature=")
    if not same(hmac_hex(account.secret, payload), signature):
        return error(-1022, "Signature for this request is not valid.", 400)
    return account


def market_id(symbol: str) -> str:
    return "".join(split_symbol(symbol))


def symbol_info(symbol: str) -> dict[str, Any]:
    base, quote = split_symbol(symbol)
    return {
        "symbol": market_id(symbol),
        "status": "TRADING",
        "baseAsset": base,
        "baseAssetPrecision": 8,
        "quoteAsset": quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "orderTypes": ["LIMIT", "MARKET"],
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": True,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.00000001", "maxPrice": "1000000.00",
             "tickSize": "0.00000001"},
            {"filterType": "LOT_SIZE", "minQty": "0.00000001", "maxQty": "9000000.00",
             "stepSize": "0.00000001"},
            {"filterType": "NOTIONAL", "minNotional": "5.00", "maxNotional": "9000000.00"},
        ],
        "permissions": [],
        "permissionSets": [["SPOT", "MARGIN"]],
    }  # fmt: skip


def exchange_info(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    symbols = [symbol_info(s) for s in scenario.symbols(NAME)]
    return json_reply(
        {"timezone": "UTC", "serverTime": now_ms(), "rateLimits": [], "exchangeFilters": [],
         "symbols": symbols}
    )  # fmt: skip


def empty_exchange_info(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    # Futures, coin-M and options markets: the emulator lists none.
    return json_reply({"timezone": "UTC", "serverTime": now_ms(), "symbols": []})


def empty_list(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    return json_reply([])


def currencies(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    return json_reply([currency(code) for code in scenario.codes(NAME)])


def currency(code: str) -> dict[str, Any]:
    network = {
        "network": code, "coin": code, "name": code, "isDefault": True, "depositEnable": True,
        "withdrawEnable": True, "withdrawFee": "0.0001", "withdrawMin": "0.001",
        "withdrawMax": "9999999", "withdrawIntegerMultiple": "0.00000001", "depositDust": "0",
    }  # fmt: skip
    return {
        "coin": code, "name": code, "depositAllEnable": True, "withdrawAllEnable": True,
        "free": "0", "locked": "0", "freeze": "0", "withdrawing": "0", "ipoing": "0",
        "ipoable": "0", "storage": "0", "isLegalMoney": False, "trading": True,
        "networkList": [network],
    }  # fmt: skip


def ticker(symbol: str, price: str) -> dict[str, Any]:
    return {
        "symbol": market_id(symbol), "priceChange": "0", "priceChangePercent": "0",
        "weightedAvgPrice": price, "prevClosePrice": price, "lastPrice": price,
        "lastQty": "1", "bidPrice": price, "bidQty": "1", "askPrice": price, "askQty": "1",
        "openPrice": price, "highPrice": price, "lowPrice": price, "volume": "1000",
        "quoteVolume": "1000", "openTime": now_ms() - 86_400_000, "closeTime": now_ms(),
        "firstId": 1, "lastId": 2, "count": 2,
    }  # fmt: skip


def tickers(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    all_tickers = [ticker(s, fmt(p)) for s, p in scenario.symbols(NAME).items()]
    query = request.query
    if "symbol" in query:
        found = [t for t in all_tickers if t["symbol"] == query["symbol"]]
        return json_reply(found[0]) if found else error(-1121, "Invalid symbol.", 400)
    if "symbols" in query:
        wanted = set(json.loads(query["symbols"]))
        all_tickers = [t for t in all_tickers if t["symbol"] in wanted]
    return json_reply(all_tickers)


def spot_account(request: Request, scenario: Scenario, account: Account) -> Reply:
    balances = [
        {"asset": code, "free": fmt(h.free), "locked": fmt(h.locked)}
        for code, h in account.wallet("spot").items()
    ]
    return json_reply(
        {"makerCommission": 10, "takerCommission": 10, "buyerCommission": 0,
         "sellerCommission": 0, "canTrade": account.can("trade"),
         "canWithdraw": account.can("withdraw"), "canDeposit": True, "brokered": False,
         "requireSelfTradePrevention": False, "preventSor": False, "updateTime": now_ms(),
         "accountType": "SPOT", "balances": balances, "permissions": ["SPOT"], "uid": 1}
    )  # fmt: skip


def funding_asset(request: Request, scenario: Scenario, account: Account) -> Reply:
    wanted = request.form.get("asset")
    return json_reply(
        [
            {"asset": code, "free": fmt(h.free), "locked": fmt(h.locked), "freeze": "0",
             "withdrawing": "0", "btcValuation": "0"}
            for code, h in account.wallet("funding").items()
            if wanted in (None, code)
        ]
    )  # fmt: skip


def margin_asset(code: str, h: Holding) -> dict[str, str]:
    return {
        "asset": code, "borrowed": fmt(h.borrowed), "free": fmt(h.free),
        "interest": fmt(h.interest), "locked": fmt(h.locked), "netAsset": fmt(h.net),
    }  # fmt: skip


def margin_account(request: Request, scenario: Scenario, account: Account) -> Reply:
    assets = [margin_asset(c, h) for c, h in account.wallet("margin").items()]
    return json_reply(
        {"created": True, "borrowEnabled": True, "marginLevel": "999.00000000",
         "collateralMarginLevel": "999.00000000", "totalAssetOfBtc": "0",
         "totalLiabilityOfBtc": "0", "totalNetAssetOfBtc": "0", "tradeEnabled": True,
         "transferInEnabled": True, "transferOutEnabled": True, "accountType": "MARGIN_1",
         "userAssets": assets}
    )  # fmt: skip


def futures_asset(code: str, h: Holding) -> dict[str, Any]:
    # updateTime 0 would make ccxt skip the asset as uninitialised. As in the recorded real
    # payloads, marginBalance = walletBalance + unrealizedProfit; ccxt's total is walletBalance.
    return {
        "asset": code, "walletBalance": fmt(h.total), "unrealizedProfit": fmt(h.upl),
        "marginBalance": fmt(h.total + h.upl), "maintMargin": "0",
        "initialMargin": fmt(h.locked), "positionInitialMargin": fmt(h.locked),
        "openOrderInitialMargin": "0", "crossWalletBalance": fmt(h.total),
        "crossUnPnl": fmt(h.upl), "marginAvailable": True,
        "availableBalance": fmt(h.free), "maxWithdrawAmount": fmt(h.free),
        "updateTime": now_ms(),
    }  # fmt: skip


def futures_account(request: Request, scenario: Scenario, account: Account) -> Reply:
    assets = [futures_asset(c, h) for c, h in account.wallet("future").items()]
    return json_reply(
        # The account-level totals are USDT values the emulator does not price: zeros.
        {"feeTier": "0", "canTrade": True, "canDeposit": True, "canWithdraw": True,
         "tradeGroupId": "-1", "updateTime": "0", "multiAssetsMargin": False,
         "totalInitialMargin": "0", "totalMaintMargin": "0", "totalWalletBalance": "0",
         "totalUnrealizedProfit": "0", "totalMarginBalance": "0",
         "totalPositionInitialMargin": "0", "totalOpenOrderInitialMargin": "0",
         "totalCrossWalletBalance": "0", "totalCrossUnPnl": "0", "availableBalance": "0",
         "maxWithdrawAmount": "0", "assets": assets, "positions": []}
    )  # fmt: skip


def page(request: Request, rows: list[dict[str, Any]]) -> Reply:
    """Simple Earn pages with current (from 1) and size (default 10, at most 100)."""
    query = request.query
    size = min(int(query.get("size", "10")), 100)
    start = (int(query.get("current", "1")) - 1) * size
    wanted = query.get("asset")
    rows = [r for r in rows if wanted in (None, r["asset"])]
    return json_reply({"rows": rows[start : start + size], "total": len(rows)})


def flexible_position(request: Request, scenario: Scenario, account: Account) -> Reply:
    rows = [
        {"totalAmount": fmt(h.total), "latestAnnualPercentageRate": "0.02", "asset": code,
         "canRedeem": True, "collateralAmount": "0", "productId": f"{code}001",
         "yesterdayRealTimeRewards": "0", "cumulativeBonusRewards": "0",
         "cumulativeRealTimeRewards": "0", "cumulativeTotalRewards": "0", "autoSubscribe": True}
        for code, h in account.wallet("earn_flexible").items()
    ]  # fmt: skip
    return page(request, rows)


def locked_position(request: Request, scenario: Scenario, account: Account) -> Reply:
    rows = [
        {"positionId": i + 1, "parentPositionId": 0, "projectId": f"{code}*90", "asset": code,
         "amount": fmt(h.total), "purchaseTime": str(now_ms()), "duration": "90",
         "accrualDays": "4", "rewardAsset": code, "APY": "0.05", "isRenewable": True,
         "isAutoRenew": True, "redeemDate": str(h.unlocks_at_ms(86))}
        for i, (code, h) in enumerate(account.wallet("earn_locked").items())
    ]  # fmt: skip
    return page(request, rows)


def staking_position(request: Request, scenario: Scenario, account: Account) -> Reply:
    return json_reply(
        [
            {"positionId": str(i + 1), "productId": f"{code}*60", "asset": code,
             "amount": fmt(h.total), "purchaseTime": now_ms(), "duration": "60",
             "accrualDays": "4", "rewardAsset": code, "APY": "0.05", "rewardAmt": "0",
             "canRedeemEarly": True, "autoRenew": False, "redeemPeriod": "1", "type": "NORMAL"}
            for i, (code, h) in enumerate(account.wallet("staking").items())
        ]
    )  # fmt: skip


def api_restrictions(request: Request, scenario: Scenario, account: Account) -> Reply:
    return json_reply(
        {"ipRestrict": False, "createTime": now_ms(), "enableReading": account.can("read"),
         "enableWithdrawals": account.can("withdraw"),
         "enableInternalTransfer": account.can("transfer"),
         "permitsUniversalTransfer": account.can("transfer"),
         "enableMargin": account.can("margin"), "enableFutures": account.can("futures"),
         "enableVanillaOptions": False, "enableFixApiTrade": False, "enableFixReadOnly": False,
         "enableSpotAndMarginTrading": account.can("trade"),
         "enablePortfolioMarginTrading": False}
    )  # fmt: skip


def subaccount_list(request: Request, scenario: Scenario, account: Account) -> Reply:
    """Pages by page (from 1) and limit (default 1, at most 200); no total is sent."""
    query = request.query
    limit = min(int(query.get("limit", "1")), 200)
    start = (int(query.get("page", "1")) - 1) * limit
    subs = list(account.subaccounts.values())[start : start + limit]
    return json_reply(
        {"subAccounts": [
            {"subUserId": 100_000 + sub.created_ms // 60_000 % 100_000, "email": sub.id,
             "remark": sub.name, "isFreeze": False, "createTime": sub.created_ms,
             "isManagedSubAccount": False, "isAssetManagementSubAccount": False}
            for sub in subs
        ]}
    )  # fmt: skip


def subaccount_of(request: Request, account: Account) -> SubAccount | Reply:
    sub = account.subaccounts.get(request.query.get("email", ""))
    return sub if sub is not None else error(-4003, "Your input email is invalid.", 400)


def subaccount_assets(request: Request, scenario: Scenario, account: Account) -> Reply:
    sub = subaccount_of(request, account)
    if isinstance(sub, Reply):
        return sub
    balances = [
        {"freeze": "0", "withdrawing": "0", "asset": code, "free": fmt(h.free),
         "locked": fmt(h.locked)}
        for code, h in sub.wallet("spot").items()
    ]  # fmt: skip
    return json_reply({"balances": balances})


def subaccount_margin(request: Request, scenario: Scenario, account: Account) -> Reply:
    sub = subaccount_of(request, account)
    if isinstance(sub, Reply):
        return sub
    return json_reply(
        {"email": sub.id, "marginLevel": "999.00000000", "totalAssetOfBtc": "0",
         "totalLiabilityOfBtc": "0", "totalNetAssetOfBtc": "0",
         "marginTradeCoeffVo": {"forceLiquidationBar": "1.10000000",
                                "marginCallBar": "1.50000000", "normalBar": "2.00000000"},
         "marginUserAssetVoList": [margin_asset(c, h) for c, h in sub.wallet("margin").items()]}
    )  # fmt: skip


def subaccount_futures(request: Request, scenario: Scenario, account: Account) -> Reply:
    sub = subaccount_of(request, account)
    if isinstance(sub, Reply):
        return sub
    if request.query.get("futuresType") != "1":
        return error(-1102, "Mandatory parameter 'futuresType' was not sent.", 400)
    assets = [
        {"asset": c, "initialMargin": fmt(h.locked), "maintenanceMargin": "0",
         "marginBalance": fmt(h.total + h.upl), "maxWithdrawAmount": fmt(h.free),
         "openOrderInitialMargin": "0", "positionInitialMargin": fmt(h.locked),
         "unrealizedProfit": fmt(h.upl), "walletBalance": fmt(h.total)}
        for c, h in sub.wallet("future").items()
    ]  # fmt: skip
    # The account-level totals are USDT values the emulator does not price: zeros.
    return json_reply(
        {"futureAccountResp": {
            "email": sub.id, "assets": assets, "canDeposit": True, "canTrade": True,
            "canWithdraw": True, "feeTier": 0, "maxWithdrawAmount": "0",
            "totalInitialMargin": "0", "totalMaintenanceMargin": "0",
            "totalMarginBalance": "0", "totalOpenOrderInitialMargin": "0",
            "totalPositionInitialMargin": "0", "totalUnrealizedProfit": "0",
            "totalWalletBalance": "0", "updateTime": now_ms()}}
    )  # fmt: skip


ROUTES = {
    ("GET", "/api/v3/exchangeInfo"): Route(MARKETS, exchange_info),
    ("GET", "/fapi/v1/exchangeInfo"): Route(MARKETS, empty_exchange_info),
    ("GET", "/dapi/v1/exchangeInfo"): Route(MARKETS, empty_exchange_info),
    ("GET", "/eapi/v1/exchangeInfo"): Route(MARKETS, empty_exchange_info),
    ("GET", "/sapi/v1/margin/allPairs"): Route(MARKETS, empty_list, private=True),
    ("GET", "/sapi/v1/margin/isolated/allPairs"): Route(MARKETS, empty_list, private=True),
    ("GET", "/sapi/v1/capital/config/getall"): Route(MARKETS, currencies, private=True),
    ("GET", "/api/v3/ticker/24hr"): Route(TICKER, tickers),
    ("GET", "/api/v3/account"): Route(BALANCE, spot_account, private=True),
    ("POST", "/sapi/v1/asset/get-funding-asset"): Route(BALANCE, funding_asset, private=True),
    ("GET", "/sapi/v1/margin/account"): Route(BALANCE, margin_account, private=True),
    ("GET", "/fapi/v3/account"): Route(BALANCE, futures_account, private=True),
    ("GET", "/fapi/v2/account"): Route(BALANCE, futures_account, private=True),
    ("GET", "/sapi/v1/simple-earn/flexible/position"): Route(
        BALANCE, flexible_position, private=True
    ),
    ("GET", "/sapi/v1/simple-earn/locked/position"): Route(BALANCE, locked_position, private=True),
    ("GET", "/sapi/v1/staking/position"): Route(BALANCE, staking_position, private=True),
    ("GET", "/sapi/v1/account/apiRestrictions"): Route(ACCOUNT, api_restrictions, private=True),
    ("GET", "/sapi/v1/sub-account/list"): Route(ACCOUNT, subaccount_list, private=True),
    ("GET", "/sapi/v4/sub-account/assets"): Route(BALANCE, subaccount_assets, private=True),
    ("GET", "/sapi/v1/sub-account/margin/account"): Route(BALANCE, subaccount_margin, private=True),
    ("GET", "/sapi/v2/sub-account/futures/account"): Route(
        BALANCE, subaccount_futures, private=True
    ),
}

SPEC = ExchangeSpec(NAME, "X-MBX-APIKEY", ROUTES, authenticate)

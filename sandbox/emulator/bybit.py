"""bybit v5: unified and FUND wallets, Earn positions, key info, coins, instruments, tickers;
a master key's sub-accounts (listing, UNIFIED and FUND coin balances by memberId)."""

from __future__ import annotations

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

NAME = "bybit"
EARN_WALLETS = {"FlexibleSaving": "earn_flexible", "OnChain": "earn_onchain"}


def ok(result: dict[str, Any]) -> Reply:
    return json_reply(
        {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": now_ms()}
    )


def error(code: int, msg: str, status: int = 200) -> Reply:
    return json_reply(
        {"retCode": code, "retMsg": msg, "result": {}, "retExtInfo": {}, "time": now_ms()}, status
    )


def authenticate(request: Request, scenario: Scenario) -> Account | Reply:
    account = scenario.account(NAME, request.header("X-BAPI-API-KEY"))
    if account is None or account.revoked:
        return error(10003, "API key is invalid.")
    if not same(signature(account, request), request.header("X-BAPI-SIGN")):
        return error(10004, "error sign! origin_string[...]")
    return account


def signature(account: Account, request: Request) -> str:
    """hex HMAC-SHA256 of timestamp + key + recv window + (query string or JSON body)."""
    payload = request.raw_query if request.method == "GET" else request.text
    prehash = (
        request.header("X-BAPI-TIMESTAMP")
        + account.api_key
        + request.header("X-BAPI-RECV-WINDOW")
        + payload
    )
    return hmac_hex(account.secret, prehash)


def instrument(symbol: str) -> dict[str, Any]:
    base, quote = split_symbol(symbol)
    return {
        "symbol": base + quote, "baseCoin": base, "quoteCoin": quote, "innovation": "0",
        "status": "Trading", "marginTrading": "both", "stTag": "0",
        "lotSizeFilter": {"basePrecision": "0.000001", "quotePrecision": "0.00000001",
                          "minOrderQty": "0.000048", "maxOrderQty": "71.73956243",
                          "minOrderAmt": "1", "maxOrderAmt": "2000000"},
        "priceFilter": {"tickSize": "0.00000001"},
    }  # fmt: skip


def instruments(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    category = request.query.get("category", "")
    rows = [instrument(s) for s in scenario.symbols(NAME)] if category == "spot" else []
    return ok({"category": category, "list": rows, "nextPageCursor": ""})


def coin_info(request: Request, scenario: Scenario, _: Account) -> Reply:
    chain = {
        "chainType": "", "confirmation": "6", "withdrawFee": "0.0001", "depositMin": "0",
        "withdrawMin": "0.001", "minAccuracy": "8", "chainDeposit": "1", "chainWithdraw": "1",
    }  # fmt: skip
    rows = [
        {"name": c, "coin": c, "remainAmount": "1000000", "chains": [chain | {"chain": c}]}
        for c in scenario.codes(NAME)
    ]
    return ok({"rows": rows})


def ticker(symbol: str, price: str) -> dict[str, Any]:
    base, quote = split_symbol(symbol)
    return {
        "symbol": base + quote, "bid1Price": price, "bid1Size": "1", "ask1Price": price,
        "ask1Size": "1", "lastPrice": price, "prevPrice24h": price, "price24hPcnt": "0",
        "highPrice24h": price, "lowPrice24h": price, "turnover24h": "1000",
        "volume24h": "1000", "usdIndexPrice": price,
    }  # fmt: skip


def tickers(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    category = request.query.get("category", "")
    rows = []
    if category == "spot":
        rows = [ticker(s, fmt(p)) for s, p in scenario.symbols(NAME).items()]
    return ok({"category": category, "list": rows})


def unified_coin(code: str, h: Holding) -> dict[str, Any]:
    # UTA 2.0 leaves availableToWithdraw and free empty: ccxt computes free = total - locked.
    # As in the recorded real payloads, equity = walletBalance + unrealisedPnl less the debt
    # (Bybit: walletBalance - spotBorrow + unrealisedPnl); ccxt's total is walletBalance.
    return {
        "coin": code, "equity": fmt(h.equity), "usdValue": "0", "walletBalance": fmt(h.total),
        "free": "", "locked": fmt(h.locked), "spotHedgingQty": "0",
        "borrowAmount": fmt(h.borrowed), "spotBorrow": fmt(h.borrowed),
        "availableToWithdraw": "", "availableToBorrow": "",
        "accruedInterest": fmt(h.interest), "totalOrderIM": "0", "totalPositionIM": "0",
        "totalPositionMM": "0", "unrealisedPnl": fmt(h.upl), "cumRealisedPnl": "0",
        "bonus": "0", "marginCollateral": True, "collateralSwitch": True,
    }  # fmt: skip


def wallet_balance(request: Request, scenario: Scenario, account: Account) -> Reply:
    kind = request.query.get("accountType", "")
    if kind != "UNIFIED":
        return error(10001, f"accountType only support UNIFIED, got {kind}")
    coins = [unified_coin(c, h) for c, h in account.wallet("unified").items()]
    # The account-level totals are USD values the emulator does not price: zeros.
    entry = {"accountType": "UNIFIED", "totalEquity": "0", "totalWalletBalance": "0",
             "totalMarginBalance": "0", "totalAvailableBalance": "0", "totalPerpUPL": "0",
             "totalInitialMargin": "0", "totalMaintenanceMargin": "0", "accountIMRate": "0",
             "accountMMRate": "0", "accountLTV": "0", "coin": coins}  # fmt: skip
    return ok({"list": [entry]})


# query-account-coins-balance: the master's FUND wallet, or with memberId a sub-member's wallet.
MEMBER_WALLETS = {"FUND": "funding", "UNIFIED": "unified"}


def fund_balance(request: Request, scenario: Scenario, account: Account) -> Reply:
    kind = request.query.get("accountType", "")
    member = request.query.get("memberId")
    if member is None and kind == "FUND":
        return coins_reply("1", kind, account.wallet("funding"))
    if member is None or kind not in MEMBER_WALLETS:
        return error(10001, "accountType invalid")
    sub = account.subaccounts.get(member)
    if sub is None:
        return error(131202, "Invalid memberId")
    return coins_reply(sub.id, kind, sub.wallet(MEMBER_WALLETS[kind]))


def coins_reply(member: str, kind: str, wallet: dict[str, Holding]) -> Reply:
    rows = [
        {"coin": c, "walletBalance": fmt(h.total), "transferBalance": fmt(h.free), "bonus": ""}
        for c, h in wallet.items()
    ]
    return ok({"memberId": member, "accountType": kind, "balance": rows})


def submembers(request: Request, scenario: Scenario, account: Account) -> Reply:
    """Pages of pageSize (at most 100) from nextCursor (an offset here); "0": no more."""
    size = min(int(request.query.get("pageSize") or "100"), 100)
    start = int(request.query.get("nextCursor") or "0")
    subs = list(account.subaccounts.values())
    rows = [
        {"uid": s.id, "username": f"user{s.id}", "memberType": 1, "status": 1,
         "accountMode": 6, "remark": s.name}
        for s in subs[start : start + size]
    ]  # fmt: skip
    following = str(start + size) if start + size < len(subs) else "0"
    return ok({"subMembers": rows, "nextCursor": following})


def earn_position(request: Request, scenario: Scenario, account: Account) -> Reply:
    category = request.query.get("category", "")
    if category not in EARN_WALLETS:
        return error(180001, "category: invalid parameter")
    rows = [
        {"coin": c, "productId": f"{c}-{category}", "amount": fmt(h.total), "totalPnl": "0",
         "claimableYield": "0", "id": str(i + 1), "status": "Active", "orderId": "",
         "estimateRedeemTime": "", "estimateStakeTime": "", "settlementTime": ""}
        for i, (c, h) in enumerate(account.wallet(EARN_WALLETS[category]).items())
        if request.query.get("coin") in (None, c)
    ]  # fmt: skip
    return ok({"list": rows})


def query_api(request: Request, scenario: Scenario, account: Account) -> Reply:
    wallet = ["AccountTransfer"] if account.can("transfer") else []
    wallet += ["Withdraw"] if account.can("withdraw") else []
    perms = {
        "ContractTrade": ["Order", "Position"] if account.can("futures") else [],
        "Spot": ["SpotTrade"] if account.can("trade") else [], "Wallet": wallet,
        "Options": [], "Derivatives": [], "Exchange": [], "Earn": [], "NFT": [],
        "CopyTrading": [], "BlockTrade": [], "Affiliate": [],
    }  # fmt: skip
    read_only = not (account.can("trade") or account.can("withdraw") or account.can("transfer"))
    return ok(
        {"id": "1", "note": account.label, "apiKey": account.api_key, "readOnly": int(read_only),
         "secret": "", "permissions": perms, "ips": ["*"], "type": 1, "deadlineDay": 90,
         "unified": 0, "uta": 1, "userID": 1, "inviterID": 0, "vipLevel": "No VIP",
         "isMaster": True, "parentUid": "0", "kycLevel": "LEVEL_1"}
    )  # fmt: skip


def account_info(request: Request, scenario: Scenario, account: Account) -> Reply:
    return ok(
        {"unifiedMarginStatus": 6, "marginMode": "REGULAR_MARGIN", "isMasterTrader": False,
         "spotHedgingStatus": "OFF", "updatedTime": str(now_ms()), "dcpStatus": "OFF",
         "timeWindow": 10, "smpGroup": 0}
    )  # fmt: skip


ROUTES = {
    ("GET", "/v5/market/instruments-info"): Route(MARKETS, instruments),
    ("GET", "/v5/asset/coin/query-info"): Route(MARKETS, coin_info, private=True),
    ("GET", "/v5/market/tickers"): Route(TICKER, tickers),
    ("GET", "/v5/account/wallet-balance"): Route(BALANCE, wallet_balance, private=True),
    ("GET", "/v5/asset/transfer/query-account-coins-balance"): Route(
        BALANCE, fund_balance, private=True
    ),
    ("GET", "/v5/earn/position"): Route(BALANCE, earn_position, private=True),
    ("GET", "/v5/user/query-api"): Route(ACCOUNT, query_api, private=True),
    ("GET", "/v5/account/info"): Route(ACCOUNT, account_info, private=True),
    ("GET", "/v5/user/submembers"): Route(ACCOUNT, submembers, private=True),
}

SPEC = ExchangeSpec(NAME, "X-BAPI-API-KEY", ROUTES, authenticate)

"""okx: trading account, funding account, savings; currencies (signed), instruments, tickers;
a master key's sub-accounts (listing, trading and funding balances)."""

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
    hmac_b64,
    json_reply,
    now_ms,
    same,
)
from sandbox.emulator.scenario import Account, Holding, Scenario, SubAccount, fmt, split_symbol

NAME = "okx"


def ok(data: list[Any]) -> Reply:
    return json_reply({"code": "0", "msg": "", "data": data})


def error(code: str, msg: str, status: int = 401) -> Reply:
    return json_reply({"code": code, "msg": msg, "data": []}, status)


def authenticate(request: Request, scenario: Scenario) -> Account | Reply:
    account = scenario.account(NAME, request.header("OK-ACCESS-KEY"))
    if account is None or account.revoked:
        return error("50111", "Invalid OK-ACCESS-KEY")
    if account.password is not None and request.header("OK-ACCESS-PASSPHRASE") != account.password:
        return error("50105", "Request header OK-ACCESS-PASSPHRASE incorrect.")
    if not same(signature(account.secret, request), request.header("OK-ACCESS-SIGN")):
        return error("50113", "Invalid Sign")
    return account


def signature(secret: str, request: Request) -> str:
    """base64 HMAC-SHA256 of timestamp + method + path with query + body."""
    path = request.path + (f"?{request.raw_query}" if request.raw_query else "")
    prehash = request.header("OK-ACCESS-TIMESTAMP") + request.method + path + request.text
    return hmac_b64(secret.encode(), prehash.encode())


def instrument(symbol: str) -> dict[str, Any]:
    base, quote = split_symbol(symbol)
    return {
        "instType": "SPOT", "instId": f"{base}-{quote}", "uly": "", "instFamily": "",
        "baseCcy": base, "quoteCcy": quote, "settleCcy": "", "ctVal": "", "ctMult": "",
        "ctValCcy": "", "optType": "", "stk": "", "listTime": "1606468572000", "expTime": "",
        "lever": "10", "tickSz": "0.00000001", "lotSz": "0.00000001", "minSz": "0.00001",
        "ctType": "", "alias": "", "state": "live", "maxLmtSz": "9999999999",
        "maxMktSz": "1000000", "ruleType": "normal",
    }  # fmt: skip


def instruments(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    if request.query.get("instType") != "SPOT":
        return ok([])  # futures, swaps and options: the emulator lists none
    return ok([instrument(s) for s in scenario.symbols(NAME)])


def currency(code: str) -> dict[str, Any]:
    return {
        "ccy": code, "name": code, "chain": f"{code}-{code}", "canDep": True, "canWd": True,
        "canInternal": True, "minWd": "0.001", "maxWd": "9999999", "wdTickSz": "8",
        "minFee": "0.0001", "maxFee": "0.001", "fee": "0.0001", "mainNet": True, "logoLink": "",
    }  # fmt: skip


def currencies(request: Request, scenario: Scenario, _: Account) -> Reply:
    return ok([currency(code) for code in scenario.codes(NAME)])


def ticker(symbol: str, price: str) -> dict[str, Any]:
    base, quote = split_symbol(symbol)
    return {
        "instType": "SPOT", "instId": f"{base}-{quote}", "last": price, "lastSz": "0.1",
        "askPx": price, "askSz": "1", "bidPx": price, "bidSz": "1", "open24h": price,
        "high24h": price, "low24h": price, "volCcy24h": "1000", "vol24h": "1000",
        "ts": str(now_ms()), "sodUtc0": price, "sodUtc8": price,
    }  # fmt: skip


def tickers(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    if request.query.get("instType") != "SPOT":
        return ok([])
    return ok([ticker(s, fmt(p)) for s, p in scenario.symbols(NAME).items()])


def trading_detail(code: str, h: Holding) -> dict[str, Any]:
    # Borrowings show as liabilities; ccxt's unified okx balance ignores them (read info).
    # As in the recorded real payloads, eq = cashBal + upl (the unrealised PnL of positions).
    return {
        "ccy": code, "eq": fmt(h.total + h.upl), "cashBal": fmt(h.total),
        "availBal": fmt(h.free), "availEq": fmt(h.free), "frozenBal": fmt(h.locked),
        "ordFrozen": fmt(h.locked), "liab": fmt(h.borrowed), "crossLiab": fmt(h.borrowed),
        "interest": fmt(h.interest), "upl": fmt(h.upl), "uplLiab": "0", "isoEq": "0",
        "isoLiab": "0", "isoUpl": "0", "fixedBal": "0", "borrowFroz": "0", "disEq": "0",
        "eqUsd": "0", "uTime": str(now_ms()),
        # The rest of a real detail row (position averages, loans, copy trading): neutral.
        "accAvgPx": "", "clSpotInUseAmt": "", "colBorrAutoConversion": "0",
        "collateralEnabled": False, "collateralRestrict": False, "imr": "", "maxLoan": "0",
        "maxSpotInUse": "", "mgnRatio": "", "mmr": "", "notionalLever": "", "openAvgPx": "",
        "rewardBal": "", "smtSyncEq": "0", "spotBal": "", "spotCopyTradingEq": "0",
        "spotInUseAmt": "", "spotIsoBal": "0", "spotUpl": "", "spotUplRatio": "",
        "stgyEq": "0", "totalPnl": "", "totalPnlRatio": "", "twap": "0",
    }  # fmt: skip


def wanted(request: Request, code: str) -> bool:
    ccy = request.query.get("ccy")
    return not ccy or code in ccy.split(",")


def trading_balance(request: Request, scenario: Scenario, account: Account) -> Reply:
    return trading_reply(request, account.wallet("trading"))


def trading_reply(request: Request, wallet: dict[str, Holding]) -> Reply:
    details = [trading_detail(c, h) for c, h in wallet.items() if wanted(request, c)]
    # The account-level figures are USD values the emulator does not price: zeros.
    return ok(
        [{"uTime": str(now_ms()), "totalEq": "0", "adjEq": "", "isoEq": "0", "upl": "0",
          "imr": "", "mmr": "", "details": details}]
    )  # fmt: skip


def funding_balance(request: Request, scenario: Scenario, account: Account) -> Reply:
    return funding_reply(request, account.wallet("funding"))


def funding_reply(request: Request, wallet: dict[str, Holding]) -> Reply:
    return ok(
        [
            {"ccy": c, "bal": fmt(h.total), "availBal": fmt(h.free), "frozenBal": fmt(h.locked)}
            for c, h in wallet.items()
            if wanted(request, c)
        ]
    )


def savings_balance(request: Request, scenario: Scenario, account: Account) -> Reply:
    return ok(
        [
            {"ccy": c, "amt": fmt(h.total), "earnings": "0", "rate": "0.01",
             "loanAmt": fmt(h.total), "pendingAmt": "0", "redemptAmt": ""}
            for c, h in account.wallet("savings").items()
            if wanted(request, c)
        ]
    )  # fmt: skip


def account_config(request: Request, scenario: Scenario, account: Account) -> Reply:
    perm = ",".join(p for p in ("read_only", "trade", "withdraw") if account.can(p.split("_")[0]))
    return ok([{"uid": "1", "acctLv": "2", "posMode": "net_mode", "perm": perm, "label": ""}])


def subaccount_row(sub: SubAccount) -> dict[str, Any]:
    return {
        "type": "1", "enable": True, "subAcct": sub.id, "uid": str(sub.created_ms // 1000),
        "label": sub.name, "mobile": "", "gAuth": False, "frozenFunc": [],
        "canTransOut": True, "ts": str(sub.created_ms), "subAcctLv": "1",
        "firstLvSubAcct": sub.id, "ifDma": False,
    }  # fmt: skip


def subaccount_list(request: Request, scenario: Scenario, account: Account) -> Reply:
    """Newest first; `after` (a creation ts) pages to older ones, at most `limit` (100)."""
    query = request.query
    limit = min(int(query.get("limit") or "100"), 100)
    subs = sorted(account.subaccounts.values(), key=lambda s: s.created_ms, reverse=True)
    if query.get("after"):
        subs = [s for s in subs if s.created_ms < int(query["after"])]
    return ok([subaccount_row(s) for s in subs[:limit]])


def subaccount_of(request: Request, account: Account) -> SubAccount | Reply:
    sub = account.subaccounts.get(request.query.get("subAcct", ""))
    return sub if sub is not None else error("58115", "Sub-account does not exist.", 200)


def subaccount_trading(request: Request, scenario: Scenario, account: Account) -> Reply:
    sub = subaccount_of(request, account)
    return sub if isinstance(sub, Reply) else trading_reply(request, sub.wallet("trading"))


def subaccount_funding(request: Request, scenario: Scenario, account: Account) -> Reply:
    sub = subaccount_of(request, account)
    return sub if isinstance(sub, Reply) else funding_reply(request, sub.wallet("funding"))


ROUTES = {
    ("GET", "/api/v5/public/instruments"): Route(MARKETS, instruments),
    ("GET", "/api/v5/asset/currencies"): Route(MARKETS, currencies, private=True),
    ("GET", "/api/v5/market/tickers"): Route(TICKER, tickers),
    ("GET", "/api/v5/account/balance"): Route(BALANCE, trading_balance, private=True),
    ("GET", "/api/v5/asset/balances"): Route(BALANCE, funding_balance, private=True),
    ("GET", "/api/v5/finance/savings/balance"): Route(BALANCE, savings_balance, private=True),
    ("GET", "/api/v5/account/config"): Route(ACCOUNT, account_config, private=True),
    ("GET", "/api/v5/users/subaccount/list"): Route(ACCOUNT, subaccount_list, private=True),
    ("GET", "/api/v5/account/subaccount/balances"): Route(
        BALANCE, subaccount_trading, private=True
    ),
    ("GET", "/api/v5/asset/subaccount/balances"): Route(BALANCE, subaccount_funding, private=True),
}

SPEC = ExchangeSpec(NAME, "OK-ACCESS-KEY", ROUTES, authenticate)

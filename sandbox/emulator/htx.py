"""htx (Huobi): the account list and each account's balance, the API key's permissions, USDT-M
(v5) and coin-margined swap and futures accounts; spot symbols, currencies and tickers; the master
key's sub-users (the paged list and each one's accounts with their balances).

Requests arrive under the spot host (api.huobi.pro) or the contract host (api.hbdm.vn); the
signature names the host the path belongs to, whichever host the request came to (ccxt's
`{hostname}` is filled in once when pointed at the emulator). HTX's contract API and its
tickers send amounts as JSON numbers: written here from the scenario's exact decimals.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

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

NAME = "htx"
SPOT_HOST = "api.huobi.pro"
CONTRACT_HOST = "api.hbdm.vn"
CONTRACT_PATHS = ("/linear-swap-api/", "/swap-api/", "/api/v1/contract_", "/v5/")
NUMBER = re.compile(r'"\\u0000(-?[0-9.]+)\\u0000"')
# The scenario's wallets and the HTX account each is: (id, type).
ACCOUNTS = {
    "spot": (10001, "spot"),
    "super_margin": (10002, "super-margin"),
    "otc": (10003, "otc"),
    "deposit_earning": (10004, "deposit-earning"),
    "point": (10005, "point"),
}
UID = 63000123
SUB_USER_PAGE = 100  # HTX: at most 100 sub-users per answer, in ascending uid
SUB_USER_BALANCE = "/v1/account/accounts/{sub-uid}"
SUB_UID = re.compile(r"/v1/account/accounts/[0-9]+")


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


def ok(data: Any) -> Reply:
    return json_reply({"status": "ok", "data": data, "ts": now_ms()})


def v1_error(code: str, msg: str) -> Reply:
    return json_reply({"status": "error", "err-code": code, "err-msg": msg, "data": None})


def contract_error(code: int, msg: str) -> Reply:
    return json_reply({"status": "error", "err_code": code, "err_msg": msg, "ts": now_ms()})


def is_contract(request: Request) -> bool:
    return request.path.startswith(CONTRACT_PATHS)


def read_key(request: Request) -> str:
    return request.query.get("AccessKeyId", "")


def authenticate(request: Request, scenario: Scenario) -> Account | Reply:
    """base64 HMAC-SHA256 of method, host, path and the sorted query before its Signature."""
    account = scenario.account(NAME, read_key(request))
    contract = is_contract(request)
    if account is None or account.revoked:
        if contract:
            return contract_error(403, "Incorrect Access key [Access key错误]")
        return v1_error("api-signature-not-valid", "Signature not valid: Incorrect Access key")
    signed, _, given = request.raw_query.rpartition("&Signature=")
    host = CONTRACT_HOST if contract else SPOT_HOST
    prehash = "\n".join((request.method, host, request.path, signed))
    if not same(hmac_b64(account.secret.encode(), prehash.encode()), unquote(given)):
        if contract:
            return contract_error(403, "Verification failure [校验失败]")
        return v1_error("api-signature-not-valid", "Signature not valid: Verification failure")
    return account


def symbol_row(symbol: str) -> dict[str, Any]:
    base, quote = (c.lower() for c in split_symbol(symbol))
    return {
        "base-currency": base, "quote-currency": quote, "price-precision": 2,
        "amount-precision": 6, "symbol-partition": "main", "symbol": base + quote,
        "state": "online", "value-precision": 8, "min-order-amt": Decimal("0.0001"),
        "max-order-amt": 1000, "min-order-value": 5, "limit-order-min-order-amt": 0.0001,
        "limit-order-max-order-amt": 1000, "sell-market-min-order-amt": Decimal("0.0001"),
        "sell-market-max-order-amt": 100, "buy-market-max-order-value": 1000000,
        "api-trading": "enabled",
    }  # fmt: skip


def symbols(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    rows = [symbol_row(s) for s in scenario.symbols(NAME)]
    return number_reply({"status": "ok", "data": rows})


def currencies(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    rows = [
        {"currency": c.lower(), "assetType": 1, "instStatus": "normal", "chains": [
            {"chain": c.lower(), "displayName": c, "baseChain": c, "baseChainProtocol": "",
             "isDynamic": False, "numOfConfirmations": 12, "numOfFastConfirmations": 6,
             "depositStatus": "allowed", "minDepositAmt": "0.001", "withdrawStatus": "allowed",
             "minWithdrawAmt": "0.001", "withdrawPrecision": 8, "maxWithdrawAmt": "1000000",
             "withdrawQuotaPerDay": "1000000", "withdrawQuotaPerYear": None,
             "withdrawQuotaTotal": None, "withdrawFeeType": "fixed",
             "transactFeeWithdraw": "0.0001", "addrWithTag": False,
             "addrDepositTag": False}]}
        for c in scenario.codes(NAME)
    ]  # fmt: skip
    return json_reply({"code": 200, "data": rows})


def tickers(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    rows = [
        {"symbol": "".join(split_symbol(s)).lower(), "open": p, "high": p, "low": p, "close": p,
         "amount": Decimal("1000"), "vol": Decimal("1000"), "count": 100, "bid": p,
         "bidSize": Decimal("1"), "ask": p, "askSize": Decimal("1")}
        for s, p in scenario.symbols(NAME).items()
    ]  # fmt: skip
    return number_reply({"status": "ok", "ts": now_ms(), "data": rows})


def accounts(request: Request, scenario: Scenario, account: Account) -> Reply:
    rows = [
        {"id": number, "type": kind, "subtype": "", "state": "working"}
        for number, kind in ACCOUNTS.values()
    ]
    return ok(rows)


def balance_rows(code: str, h: Holding) -> list[dict[str, str]]:
    rows = [("trade", h.free), ("frozen", h.locked)]
    if h.borrowed or h.interest:  # HTX reports debts as negative balances
        rows += [("loan", -h.borrowed), ("interest", -h.interest)]
    return [
        {"currency": code.lower(), "type": kind, "balance": fmt(value), "seq-num": "1"}
        for kind, value in rows
    ]


def account_balance(request: Request, scenario: Scenario, account: Account) -> Reply:
    number = request.path.split("/")[4]
    wallet = next((w for w, (n, _) in ACCOUNTS.items() if str(n) == number), None)
    if wallet is None:
        return v1_error("account-frozen-account-inexistent-error", "account for id not exist")
    rows = [row for c, h in account.wallet(wallet).items() for row in balance_rows(c, h)]
    kind = ACCOUNTS[wallet][1]
    return ok({"id": int(number), "type": kind, "state": "working", "list": rows})


def linear_balance(request: Request, scenario: Scenario, account: Account) -> Reply:
    details = [
        {"currency": c, "equity": fmt(h.equity), "available": fmt(h.free),
         "profit_unreal": fmt(h.upl), "initial_margin": fmt(h.locked), "maintenance_margin": "0",
         "maintenance_margin_rate": "0", "initial_margin_rate": "0",
         "available_margin": fmt(h.free), "voucher": "0", "voucher_value": "0",
         "withdraw_available": fmt(h.free), "created_time": now_ms(), "updated_time": now_ms(),
         "isolated_equity": "0", "isolated_profit_unreal": "0"}
        for c, h in account.wallet("linear_swap").items()
    ]  # fmt: skip
    equity = sum((h.equity for h in account.wallet("linear_swap").values()), Decimal(0))
    data = {"state": "normal", "equity": fmt(equity), "details": details,
            "initial_margin": "0", "maintenance_margin": "0", "maintenance_margin_rate": "0",
            "profit_unreal": "0", "available_margin": "0", "voucher_value": "0",
            "created_time": now_ms(), "updated_time": now_ms()}  # fmt: skip
    return json_reply({"code": 200, "message": "Success", "data": data, "ts": now_ms()})


def coin_row(code: str, h: Holding, swap: bool) -> dict[str, Any]:
    # margin_balance (the account's equity) = margin_static (its balance) + profit_unreal.
    row = {
        "symbol": code, "margin_balance": h.equity, "margin_position": h.locked,
        "margin_frozen": Decimal(0), "margin_available": h.free, "profit_real": Decimal(0),
        "profit_unreal": h.upl, "risk_rate": None, "withdraw_available": h.free,
        "liquidation_price": None, "lever_rate": 5, "adjust_factor": Decimal("0.025"),
        "margin_static": h.net,
    }  # fmt: skip
    if swap:
        return row | {"contract_code": f"{code}-USD", "transfer_profit_ratio": None}
    return row | {"is_debit": 0}


def coin_accounts(wallet: str, swap: bool) -> Any:
    def serve(request: Request, scenario: Scenario, account: Account) -> Reply:
        rows = [coin_row(c, h, swap) for c, h in account.wallet(wallet).items()]
        return number_reply({"status": "ok", "data": rows, "ts": now_ms()})

    return serve


def sub_users(request: Request, scenario: Scenario, account: Account) -> Reply:
    """Pages of SUB_USER_PAGE by uid from fromId (inclusive); nextId while there are more."""
    start = int(request.query.get("fromId") or 0)
    subs = sorted((s for s in account.subaccounts.values() if int(s.id) >= start), key=uid_of)
    rows = [
        {"uid": int(s.id), "userState": "normal", "subUserName": f"user{s.id}", "note": s.name}
        for s in subs[:SUB_USER_PAGE]
    ]
    reply: dict[str, Any] = {"code": 200, "data": rows}
    if len(subs) > SUB_USER_PAGE:
        reply["nextId"] = int(subs[SUB_USER_PAGE].id)
    return json_reply(reply)


def uid_of(sub: SubAccount) -> int:
    return int(sub.id)


def sub_user_balance(request: Request, scenario: Scenario, account: Account) -> Reply:
    """Every account of the sub-user (ids of its own) with its balance rows."""
    sub = account.subaccounts.get(request.path.rsplit("/", 1)[1])
    if sub is None:
        return v1_error("account-get-accounts-inexist-error", "account for the sub-user not exist")
    data = [
        {"id": int(sub.id) * 10 + i, "type": kind, "state": "working", "symbol": "",
         "list": [row for c, h in sub.wallet(wallet).items() for row in balance_rows(c, h)]}
        for i, (wallet, (_, kind)) in enumerate(ACCOUNTS.items())
        if wallet in sub.balances
    ]  # fmt: skip
    return ok(data)


class Routes(dict[tuple[str, str], Route]):
    """The routes, a sub-user's balance path (its uid in the path) found by its pattern."""

    def get(self, key: tuple[str, str], default: Any = None) -> Any:
        method, path = key
        if method == "GET" and SUB_UID.fullmatch(path):
            key = ("GET", SUB_USER_BALANCE)
        return super().get(key, default)


def uid(request: Request, scenario: Scenario, account: Account) -> Reply:
    return json_reply({"code": 200, "data": UID})


def api_key(request: Request, scenario: Scenario, account: Account) -> Reply:
    if request.query.get("uid") != str(UID):
        return json_reply({"code": 2002, "message": "invalid field value in `uid`"})
    granted = ["readOnly"] + [p for p in ("trade", "withdraw") if account.can(p)]
    row = {
        "accessKey": account.api_key, "status": "normal", "note": account.label,
        "permission": ",".join(granted), "ipAddresses": "", "validDays": -1,
        "createTime": 1700000000000, "updateTime": 1700000000000,
    }  # fmt: skip
    wanted = request.query.get("accessKey")
    rows = [row] if wanted in (None, account.api_key) else []
    return json_reply({"code": 200, "message": "success", "data": rows})


ROUTES = {
    ("GET", "/v1/common/symbols"): Route(MARKETS, symbols),
    ("GET", "/v2/reference/currencies"): Route(MARKETS, currencies),
    ("GET", "/market/tickers"): Route(TICKER, tickers),
    # The account list says which balances to ask for: account structure, not a balance.
    ("GET", "/v1/account/accounts"): Route(ACCOUNT, accounts, private=True),
    ("GET", "/v2/user/uid"): Route(ACCOUNT, uid, private=True),
    ("GET", "/v2/user/api-key"): Route(ACCOUNT, api_key, private=True),
    ("GET", "/v2/sub-user/user-list"): Route(ACCOUNT, sub_users, private=True),
    ("GET", SUB_USER_BALANCE): Route(BALANCE, sub_user_balance, private=True),
    ("GET", "/v5/account/balance"): Route(BALANCE, linear_balance, private=True),
    ("POST", "/swap-api/v1/swap_account_info"): Route(
        BALANCE, coin_accounts("coin_swap", swap=True), private=True
    ),
    ("POST", "/api/v1/contract_account_info"): Route(
        BALANCE, coin_accounts("coin_futures", swap=False), private=True
    ),
}
# One balance route per account the emulator lists.
ROUTES |= {
    ("GET", f"/v1/account/accounts/{number}/balance"): Route(BALANCE, account_balance, private=True)
    for number, _ in ACCOUNTS.values()
}

SPEC = ExchangeSpec(
    NAME, "", Routes(ROUTES), authenticate, account_key=read_key, hosts=(SPOT_HOST, CONTRACT_HOST)
)

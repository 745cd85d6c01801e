"""cryptocom (Exchange API v1): the unified wallet (user-balance), staking positions, the master
key's sub-accounts (get-accounts, get-subaccount-balances), currency
networks (private), instruments, tickers.

Private requests are JSON bodies {id, method, params, api_key, sig, nonce}: the key travels in the
body, not in a header, and the signature is hex HMAC-SHA256 of method + id + api_key + the params
flattened with sorted keys + nonce.
"""

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
from sandbox.emulator.scenario import ZERO, Account, Holding, Scenario, fmt, split_symbol

NAME = "cryptocom"
PREFIX = "/exchange/v1/"
MASTER_UUID = "291879ae-b769-4eb3-4d75-3366ebee7dd6"
NONCE_WINDOW_MS = 60_000  # a nonce more than 60 s from the server's clock is refused


def reply(method: str, result: dict[str, Any], request_id: Any = -1) -> Reply:
    return json_reply({"id": request_id, "method": method, "code": 0, "result": result})


def error(request_id: Any, method: str, code: int, message: str, status: int) -> Reply:
    return json_reply(
        {"id": request_id, "method": method, "code": code, "message": message}, status
    )


def body(request: Request) -> dict[str, Any]:
    try:
        found = json.loads(request.text or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def api_key(request: Request) -> str:
    key = body(request).get("api_key")
    return key if isinstance(key, str) else ""


def params_to_string(value: Any, level: int = 0) -> str:
    """The params flattened as Crypto.com signs them: keys sorted, lists item by item, at most
    three levels deep."""
    if level >= 3:
        return str(value)
    if isinstance(value, str):
        return value
    keys = value if isinstance(value, list) else sorted(value)
    out = ""
    for key in keys:
        out += key
        item = value[key]
        if isinstance(item, list):
            out += "".join(params_to_string(v, level + 1) for v in item)
        else:
            out += str(item)
    return out


def signature(secret: str, sent: dict[str, Any]) -> str:
    params = sent.get("params") or {}
    payload = (
        f"{sent.get('method', '')}{sent.get('id', '')}{sent.get('api_key', '')}"
        f"{params_to_string(params)}{sent.get('nonce', '')}"
    )
    return hmac_hex(secret, payload)


def authenticate(request: Request, scenario: Scenario) -> Account | Reply:
    sent = body(request)
    request_id, method = sent.get("id", -1), request.path.removeprefix(PREFIX)
    account = scenario.account(NAME, api_key(request))
    failure = error(request_id, method, 40101, "Authentication failure", 401)
    if account is None or account.revoked:
        return failure
    nonce = str(sent.get("nonce", ""))
    if not nonce.isdigit() or abs(now_ms() - int(nonce)) > NONCE_WINDOW_MS:
        return error(request_id, method, 40102, "INVALID_NONCE", 400)
    if not same(signature(account.secret, sent), str(sent.get("sig", ""))):
        return failure
    return account


def instrument(symbol: str) -> dict[str, Any]:
    base, quote = split_symbol(symbol)
    return {
        "symbol": f"{base}_{quote}", "inst_type": "CCY_PAIR", "display_name": f"{base}/{quote}",
        "base_ccy": base, "quote_ccy": quote, "quote_decimals": 8, "quantity_decimals": 8,
        "price_tick_size": "0.00000001", "qty_tick_size": "0.00000001", "max_leverage": "10",
        "tradable": True, "expiry_timestamp_ms": 0, "beta_product": False,
        "margin_buy_enabled": True, "margin_sell_enabled": True,
    }  # fmt: skip


def instruments(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    data = [instrument(s) for s in scenario.symbols(NAME)]
    return reply("public/get-instruments", {"data": data}, 1)


def ticker(symbol: str, price: str) -> dict[str, Any]:
    base, quote = split_symbol(symbol)
    return {
        "i": f"{base}_{quote}", "h": price, "l": price, "a": price, "v": "1000", "vv": "1000",
        "c": "0", "b": price, "k": price, "t": now_ms(),
    }  # fmt: skip


def tickers(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    wanted = request.query.get("instrument_name")
    data = [
        ticker(s, fmt(p))
        for s, p in scenario.symbols(NAME).items()
        if wanted in (None, s.replace("/", "_"))
    ]
    return reply("public/get-tickers", {"data": data})


def position_balance(code: str, h: Holding) -> dict[str, Any]:
    # The quantity is net: a borrowing in the unified margin wallet shows as a negative
    # quantity. The USD values are not priced here: zeros, as the okx and bybit totals.
    return {
        "quantity": fmt(h.net), "reserved_qty": fmt(h.locked), "collateral_amount": "0",
        "haircut": "0", "collateral_eligible": True, "market_value": "0",
        "max_withdrawal_balance": fmt(h.free),
        "instrument_name": code, "hourly_interest_rate": "0",
    }  # fmt: skip


def balance_entry(wallet: dict[str, Holding]) -> dict[str, Any]:
    """One account's user-balance entry (the master's, or a sub-account's)."""
    # Derivatives settle in USD: the session's unrealised PnL is one USD figure per account.
    pnl = sum((h.upl for h in wallet.values()), ZERO)
    return {
        "total_available_balance": "0", "total_margin_balance": "0",
        "total_initial_margin": "0", "total_haircut": "0", "total_position_im": "0",
        "total_maintenance_margin": "0", "total_position_cost": "0",
        "total_cash_balance": "0", "total_collateral_value": "0",
        "total_session_unrealized_pnl": fmt(pnl), "instrument_name": "USD",
        "total_session_realized_pnl": "0",
        "position_balances": [position_balance(c, h) for c, h in wallet.items()],
        "credit_limits": [], "total_effective_leverage": "0", "position_limit": "3000000",
        "used_position_limit": "0", "total_borrow": "0",
        "margin_score": "0", "is_liquidating": False, "has_risk": False, "terminatable": True,
    }  # fmt: skip


def user_balance(request: Request, scenario: Scenario, account: Account) -> Reply:
    entry = balance_entry(account.wallet("unified"))
    return reply("private/user-balance", {"data": [entry]}, body(request).get("id", -1))


def account_row(uuid: str, created_ms: int) -> dict[str, Any]:
    return {
        "uuid": uuid, "master_account_uuid": MASTER_UUID, "margin_account_uuid": "",
        "enabled": True, "tradable": True, "name": "", "email": "", "mobile_number": "",
        "country_code": "", "address": "", "margin_access": "DEFAULT",
        "derivatives_access": "DISABLED", "create_time": created_ms,
        "update_time": created_ms, "two_fa_enabled": True, "kyc_level": "ADVANCED",
        "suspended": False, "terminated": False,
    }  # fmt: skip


def get_accounts(request: Request, scenario: Scenario, account: Account) -> Reply:
    """The master and a page of its sub-accounts: page from 0, page_size default 20; no total
    is sent."""
    params = body(request).get("params") or {}
    size = int(params.get("page_size", 20))
    start = int(params.get("page", 0)) * size
    subs = list(account.subaccounts.values())[start : start + size]
    result = {
        "master_account": account_row(MASTER_UUID, 1_600_000_000_000),
        "sub_account_list": [account_row(s.id, s.created_ms) | {"label": s.name} for s in subs],
    }
    return reply("private/get-accounts", result, body(request).get("id", -1))


def subaccount_balances(request: Request, scenario: Scenario, account: Account) -> Reply:
    """Every sub-account's balance entry in one answer, an empty one too."""
    data = [
        {"account": s.id}
        | balance_entry(s.wallet("unified"))
        | {"total_isolated_cash_balance": "0", "isolated_positions": []}
        for s in account.subaccounts.values()
    ]
    method = "private/get-subaccount-balances"
    return reply(method, {"data": data}, body(request).get("id", -1))


def staking_position(request: Request, scenario: Scenario, account: Account) -> Reply:
    wanted = (body(request).get("params") or {}).get("instrument_name")
    data = [
        {"instrument_name": f"{c}.staked", "underlying_inst_name": c,
         "staked_quantity": fmt(h.total), "pending_staked_quantity": "0",
         "pending_unstaked_quantity": fmt(h.locked), "reward_eligible_quantity": fmt(h.free)}
        for c, h in account.wallet("staking").items()
        if wanted in (None, f"{c}.staked")
    ]  # fmt: skip
    method = "private/staking/get-staking-position"
    return reply(method, {"data": data}, body(request).get("id", -1))


def currency_networks(request: Request, scenario: Scenario, account: Account) -> Reply:
    network = {
        "withdrawal_fee": "0.0001", "withdraw_enabled": True, "min_withdrawal_amount": "0.001",
        "deposit_enabled": True, "confirmation_required": "6",
    }  # fmt: skip
    currencies = {
        c: {"full_name": c, "default_network": c, "network_list": [network | {"network_id": c}]}
        for c in scenario.codes(NAME)
    }
    result = {"update_time": str(now_ms()), "currency_map": currencies}
    return reply("private/get-currency-networks", result, body(request).get("id", -1))


ROUTES = {
    ("GET", PREFIX + "public/get-instruments"): Route(MARKETS, instruments),
    ("GET", PREFIX + "public/get-tickers"): Route(TICKER, tickers),
    ("POST", PREFIX + "private/get-currency-networks"): Route(
        MARKETS, currency_networks, private=True
    ),
    ("POST", PREFIX + "private/user-balance"): Route(BALANCE, user_balance, private=True),
    ("POST", PREFIX + "private/staking/get-staking-position"): Route(
        BALANCE, staking_position, private=True
    ),
    ("POST", PREFIX + "private/get-accounts"): Route(ACCOUNT, get_accounts, private=True),
    ("POST", PREFIX + "private/get-subaccount-balances"): Route(
        BALANCE, subaccount_balances, private=True
    ),
}

SPEC = ExchangeSpec(NAME, "", ROUTES, authenticate, account_key=api_key)

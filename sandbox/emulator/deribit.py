"""deribit: account summaries per currency; currencies, instruments, spot book summaries.

Traced by running ccxt against the emulator: loading markets asks for the currencies
(public/get_currencies) and every instrument at once (public/get_instruments, ccxt's
fetchAllMarkets); the app's quotes ask public/get_book_summary_by_currency?currency=X&kind=spot
per base; the balances private/get_account_summaries. Answers are JSON-RPC 2.0
({"jsonrpc": "2.0", "result": ..., "usIn", "usOut", "usDiff", "testnet"}) with amounts as JSON
numbers, as Deribit sends them (written from the scenario's exact decimal text).

Scenario wallets: "account" (per currency: free + locked is the cash balance, locked the
maintenance margin, borrowed a cross-collateral debt taken off the balance, upl the futures
session PnL) and "options" (per currency: the options value, either sign). equity = balance +
futures session PnL + options value. cross_collateral_enabled is true on the summaries with a
borrowing (the scenario has no account-level setting).

The signature is Deribit's "deri-hmac-sha256" Authorization header (id, ts, sig, nonce): hex
HMAC-SHA256 of ts + "\\n" + nonce + "\\n" + method + "\\n" + path with query + "\\n" + body +
"\\n". An unknown or revoked key answers 13004 invalid_credentials, a wrong signature 13009
unauthorized, both with HTTP 400 as Deribit's JSON-RPC errors.

Sub-accounts (the scenario's, ids numeric): private/get_subaccounts lists the main account and
them in one answer; private/get_account_summaries?subaccount_id= serves a sub-account's
summaries as the main account's. An id that is none of them answers 13020 not_found (Deribit
does not document this case).
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
    now_ms,
    same,
)
from sandbox.emulator.scenario import (
    Account,
    Holding,
    Scenario,
    SubAccount,
    fmt,
    split_symbol,
)

NAME = "deribit"
NUMBER = "\u0000number:"  # marks a JSON number's text until the body is written


def number(value: Decimal | int | str) -> str:
    text = fmt(value) if isinstance(value, Decimal) else str(value)
    return NUMBER + text


def rpc_body(payload: dict[str, Any]) -> str:
    """The JSON text, with the marked numbers written as bare JSON numbers from their text."""
    body = json.dumps(payload, separators=(",", ":"))
    return re.sub(r'"\\u0000number:([^"]*)"', r"\1", body)


def rpc(payload: dict[str, Any], status: int = 200) -> Reply:
    """A JSON-RPC answer."""
    micros = now_ms() * 1000
    envelope = {"jsonrpc": "2.0", **payload, "usIn": micros, "usOut": micros + 65, "usDiff": 65}
    return Reply(status, rpc_body(envelope | {"testnet": False}).encode())


def ok(result: Any) -> Reply:
    return rpc({"result": result})


def error(code: int, message: str, reason: str = "") -> Reply:
    detail: dict[str, Any] = {"code": code, "message": message}
    if reason:
        detail["data"] = {"reason": reason}
    return rpc({"error": detail}, 400)


def authorization(request: Request) -> dict[str, str]:
    scheme, _, fields = request.header("Authorization").partition(" ")
    if scheme != "deri-hmac-sha256":
        return {}
    return dict(part.partition("=")[::2] for part in fields.split(","))


def api_key(request: Request) -> str:
    return authorization(request).get("id", "")


def authenticate(request: Request, scenario: Scenario) -> Account | Reply:
    given = authorization(request)
    account = scenario.account(NAME, given.get("id"))
    if account is None or account.revoked:
        return error(13004, "invalid_credentials")
    if not same(signature(account.secret, request, given), given.get("sig", "")):
        return error(13009, "unauthorized", "invalid signature")
    return account


def signature(secret: str, request: Request, given: dict[str, str]) -> str:
    path = request.path + (f"?{request.raw_query}" if request.raw_query else "")
    data = f"{request.method}\n{path}\n{request.text}\n"
    return hmac_hex(secret, f"{given.get('ts', '')}\n{given.get('nonce', '')}\n{data}")


def currency(code: str) -> dict[str, Any]:
    return {
        "currency": code, "currency_long": code, "coin_type": code, "fee_precision": 4,
        "min_confirmations": 1, "min_withdrawal_fee": number("0.0001"),
        "withdrawal_fee": number("0.0001"), "withdrawal_priorities": [], "apr": number("0"),
        "in_cross_collateral_pool": True, "network_fee": number("0.00001"),
        "network_currency": code, "decimals": 8,
    }  # fmt: skip


def currencies(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    return ok([currency(code) for code in scenario.codes(NAME)])


def spot_instrument(symbol: str) -> dict[str, Any]:
    base, quote = split_symbol(symbol)
    return {
        "instrument_name": f"{base}_{quote}", "instrument_id": abs(hash(symbol)) % 100000,
        "kind": "spot", "instrument_type": "linear", "base_currency": base,
        "quote_currency": quote, "counter_currency": quote, "settlement_currency": quote,
        "price_index": f"{base.lower()}_{quote.lower()}", "is_active": True,
        "tick_size": number("0.01"), "tick_size_steps": [], "contract_size": number("0.0001"),
        "min_trade_amount": number("0.0001"), "taker_commission": number("0"),
        "maker_commission": number("0"), "block_trade_commission": number("0"),
        "block_trade_min_trade_amount": number("0"), "block_trade_tick_size": number("0.01"),
        "creation_timestamp": 1682000000000, "expiration_timestamp": 32503708800000,
        "rfq": False,
    }  # fmt: skip


def instruments(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    # Spot pairs only: the futures and options the account trades are not needed for prices.
    return ok([spot_instrument(s) for s in scenario.symbols(NAME)])


def book_summary(symbol: str, price: Decimal) -> dict[str, Any]:
    base, quote = split_symbol(symbol)
    last = number(price)
    return {
        "instrument_name": f"{base}_{quote}", "base_currency": base, "quote_currency": quote,
        "last": last, "mark_price": last, "mid_price": last, "bid_price": last,
        "ask_price": last, "high": last, "low": last, "estimated_delivery_price": last,
        "price_change": number("0"), "volume": number("10"), "volume_usd": number("0"),
        "volume_notional": number("0"), "open_interest": number("0"),
        "creation_timestamp": now_ms(),
    }  # fmt: skip


# The currencies the endpoint takes; a pair whose base is none of them comes with its quote's.
BOOK_CURRENCIES = ("BTC", "ETH", "EURR", "USDC", "USDT")


def book_currency(symbol: str) -> str:
    base, quote = split_symbol(symbol)
    return base if base in BOOK_CURRENCIES else quote


def book_summaries(request: Request, scenario: Scenario, _: Account | None) -> Reply:
    currency = request.query.get("currency")
    if currency not in BOOK_CURRENCIES:
        return error(-32602, "Invalid params", "wrong format")
    if request.query.get("kind") not in (None, "spot"):
        return ok([])
    prices = scenario.symbols(NAME).items()
    return ok([book_summary(s, p) for s, p in prices if book_currency(s) == currency])


def summary(code: str, h: Holding, options_value: Decimal) -> dict[str, Any]:
    balance = h.net
    equity = balance + h.upl + options_value
    zero = number("0")
    return {
        "currency": code, "balance": number(balance), "equity": number(equity),
        "margin_balance": number(equity), "available_funds": number(equity - h.locked),
        "available_withdrawal_funds": number(balance - h.locked),
        "initial_margin": number(h.locked), "maintenance_margin": number(h.locked),
        "projected_initial_margin": number(h.locked),
        "projected_maintenance_margin": number(h.locked),
        "session_upl": number(h.upl), "session_rpl": zero, "total_pl": number(h.upl),
        "futures_pl": number(h.upl), "futures_session_upl": number(h.upl),
        "futures_session_rpl": zero, "options_pl": zero, "options_session_upl": zero,
        "options_session_rpl": zero, "options_value": number(options_value),
        "options_delta": zero, "options_gamma": zero, "options_vega": zero,
        "options_theta": zero, "options_gamma_map": {}, "options_vega_map": {},
        "options_theta_map": {}, "delta_total": zero, "delta_total_map": {},
        "projected_delta_total": zero, "fee_balance": zero, "spot_reserve": zero,
        "additional_reserve": zero, "estimated_liquidation_ratio": zero,
        "estimated_liquidation_ratio_map": {}, "portfolio_margining_enabled": False,
        "cross_collateral_enabled": bool(h.borrowed or h.interest), "margin_model": "segregated_sm",
        "total_equity_usd": zero, "total_margin_balance_usd": zero,
        "total_initial_margin_usd": zero, "total_maintenance_margin_usd": zero,
        "total_delta_total_usd": zero, "locked_balance": zero,
        "limits": {"limits_per_currency": False, "non_matching_engine": {"rate": 20, "burst": 100},
                   "matching_engine": {"rate": 5, "burst": 20}},
        "fees": [],
    }  # fmt: skip


MAIN_ID = 1001  # the main account's user id


def summaries_of(holder: Account | SubAccount) -> list[dict[str, Any]]:
    # One summary per currency: the options value joins the cash of the same (stripped) code,
    # which keeps the cash's spelling (a fault may serve " BTC ").
    cash = dict(holder.wallet("account"))
    options = {c.strip(): h.total for c, h in holder.wallet("options").items()}
    for code in options.keys() - {c.strip() for c in cash}:
        cash[code] = Holding(Decimal(0))
    return [summary(c, h, options.get(c.strip(), Decimal(0))) for c, h in sorted(cash.items())]


def numeric(sub_id: str) -> int | str:
    """Deribit's ids are integers; a scenario id that is not one is served as written, so the
    adapter's refusal of it shows."""
    return int(sub_id) if sub_id.isdigit() else sub_id


def user(user_id: int | str, name: str, kind: str) -> dict[str, Any]:
    system = "fund" if kind == "main" else f"fund_{user_id}"
    return {
        "id": user_id, "email": f"{system}@example.com", "system_name": system,
        "username": name or system, "type": kind, "login_enabled": kind == "main",
        "is_password": kind == "main", "receive_notifications": False,
        "security_keys_enabled": False, "security_keys_assignments": [],
        "margin_model": "segregated_sm",
    }  # fmt: skip


def account_summaries(request: Request, scenario: Scenario, account: Account) -> Reply:
    """The main account's summaries, or with subaccount_id one of its sub-accounts'."""
    holder: Account | SubAccount = account
    user_id: int | str = MAIN_ID
    kind, name = "main", "fund"
    sub_id = request.query.get("subaccount_id")
    if sub_id is not None:
        sub = account.subaccounts.get(sub_id)
        if sub is None:
            # Undocumented; Deribit's generic "not found" error (see the adapter's docstring).
            return error(13020, "not_found", "subaccount_id")
        holder, user_id, kind, name = sub, numeric(sub.id), "subaccount", sub.name
    return ok(
        user(user_id, name, kind) | {
            "creation_timestamp": 1600000000000, "referrer_id": None, "mmp_enabled": False,
            "interuser_transfers_enabled": False, "self_trading_reject_mode": "cancel_maker",
            "self_trading_extended_to_subaccounts": False, "summaries": summaries_of(holder),
        }
    )  # fmt: skip


def subaccounts(request: Request, scenario: Scenario, account: Account) -> Reply:
    """The main account first, then its sub-accounts (Deribit lists both; no paging)."""
    listed = [user(numeric(s.id), s.name, "subaccount") for s in account.subaccounts.values()]
    return ok([user(MAIN_ID, "fund", "main"), *listed])


ROUTES = {
    ("GET", "/api/v2/public/get_currencies"): Route(MARKETS, currencies),
    ("GET", "/api/v2/public/get_instruments"): Route(MARKETS, instruments),
    ("GET", "/api/v2/public/get_book_summary_by_currency"): Route(TICKER, book_summaries),
    ("GET", "/api/v2/private/get_account_summaries"): Route(
        BALANCE, account_summaries, private=True
    ),
    ("GET", "/api/v2/private/get_subaccounts"): Route(ACCOUNT, subaccounts, private=True),
}

SPEC = ExchangeSpec(NAME, "Authorization", ROUTES, authenticate, account_key=api_key)

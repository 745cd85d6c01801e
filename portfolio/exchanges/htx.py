"""HTX (Huobi): every account the key's user has, USDT-M and coin-margined derivatives.

Wallets, products and the amount field used (negative = a debt to the exchange):

htx       spot      GET /v1/account/accounts, then per account of its wallet's types
                    GET /v1/account/accounts/{id}/balance: the `balance` of every row of types
                    trade, frozen, lock, bank (held) and loan, interest (debts, negative)
                      account type spot, grid-trading          spot
          margin      margin (isolated), super-margin (cross)    margin (loan and interest
                      borrow (C2C borrowing)                     negative)
          funding     otc (P2P / fiat)                           funding
          earn        investment (C2C lending), deposit-earning  earn
          futures   GET hbdm /v5/account/balance (USDT-M)   futures  details[].equity, split
                    into equity - profit_unreal and profit_unreal
                    POST hbdm /swap-api/v1/swap_account_info (coin-M swaps)   futures
                    POST hbdm /api/v1/contract_account_info (coin-M futures)  futures
                    both margin_balance, split into margin_static and the rest (the PnL)

The account list is asked once per sync, whichever wallets need it. A balance row is its
account id + currency + type: repeated, it is taken once; with another amount it is malformed.
Rows of types that are no holding (loan-available, transfer-out-available) are skipped; a type
or an account type not listed here is a malformed answer, never left out in silence. `point`
accounts (prepaid fee point cards, not withdrawable money) are not read, as kraken's KFEE.

Unrealised PnL apart, as for binance USDⓈ-M: the wallet and its PnL are both `futures`, so spot
is neither inflated nor deflated and the futures holding is the equity (the claim). HTX's
contract API sends amounts as JSON numbers, which ccxt parses into floats: those rows are read
again from the raw body, each number as written. So are the tickers' prices (`raw_quotes`).
USDT-M is read through the v5 balance ccxt's fetch_balance uses (HTX's multi-asset collateral
mode): ccxt 4.5.90 no longer lists the single-asset v1 `swap_cross_account_info` and
`swap_account_info`, so an account in that mode answers with an error, not a zero.

Key permissions: GET /v2/user/uid, then GET /v2/user/api-key with that uid and the key itself
(`permission` "readOnly,trade,withdraw").

Sub-users, read with the master key (the sub-user's uid is its id; its note, else its
subUserName, the name shown):

listing   GET /v2/sub-user/user-list (at most 100 per page, by uid)   data[].uid, note,
                                    subUserName; the next page from fromId=nextId while given
spot, margin, funding, earn
          GET /v1/account/accounts/{sub-uid}: every account of the sub-user with its balance
                                    rows, each account read by its type as the master's above
                                    (one request for all four wallets)

A sub-user's account of a type not listed above is a malformed answer, as for the master; its
`point` account is not read. Not read for a sub-user: its USDT-M and coin-margined derivatives
(HTX's contract API has its own sub-account calls, not made here). An unknown sub-uid is an
error body (v1 err-code), a fault like any other.

Errors: v1 {"status": "error", "err-code", "err-msg"}, contract {"status": "error", "err_code",
"err_msg"}, v2 {"code", "message"}. A wrong key or signature is api-signature-not-valid (ccxt:
AuthenticationError), the contract's 403 likewise. Maintenance, busy and internal errors are
'maintenance', frequency limits (and the contract's 1032) 'rate_limit', an expired or invalid
timestamp 'clock' (HTX documents no code of its own for it: read from the message).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from portfolio.exchanges.adapter import (
    Adapter,
    Call,
    Listing,
    PermissionCall,
    SubAccountRef,
    SubAccounts,
    listed_subaccount,
)
from portfolio.exchanges.errors import Malformed, MalformedAnswer, PermissionsUnreadable
from portfolio.exchanges.payload import amount, currency, dig, rows, shown
from portfolio.exchanges.rows import EquitySplit, FetchedBalance, Page, Parser, Row, split_equity

# HTX's account types, by the wallet that reads them; `point` holds fee credits, not money.
ACCOUNT_TYPES = {
    "spot": ("spot", "grid-trading"),
    "margin": ("margin", "super-margin", "borrow"),
    "funding": ("otc",),
    "earn": ("investment", "deposit-earning"),
}
NOT_MONEY = frozenset({"point"})
PRODUCTS = {"spot": "spot", "margin": "margin", "funding": "funding", "earn": "earn"}
HELD = frozenset({"trade", "frozen", "lock", "bank"})
DEBTS = frozenset({"loan", "interest"})
NOT_HOLDINGS = frozenset({"loan-available", "transfer-out-available"})


def accounts_of(wallet: str) -> Callable[[Any], list[dict[str, Any]]]:
    """The `account-id` of every listed account the wallet reads; a type no wallet knows is a
    malformed answer (money may sit there)."""
    known = {t for types in ACCOUNT_TYPES.values() for t in types} | NOT_MONEY

    def each(payload: Any) -> list[dict[str, Any]]:
        found = []
        for account in rows(payload, "data"):
            kind = account.get("type")
            if kind not in known:
                raise MalformedAnswer(f"account type {shown(kind)} is not one HTX documents")
            if kind in ACCOUNT_TYPES[wallet]:
                number = account.get("id")
                if isinstance(number, bool) or not isinstance(number, int | str) or not number:
                    raise Malformed(f"account without id: {str(account)[:80]}")
                found.append({"account-id": str(number)})
        return found

    return each


def account_balance(wallet: str) -> Parser:
    product = PRODUCTS[wallet]
    signed = product == "margin"

    def parse(client: Any, page: Page) -> Iterator[Row]:
        yield from balance_rows(client, dig(page.data, "data", kind=dict), product, signed)

    return parse


def balance_rows(client: Any, data: dict[str, Any], product: str, signed: bool) -> Iterator[Row]:
    """The rows of one account (its id and `list`), each as `product`."""
    number = str(data.get("id") or "")
    for row in rows(data, "list"):
        kind = row.get("type")
        if kind in NOT_HOLDINGS:
            continue
        if kind not in HELD | DEBTS:
            raise MalformedAnswer(f"balance type {shown(kind)} is not one HTX documents")
        reported, code = currency(client, row.get("currency"), "currency")
        # Only margin accounts borrow: a debt elsewhere is refused as any negative is.
        value = amount(row, code, "balance", signed=signed)
        if kind in DEBTS and value > 0:
            raise MalformedAnswer(f"{kind} of {code} is '{value}', a debt above zero")
        balance = FetchedBalance(reported, code, product, value)
        yield Row(f"{number} {reported} {kind}", balance)


def sub_user_balance(wallet: str) -> Parser:
    """The sub-user's accounts the wallet reads, from its every account and their rows; a type
    no wallet knows is a malformed answer, as in the master's account list."""
    known = {t for types in ACCOUNT_TYPES.values() for t in types} | NOT_MONEY
    product = PRODUCTS[wallet]

    def parse(client: Any, page: Page) -> Iterator[Row]:
        for account in rows(page.data, "data"):
            kind = account.get("type")
            if kind not in known:
                raise MalformedAnswer(f"account type {shown(kind)} is not one HTX documents")
            if kind in ACCOUNT_TYPES[wallet]:
                yield from balance_rows(client, account, product, product == "margin")

    return parse


SUB_USER_BALANCE = "spot_private_get_v1_account_accounts_sub_uid"


def subaccount_wallets(uid: str) -> dict[str, tuple[Call, ...]]:
    # The same call for every wallet: made once per sync, each wallet reading its accounts.
    return {
        wallet: (Call(SUB_USER_BALANCE, {"sub-uid": uid}, sub_user_balance(wallet)),)
        for wallet in ("spot", "funding", "earn", "margin")
    }


def subaccount_refs(payload: Any) -> list[SubAccountRef]:
    found = []
    for row in rows(payload, "data"):
        uid = row.get("uid")
        if isinstance(uid, bool) or not isinstance(uid, int | str):
            raise Malformed(f"a sub-user without uid: {str(row)[:80]}")
        # HTX sends the uid as a JSON number; its sub-user calls take it as text.
        found.append(listed_subaccount(row | {"uid": str(uid)}, "uid", ("note", "subUserName")))
    return found


def subaccount_next_page(payload: Any, params: dict[str, Any]) -> dict[str, Any] | None:
    following = payload.get("nextId") if isinstance(payload, dict) else None
    if following is None:
        return None
    if isinstance(following, bool) or not str(following).isdigit():
        raise Malformed(f"nextId is {shown(following)}")
    return params | {"fromId": str(following)}


def exact_document(page: Page) -> Any:
    """The body as sent, its numbers kept as their digits (strings), never floats."""
    try:
        return json.loads(page.raw, parse_float=str, parse_int=str)
    except ValueError:
        raise Malformed("the body is not JSON") from None


LINEAR = EquitySplit("equity", "profit_unreal")
COIN = EquitySplit("margin_balance", "profit_unreal", wallet="margin_static")


def linear(client: Any, page: Page) -> Iterator[Row]:
    dig(page.data, "data", "details", kind=list)  # the structure, as ccxt read it
    for row in rows(exact_document(page), "data", "details"):
        yield from split_equity(client, row, "currency", "futures", LINEAR, signed=True)


def coin_margined(kind: str) -> Parser:
    def parse(client: Any, page: Page) -> Iterator[Row]:
        dig(page.data, "data", kind=list)
        for row in rows(exact_document(page), "data"):
            for found in split_equity(client, row, "symbol", "futures", COIN, signed=True):
                yield Row(f"{kind} {found.row_id}", found.balance)

    return parse


def permissions(payload: Any) -> dict[str, bool]:
    keys = dig(payload, "data", kind=list)
    if len(keys) != 1 or not isinstance(keys[0], dict):
        raise PermissionsUnreadable(f"data holds {len(keys)} keys, not the one asked about")
    granted = keys[0].get("permission")
    if not isinstance(granted, str) or not granted.strip():
        raise PermissionsUnreadable(f"permission is {shown(granted)}")
    names = {p.strip() for p in granted.split(",")}
    return {"read": "readOnly" in names, "trade": "trade" in names, "withdraw": "withdraw" in names}


def key_asked_about(client: Any) -> dict[str, Any]:
    """The user's uid (one request) and the key itself: /v2/user/api-key lists the user's keys."""
    uid = client.v2private_get_user_uid().get("data")
    if isinstance(uid, bool) or not isinstance(uid, int | str) or not str(uid).isdigit():
        raise PermissionsUnreadable(f"uid is {shown(uid)}")
    return {"uid": str(uid), "accessKey": client.apiKey}


def raw_quotes(body: str) -> dict[str, Any]:
    """{market id: close as written} from /market/tickers."""
    try:
        document = json.loads(body, parse_float=str, parse_int=str)
    except ValueError:
        raise Malformed("the tickers are not JSON") from None
    return {
        str(row.get("symbol")): row.get("close")
        for row in rows(document, "data")
        if row.get("symbol") is not None
    }


MAINTENANCE = frozenset({
    "base-system-error", "system-maintenance", "gateway-internal-error", "service-unavailable",
    "1000", "1001", "1004",  # contract: system error, not ready, busy
})  # fmt: skip
RATE_LIMIT = frozenset({"base-request-exceed-frequency-limit", "rate-too-many-requests", "1032"})


def body_error_kind(document: Any) -> str | None:
    if not isinstance(document, dict):
        return None
    if document.get("status") != "error" and str(document.get("code", 200)) in ("200", "0"):
        return None
    code = str(document.get("err-code", document.get("err_code", document.get("code", ""))))
    message = str(document.get("err-msg", document.get("err_msg", document.get("message", ""))))
    if code in MAINTENANCE or "maintain" in message.lower():
        return "maintenance"
    if code in RATE_LIMIT:
        return "rate_limit"
    if "timestamp" in message.lower():
        return "clock"
    return None


ACCOUNTS = "spot_private_get_v1_account_accounts"
BALANCE = "spot_private_get_v1_account_accounts_account_id_balance"


def wallet_call(wallet: str) -> Call:
    return Call(
        BALANCE, {}, account_balance(wallet), listing=Listing(ACCOUNTS, {}, accounts_of(wallet))
    )


ADAPTER = Adapter(
    id="htx",
    name="HTX",
    wallets={
        "spot": (wallet_call("spot"),),
        "funding": (wallet_call("funding"),),
        "earn": (wallet_call("earn"),),
        "margin": (wallet_call("margin"),),
        "futures": (
            Call("contract_private_get_v5_account_balance", {}, linear),
            Call("contract_private_post_swap_api_v1_swap_account_info", {}, coin_margined("swap")),
            Call("contract_private_post_api_v1_contract_account_info", {}, coin_margined("future")),
        ),
    },
    ticker_last=("close",),
    market_options={"fetchMarkets": {"types": {"spot": True, "linear": False, "inverse": False}}},
    permissions=PermissionCall("v2private_get_user_api_key", permissions, key_asked_about),
    body_error_kind=body_error_kind,
    raw_quotes=raw_quotes,
    subaccounts=SubAccounts(
        listing="spot_private_get_v2_sub_user_user_list",
        params={},
        parse=subaccount_refs,
        wallets=subaccount_wallets,
        next_page=subaccount_next_page,
        not_read="HTX gives a master key a sub-user's spot, margin, OTC and Earn accounts: its "
        "USDT-M and coin-margined derivatives accounts are not read.",
    ),
)

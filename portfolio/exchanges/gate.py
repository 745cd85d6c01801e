"""Gate (API v4, classic account): spot, isolated margin, perpetual and delivery futures,
options, Uni lending and on-chain staking.

Wallets, products and the amount field used (negative = a debt to the exchange):

gate      spot      GET /spot/accounts                     spot      available + locked
          margin    GET /margin/accounts (isolated, per pair, base and quote)
                                                           margin    available + locked -
                                                                     borrowed - interest
                                                                     (available includes the
                                                                     borrowed funds)
          futures   GET /futures/{settle}/accounts, settle usdt and btc, and
                    GET /delivery/usdt/accounts: one object each
                                                           futures   total (the wallet) and
                    unrealised_pnl, two rows of the futures product that merge into the equity
          options   GET /options/accounts: one object      options   total (the balance) and
                    position_value (the open options' value, either sign: equity = total +
                    position_value), two rows of the options product
          earn      GET /earn/uni/lends (paged)            earn      amount (the total lent)
                    GET /earn/staking/assets               staking   mortgage_amount

A row repeated with the same currency (margin: pair and currency; staking: pid) is taken once.
Margin, futures and options may be negative; the others may not.

A futures, delivery or options account the user never opened is answered USER_NOT_FOUND
("please transfer funds first to create futures account"), which ccxt raises as
AccountNotEnabled: it is read as an empty wallet, not as a key without permission.

Unrealised PnL apart, as for binance: the futures wallet and its PnL are both futures, so the
holding is total + unrealised_pnl (the claim) and spot is never touched by open positions; options
likewise with their position value. The options' unrealised_pnl is Gate's "for reference" PnL
against the entry price, not the value of the position, so it is not read.

Not read: the unified account (/unified/accounts: multi-currency and portfolio margin modes, where
spot, margin and futures share one balance per currency) and the cross margin account it
replaced; delivery futures settled in BTC (Gate answers them 403); fixed-term Earn, dual
investment and structured products. A staking row whose mortgage_coin names several coins
(documented as comma-separated) has no amount per coin and is a malformed answer.

Sub-accounts, read with the master key (the sub-account's user_id is its id; its remark, else
its login_name, the name shown):

listing   GET /sub_accounts (regular sub-accounts; one answer, no paging)   [].user_id, remark,
                                                                            login_name
spot      GET /wallet/sub_account_balances?sub_uid=         spot      available{currency: amount}
margin    GET /wallet/sub_account_margin_balances?sub_uid=  margin    available[]: the isolated
                                                            margin accounts, read as the master's
futures   GET /wallet/sub_account_futures_balances?sub_uid= futures   available{settle: account}:
                                                            each account read as the master's
                                                            (total and unrealised_pnl)

Each answer is a list of {uid, available}: a row of another uid is a malformed answer; an empty
list is a sub-account holding nothing there. Gate's sub-account spot call gives the `available`
figure only: funds locked in the sub-account's open spot orders are not in it. Not read for a
sub-account (no master-key call): delivery futures, options, Earn, staking, and the cross margin
account (/wallet/sub_account_cross_margin_balances: Gate's retired cross margin, which the
master's own sync does not read either). An unknown sub_uid is answered SUB_ACCOUNT_NOT_FOUND,
a fault like any other.

Key permissions come from /account/main_keys `perms` ({name, read_only} per function): trading
is a writable spot, margin, futures, delivery, options, unified, copy-trading or loan function;
Gate has no withdrawal permission of its own, so a writable wallet (withdrawals and transfers)
reads as able to withdraw.

Answers carry no envelope (a list or an object); an error body is {"label": ..., "message": ...}.
REQUEST_EXPIRED (a refused timestamp, which ccxt raises as an authentication error) is 'clock',
SERVER_ERROR, INTERNAL and TOO_BUSY 'maintenance', TOO_FAST and TOO_MANY_REQUESTS 'rate_limit';
INVALID_KEY and INVALID_SIGNATURE are authentication errors by ccxt's table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from portfolio.exchanges.adapter import (
    Adapter,
    Call,
    PermissionCall,
    SubAccountRef,
    SubAccounts,
    coded_errors,
    listed_subaccount,
)
from portfolio.exchanges.errors import Malformed, MalformedAnswer, PermissionsUnreadable
from portfolio.exchanges.payload import EXACT, amount, amount_problem, currency, dig, rows, shown
from portfolio.exchanges.rows import AmountFields, FetchedBalance, Page, Parser, Row, row_of


def spot(client: Any, page: Page) -> Iterator[Row]:
    for row in rows(page.data):
        yield row_of(client, row, "currency", "spot", AmountFields(("available", "locked")))


def margin(client: Any, page: Page) -> Iterator[Row]:
    for account in rows(page.data):
        pair = str(account.get("currency_pair") or "")
        for side in ("base", "quote"):
            row = dig(account, side, kind=dict)
            reported, code = currency(client, row.get("currency"), "currency")
            held = amount(row, code, "available", optional=("locked",))
            owed = amount(row, code, optional=("borrowed", "interest"))
            net = EXACT.subtract(held, owed)
            problem = amount_problem(net, signed=True)
            if problem:
                raise MalformedAnswer(
                    f"available + locked - borrowed - interest of {code}: {problem}"
                )
            yield Row(f"{pair} {reported}", FetchedBalance(reported, code, "margin", net))


def wallet_and_value(client: Any, page: Page, value: str, product: str) -> Iterator[Row]:
    """One account object: its `total` and the open positions' `value`, two rows of `product`
    (a zero value too, so that a repeat with another one conflicts)."""
    row = dig(page.data, kind=dict)
    reported, code = currency(client, row.get("currency"), "currency")
    total = amount(row, code, "total", signed=True)
    open_value = amount(row, code, optional=(value,), signed=True)
    yield Row(reported, FetchedBalance(reported, code, product, total))
    yield Row(f"{reported} {value}", FetchedBalance(reported, code, product, open_value))


def futures(client: Any, page: Page) -> Iterator[Row]:
    yield from wallet_and_value(client, page, "unrealised_pnl", "futures")


def options(client: Any, page: Page) -> Iterator[Row]:
    yield from wallet_and_value(client, page, "position_value", "options")


def uni_lends(client: Any, page: Page) -> Iterator[Row]:
    for row in rows(page.data):
        yield row_of(client, row, "currency", "earn", AmountFields(("amount",)))


def staking(client: Any, page: Page) -> Iterator[Row]:
    for row in rows(page.data):
        coin = row.get("mortgage_coin")
        if isinstance(coin, str) and "," in coin:
            raise MalformedAnswer(
                f"mortgage_coin is {shown(coin)}: several coins and one amount, which cannot "
                "be told apart"
            )
        found = row_of(client, row, "mortgage_coin", "staking", AmountFields(("mortgage_amount",)))
        pid = row.get("pid")
        yield Row(f"{found.row_id} {pid}", found.balance) if pid is not None else found


LEND_PAGE = {"page": 1, "limit": 100}


def lends_next_page(payload: Any, params: dict[str, Any]) -> dict[str, Any] | None:
    if not isinstance(payload, list) or len(payload) < int(params["limit"]):
        return None
    return params | {"page": int(params["page"]) + 1}


def never_opened(document: Any) -> bool:
    return isinstance(document, dict) and document.get("label") == "USER_NOT_FOUND"


# Functions whose write permission trades (or borrows, which changes what is owed).
TRADING = frozenset(
    {"spot", "margin", "futures", "delivery", "options", "unified", "copy", "loan", "crossx"}
)


def permissions(payload: Any) -> dict[str, bool]:
    info = payload
    if isinstance(payload, list):  # documented as one object; a list of one is the same
        if len(payload) != 1:
            raise PermissionsUnreadable(f"{len(payload)} keys listed: which one is this is unknown")
        info = payload[0]
    perms = info.get("perms") if isinstance(info, dict) else None
    if not isinstance(perms, list):
        raise PermissionsUnreadable(f"perms is {shown(perms)}, not a list")
    writable = set()
    for perm in perms:
        name = perm.get("name") if isinstance(perm, dict) else None
        read_only = perm.get("read_only") if isinstance(perm, dict) else None
        if not isinstance(name, str) or not isinstance(read_only, bool):
            raise PermissionsUnreadable(f"a permission is {shown(perm)}, not a name and read_only")
        if not read_only:
            writable.add(name.strip().lower())
    return {"read": True, "trade": bool(writable & TRADING), "withdraw": "wallet" in writable}


# Sources: Gate's documented error labels and ccxt's exceptions table for gate.
BODY_CODES = {
    "REQUEST_EXPIRED": "clock",  # the Timestamp header is too far from the server's time
    "SERVER_ERROR": "maintenance",
    "INTERNAL": "maintenance",
    "TOO_BUSY": "maintenance",
    "TOO_FAST": "rate_limit",
    "TOO_MANY_REQUESTS": "rate_limit",
}


def subaccount_refs(payload: Any) -> list[SubAccountRef]:
    found = []
    for row in rows(payload):
        uid = row.get("user_id")
        if isinstance(uid, bool) or not isinstance(uid, int | str):
            raise Malformed(f"a sub-account without user_id: {str(row)[:80]}")
        # Gate sends the uid as a JSON number; its sub-account calls take it as text.
        row = row | {"user_id": str(uid)}
        found.append(listed_subaccount(row, "user_id", ("remark", "login_name")))
    return found


def held_by(uid: str, payload: Any, kind: type) -> list[Any]:
    """The `available` of each row of the sub-account asked about; a row of another uid is a
    malformed answer (its amounts are not this sub-account's)."""
    found = []
    for row in rows(payload):
        if str(row.get("uid")) != uid:
            raise Malformed(f"asked for sub-account {uid}, answered for {shown(row.get('uid'))}")
        found.append(dig(row, "available", kind=kind))
    return found


def sub_spot(uid: str) -> Parser:
    def parse(client: Any, page: Page) -> Iterator[Row]:
        for available in held_by(uid, page.data, dict):
            for code, value in available.items():
                row = {"currency": code, "available": value}
                yield row_of(client, row, "currency", "spot", AmountFields(("available",)))

    return parse


def sub_margin(uid: str) -> Parser:
    def parse(client: Any, page: Page) -> Iterator[Row]:
        for accounts in held_by(uid, page.data, list):
            yield from margin(client, Page(accounts, page.raw))

    return parse


def sub_futures(uid: str) -> Parser:
    def parse(client: Any, page: Page) -> Iterator[Row]:
        for settles in held_by(uid, page.data, dict):
            for account in settles.values():
                if account != {}:  # a settle currency the sub-account never opened
                    yield from futures(client, Page(account, page.raw))

    return parse


def subaccount_wallets(uid: str) -> dict[str, tuple[Call, ...]]:
    def call(method: str, parse: Parser) -> Call:
        return Call(f"private_wallet_get_sub_account_{method}", {"sub_uid": uid}, parse)

    return {
        "spot": (call("balances", sub_spot(uid)),),
        "margin": (call("margin_balances", sub_margin(uid)),),
        "futures": (call("futures_balances", sub_futures(uid)),),
    }


def account_call(method: str, params: dict[str, Any], parse: Any) -> Call:
    return Call(method, params, parse, unopened=never_opened)


ADAPTER = Adapter(
    id="gate",
    name="Gate",
    wallets={
        "spot": (Call("private_spot_get_accounts", {}, spot),),
        "margin": (Call("private_margin_get_accounts", {}, margin),),
        "futures": (
            account_call("private_futures_get_settle_accounts", {"settle": "usdt"}, futures),
            account_call("private_futures_get_settle_accounts", {"settle": "btc"}, futures),
            account_call("private_delivery_get_settle_accounts", {"settle": "usdt"}, futures),
        ),
        "options": (account_call("private_options_get_accounts", {}, options),),
        "earn": (
            Call("private_earn_get_uni_lends", LEND_PAGE, uni_lends, lends_next_page),
            Call("private_earn_get_staking_assets", {}, staking),
        ),
    },
    ticker_last=("last",),
    # unifiedAccount False: the classic account is read; without it ccxt asks /account/detail
    # while loading markets with a key.
    market_options={"fetchMarkets": {"types": ["spot"]}, "unifiedAccount": False},
    permissions=PermissionCall("private_account_get_main_keys", permissions),
    body_error_kind=coded_errors("label", BODY_CODES),
    subaccounts=SubAccounts(
        listing="private_subaccounts_get_sub_accounts",
        params={},
        parse=subaccount_refs,
        wallets=subaccount_wallets,
        not_read="Gate gives a master key a sub-account's spot available balance (not what its "
        "open orders lock), isolated margin and perpetual futures only: its delivery futures, "
        "options, Earn, staking and cross margin are not read.",
    ),
)

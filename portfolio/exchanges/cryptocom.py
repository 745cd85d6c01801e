"""Crypto.com Exchange (API v1): the unified wallet and staking.

Wallets, products and the amount field used (negative = a debt to the exchange):

cryptocom spot      POST private/user-balance              spot: position_balances[].quantity
                    (the unified wallet, one row per      of each instrument (ccxt's total);
                    account, USD-valued totals)           margin when the quantity is negative
                                                          (a borrowing in the unified margin
                                                          wallet)
                    + the same account                    futures: total_session_unrealized_pnl
                                                          in the account's instrument_name (USD),
                                                          either sign
          earn      POST private/staking/get-staking-     staking: staked_quantity of
                    position                               instrument_name less '.staked'

Unrealised PnL apart: a position balance's `quantity` is the ledger (the docs: total_cash_balance
is "Deposits - Withdrawals + Realized PnL - Fees", and total_margin_balance "Positive cash balance
on eligible collateral tokens + Negative balance on all tokens + Unrealised PnL - Fee reserves":
a quantity may be negative, a debt, and the PnL is not in it). The open derivatives positions'
unrealised PnL is reported once per account, in USD, as total_session_unrealized_pnl (settled
into the USD quantity at each session's end, after which the field restarts). So the quantities
are booked as they are (spot is neither inflated nor deflated by open positions) and the PnL as a
futures holding of the account's currency. The recorded real payload
(tests/portfolio/test_recorded_payloads.py) books ccxt's totals and a USD futures row of -1.645.

Staking: staked_quantity is the total staked (pending stake and unstake included); for a yield
bearing instrument (TSTON.staked) it counts the yield token, so the code is the instrument's own
base, not underlying_inst_name. The position carries no unbonding end date (no locks).

Not read: the USD-valued account totals (no amounts of a currency), private/get-positions (its
session PnL is the account's total_session_unrealized_pnl, read once), the v2/derivatives hosts
(retired for v1). Crypto.com does not report a key's permissions.

Sub-accounts, read with the master key (the sub-account's uuid is its id, its label its name):

listing   POST private/get-accounts (page from 0,     sub_account_list[].uuid, label (else
          page_size 20)                              name); a full page asks for the next one
spot      POST private/get-subaccount-balances       every sub-account's user-balance entry in
                                                     one answer, each with its `account` uuid:
                                                     the asked one's, read as the master's
                                                     (spot, margin, the futures PnL)

The balances answer lists every sub-account, an empty one too (Crypto.com's sample): a uuid it
does not list is a fault ("lists no sub-account"), never an empty sub-account. A master key has
no call for a sub-account's staking positions, which are not read; isolated_positions are not
read, as for the master.

Every JSON answer carries "code" (0 is success): one without it is a malformed answer. Error codes
10007/40102 (nonce more than 60 s off) are 'clock', 9010001 (maintenance) and 40801 (request
timeout) 'maintenance', 10006/42901 'rate_limit'. A wrong key or signature is 40101 (HTTP 401),
which ccxt raises as an AuthenticationError.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from portfolio.exchanges.adapter import (
    Adapter,
    Call,
    SubAccountRef,
    SubAccounts,
    coded_errors,
    listed_subaccount,
)
from portfolio.exchanges.errors import ExchangeFault
from portfolio.exchanges.payload import amount, currency, rows
from portfolio.exchanges.rows import FetchedBalance, Page, Row

PNL = "total_session_unrealized_pnl"
STAKED = ".staked"


def position(client: Any, row: dict[str, Any]) -> Row:
    reported, code = currency(client, row.get("instrument_name"), "instrument_name")
    quantity = amount(row, code, "quantity", signed=True)
    product = "margin" if quantity < 0 else "spot"
    return Row(reported, FetchedBalance(reported, code, product, quantity))


def user_balance(client: Any, page: Page) -> Iterator[Row]:
    for account in rows(page.data, "result", "data"):
        for row in rows(account, "position_balances"):
            yield position(client, row)
        reported, code = currency(client, account.get("instrument_name"), "instrument_name")
        pnl = amount(account, code, optional=(PNL,), signed=True)
        # Zero too (merge drops it): a repeat of the account with another PnL must conflict.
        yield Row(f"{reported} {PNL}", FetchedBalance(reported, code, "futures", pnl))


def staking_position(client: Any, page: Page) -> Iterator[Row]:
    for row in rows(page.data, "result", "data"):
        reported, _ = currency(client, row.get("instrument_name"), "instrument_name")
        base = reported[: -len(STAKED)] if reported.lower().endswith(STAKED) else reported
        _, code = currency(client, base, "instrument_name")
        staked = amount(row, code, "staked_quantity")
        yield Row(reported, FetchedBalance(reported, code, "staking", staked))


def subaccount_refs(payload: Any) -> list[SubAccountRef]:
    listed = rows(payload, "result", "sub_account_list")
    return [listed_subaccount(row, "uuid", ("label", "name")) for row in listed]


SUBACCOUNT_PAGE = 20  # Crypto.com's default page_size; it documents no maximum


def subaccount_next_page(payload: Any, params: dict[str, Any]) -> dict[str, Any] | None:
    """No total is sent: a full page may have a successor, a short one is the last."""
    if len(rows(payload, "result", "sub_account_list")) < int(params["page_size"]):
        return None
    return params | {"page": int(params["page"]) + 1}


def sub_balance(uuid: str) -> Any:
    """The asked sub-account's entries of an answer that holds every sub-account's, read as the
    master's user-balance; none is a fault (the answer lists empty sub-accounts too)."""

    def parse(client: Any, page: Page) -> Iterator[Row]:
        entries = [e for e in rows(page.data, "result", "data") if e.get("account") == uuid]
        if not entries:
            raise ExchangeFault(
                kind="exchange_error",
                error_class="BadRequest",
                message=f"Crypto.com lists no sub-account {uuid} for this key.",
            )
        yield from user_balance(client, Page({"result": {"data": entries}}, page.raw))

    return parse


def subaccount_wallets(uuid: str) -> dict[str, tuple[Call, ...]]:
    method = "v1_private_post_private_get_subaccount_balances"
    return {"spot": (Call(method, {}, sub_balance(uuid)),)}


# Sources: Crypto.com Exchange v1 response and reason codes; ccxt's exceptions table.
BODY_CODES = {
    "10007": "clock",  # INVALID_NONCE
    "40102": "clock",  # nonce differs by more than 60 seconds from the server's
    "9010001": "maintenance",  # SYSTEM_MAINTENANCE
    "40801": "maintenance",  # request has timed out
    "10006": "rate_limit",  # TOO_MANY_REQUESTS
    "42901": "rate_limit",
}

ADAPTER = Adapter(
    id="cryptocom",
    name="Crypto.com Exchange",
    wallets={
        "spot": (Call("v1_private_post_private_user_balance", {}, user_balance),),
        "earn": (
            Call("v1_private_post_private_staking_get_staking_position", {}, staking_position),
        ),
    },
    ticker_last=("a",),
    ticker_symbols=False,
    # Markets load without credentials; the currency networks (private) are never asked for.
    market_options={"fetchCurrencies": {"skipFetchCurrencies": True}},
    envelope="code",
    body_error_kind=coded_errors("code", BODY_CODES),
    subaccounts=SubAccounts(
        listing="v1_private_post_private_get_accounts",
        params={"page_size": SUBACCOUNT_PAGE, "page": 0},
        parse=subaccount_refs,
        wallets=subaccount_wallets,
        next_page=subaccount_next_page,
        not_read="Crypto.com gives a master key a sub-account's unified wallet only: its "
        "staking positions and isolated-margin positions are not read.",
    ),
)

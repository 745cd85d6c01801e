"""OKX: the trading account, funding and savings.

Wallets, products and the amount field used (negative = a debt to the exchange):

okx       spot      GET /api/v5/account/balance (trading)  spot: the wallet, cashBal; margin
                    when the currency has a liability: eq - upl (OKX's equity per currency,
                    net of borrowing, less the unrealised PnL)
                    + the same row  futures   eq - that wallet: the open derivatives positions
                    settled in the currency, either sign
          funding   GET /api/v5/asset/balances             funding   bal
          earn      GET /api/v5/finance/savings/balance    earn      amt

A row repeated with the same ccy is taken once. Trading rows with a liability are margin, the
only ones that may be negative.

Unrealised PnL apart: `eq` includes the unrealised PnL of open positions (`upl`); it is the claim,
and what the location totals: the wallet is booked under spot or margin and the rest of eq as a
futures holding of the currency, so spot is neither inflated nor deflated by open positions. Without
a liability the wallet is cashBal, the ledger's figure, and futures is eq - cashBal (upl as OKX
computes it, with whatever else eq holds). With a liability the wallet is eq - upl, net of the debt
whichever way cashBal reports it. `eq` is required, as before. A missing or empty cashBal falls back
to eq - upl; a missing or empty `upl` there reads as no PnL, so eq is booked as the wallet, as
before: the total is still the claim, and refusing the sync over fields that only place value
between spot and futures would leave the fund blind instead. Recorded real payloads
(tests/portfolio/test_recorded_payloads.py) have eq - upl = cashBal = ccxt's total for every
currency.

Sub-accounts, read with the master key (the sub-account's name, subAcct, is its id; its label
the name shown):

listing   GET /api/v5/users/subaccount/list (limit 100, newest first)  subAcct, label; a full
                                                page asks for the older ones (after = last ts)
spot      GET /api/v5/account/subaccount/balances?subAcct=  as the master's trading account
                                                            (same payload, same parser)
funding   GET /api/v5/asset/subaccount/balances?subAcct=    funding   bal

OKX has no master-key call for a sub-account's savings: not read. An unknown subAcct is an error
body (58115 'Sub-account does not exist.'), a fault like any other.

Key permissions come from account/config (one request).

Every JSON object answer carries "code": one without it is a malformed answer (ccxt would raise a
non-retryable ExchangeError). Error codes 50102/50112 (refused timestamp) are 'clock', busy or
unavailable 'maintenance', 50011 'rate_limit'.
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
from portfolio.exchanges.errors import Malformed, PermissionsUnreadable
from portfolio.exchanges.payload import currency, dig, optional_amount, rows, shown
from portfolio.exchanges.rows import EquitySplit, Page, Row, rows_field, split_equity

TRADING = EquitySplit("eq", "upl", wallet="cashBal")


def trading(client: Any, page: Page) -> Iterator[Row]:
    for row in rows(page.data, "data", 0, "details"):
        _, code = currency(client, row.get("ccy"), "ccy")
        liability = optional_amount(row, "liab", code) != 0
        product = "margin" if liability else "spot"
        split = TRADING.without_wallet() if liability else TRADING
        yield from split_equity(client, row, "ccy", product, split, signed=liability)


def permissions(payload: Any) -> dict[str, bool]:
    perm = dig(payload, "data", 0, kind=dict).get("perm")
    if not isinstance(perm, str) or not perm.strip():
        raise PermissionsUnreadable(f"perm is {shown(perm)}")
    granted = {p.strip() for p in perm.split(",")}
    return {"read": True, "trade": "trade" in granted, "withdraw": "withdraw" in granted}


def funding(client: Any, page: Page) -> Iterator[Row]:
    yield from rows_field(("data",), "ccy", "bal", "funding")(client, page)


def subaccount_wallets(name: str) -> dict[str, tuple[Call, ...]]:
    return {
        "spot": (Call("private_get_account_subaccount_balances", {"subAcct": name}, trading),),
        "funding": (Call("private_get_asset_subaccount_balances", {"subAcct": name}, funding),),
    }


def subaccount_refs(payload: Any) -> list[SubAccountRef]:
    return [listed_subaccount(row, "subAcct", ("label",)) for row in rows(payload, "data")]


SUBACCOUNT_PAGE = 100  # OKX's largest page


def subaccount_next_page(payload: Any, params: dict[str, Any]) -> dict[str, Any] | None:
    """Newest first: a full page may have older ones, asked for with `after` = its last ts."""
    listed = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(listed, list) or len(listed) < SUBACCOUNT_PAGE:
        return None
    last = listed[-1].get("ts") if isinstance(listed[-1], dict) else None
    if not isinstance(last, str) or not last:
        # The rest of the listing could not be asked for: say so rather than stop short.
        raise Malformed(f"a full page of sub-accounts ends with ts {shown(last)}")
    return params | {"after": last}


# Sources: OKX's documented error codes.
BODY_CODES = {
    "50102": "clock",  # timestamp request expired
    "50112": "clock",  # invalid OK-ACCESS-TIMESTAMP
    "50001": "maintenance",  # service temporarily unavailable
    "50004": "maintenance",  # endpoint request timeout
    "50005": "maintenance",  # API offline or unavailable
    "50013": "maintenance",  # systems busy
    "50026": "maintenance",  # system error
    "50011": "rate_limit",
}

ADAPTER = Adapter(
    id="okx",
    name="OKX",
    wallets={
        "spot": (Call("private_get_account_balance", {}, trading),),
        "funding": (Call("private_get_asset_balances", {}, funding),),
        "earn": (
            Call(
                "private_get_finance_savings_balance",
                {},
                rows_field(("data",), "ccy", "amt", "earn"),
            ),
        ),
    },
    ticker_last=("last",),
    market_options={"fetchMarkets": {"types": ["spot"]}},
    permissions=PermissionCall("private_get_account_config", permissions),
    envelope="code",
    body_error_kind=coded_errors("code", BODY_CODES),
    subaccounts=SubAccounts(
        listing="private_get_users_subaccount_list",
        params={"limit": str(SUBACCOUNT_PAGE)},
        parse=subaccount_refs,
        wallets=subaccount_wallets,
        next_page=subaccount_next_page,
        not_read="OKX has no master-key call for a sub-account's savings: not read.",
    ),
)

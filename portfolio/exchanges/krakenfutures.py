"""Kraken Futures: the holding (cash) wallet, the multi-collateral (flex) wallet and the
single-collateral margin accounts, all from one /accounts request.

Wallets, products and the amount field used (negative = a debt to the exchange):

krakenfutures funding GET /derivatives/api/v3/accounts   cash (cashAccount): balances[code],
                      the holding wallet, never negative
              margin  the same request (made once)       flex (multiCollateralMarginAccount):
                      currencies[code].quantity, the collateral (negative: a debt the other
                      collateral covers); each single-collateral marginAccount ("fi_xbtusd"):
                      balances[its currency]
              futures the same request                   flex: totalUnrealized (USD, the open
                      positions' PnL and funding; without it pnl + unrealizedFunding); each
                      marginAccount: auxiliary.pv - balances[its currency] (the PnL in the
                      account's currency), either sign

The collateral plus the PnL is each margin account's portfolio value (flex: portfolioValue, in
USD; single: auxiliary.pv), the claim on the exchange, and what the location totals; the
collateral is neither inflated nor deflated by open positions. A single-collateral account's
other balances (its contracts, "fi_xbtusd_180615") are positions in contracts, not money: not
read. Row ids: "cash xbt", "flex XBT", "fi_xbtusd xbt" and the PnL rows with " pnl".

Amounts: the API answers JSON numbers, which ccxt parses into floats; the parser reads the body
again with every number kept as its own text. A key repeated in the body with another value is
malformed.

Sub-accounts, read with the master key (the sub-account's accountUid is its id; its fullName,
else its e-mail, the name shown). One request lists them all with their balances:

listing   GET /derivatives/api/v3/subaccounts   subaccounts[].accountUid, fullName, email; one
                                                answer, no paging
funding   the same request (made once)          holdingAccounts[].amount: the holding wallet,
                                                rows "cash xbt" as the master's
margin    the same request                      flexAccount.currencies[].quantity (either sign),
                                                rows "flex xbt" (codes lower-case there)
futures   the same request                      flexAccount.totalUnrealized (USD; without it
                                                pnl + unrealizedFunding), row "flex pnl"

The listing gives a single-collateral futures account ("f-xbt:usd") its availableMargin only,
which is not its balance: those accounts are not read. An accountUid the listing does not hold
(a sub-account unlinked since, or another master's) is an exchange error naming it, never an
empty sub-account.

Key permissions: Kraken Futures API keys have access levels (read-only, full access,
withdrawal) but no endpoint reports them, so they are not read (None). Quotes: Kraken Futures
lists no spot markets, so its holdings are priced by the reference exchange; markets are one
GET /derivatives/api/v3/instruments.

Every answer carries "result" ("success" or "error"). Error bodies {"result": "error", "error":
"..."}: apiLimitExceeded is 'rate_limit', unavailable and Unavailable 'maintenance',
nonceBelowThreshold and nonceDuplicate 'clock'; authenticationError is an authentication error
in ccxt's table.
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
from portfolio.exchanges.errors import ExchangeFault, Malformed, MalformedAnswer
from portfolio.exchanges.payload import (
    EXACT,
    amount,
    amount_problem,
    currency,
    dig,
    exact_json,
    rows,
)
from portfolio.exchanges.rows import FetchedBalance, Page, Parser, Row, distinct_rows

ACCOUNTS = "private_get_accounts"


def balance_row(
    client: Any, row_id: str, raw_code: Any, value: Any, product: str, *, signed: bool
) -> Row:
    reported, code = currency(client, raw_code, "currency")
    found = amount({"amount": value}, code, "amount", signed=signed)
    return Row(f"{row_id} {reported}", FetchedBalance(reported, code, product, found))


def cash_rows(client: Any, account: dict[str, Any]) -> Iterator[Row]:
    for raw_code, value in dig(account, "balances", kind=dict).items():
        yield balance_row(client, "cash", raw_code, value, "funding", signed=False)


def flex_rows(client: Any, account: dict[str, Any]) -> Iterator[Row]:
    for raw_code, entry in dig(account, "currencies", kind=dict).items():
        yield flex_currency_row(client, raw_code, entry)
    yield flex_pnl_row(account)


def flex_currency_row(client: Any, raw_code: Any, entry: Any) -> Row:
    if not isinstance(entry, dict):
        raise Malformed(f"flex currency {raw_code} is not an object")
    if entry.get("quantity") in (None, ""):
        raise Malformed(f"flex currency {raw_code} without quantity")
    return balance_row(client, "flex", raw_code, entry["quantity"], "margin", signed=True)


def flex_pnl_row(account: dict[str, Any]) -> Row:
    if account.get("totalUnrealized") not in (None, ""):
        pnl = amount(account, "USD", "totalUnrealized", signed=True)
    else:
        pnl = amount(account, "USD", optional=("pnl", "unrealizedFunding"), signed=True)
    # Zero too (merge drops it): a repeat with another PnL must conflict.
    return Row("flex pnl", FetchedBalance("USD", "USD", "futures", pnl))


def margin_rows(client: Any, name: str, account: dict[str, Any]) -> Iterator[Row]:
    """The collateral in the account's currency and the rest of its portfolio value (pv)."""
    reported, code = currency(client, account.get("currency"), f"{name}.currency")
    held = amount(dig(account, "balances", kind=dict), code, reported, signed=True)
    auxiliary = dig(account, "auxiliary", kind=dict)
    if auxiliary.get("pv") in (None, ""):
        pnl = amount(auxiliary, code, optional=("pnl",), signed=True)
    else:
        pnl = EXACT.subtract(amount(auxiliary, code, "pv", signed=True), held)
        problem = amount_problem(pnl, signed=True)
        if problem:
            raise MalformedAnswer(f"pv - balance of {name} is '{pnl}', {problem}")
    yield Row(f"{name} {reported}", FetchedBalance(reported, code, "margin", held))
    yield Row(f"{name} pnl", FetchedBalance(reported, code, "futures", pnl))


def every_part(client: Any, page: Page) -> Iterator[Row]:
    document = exact_json(page.raw)
    for name, account in dig(document, "accounts", kind=dict).items():
        if not isinstance(account, dict):
            raise Malformed(f"account {name} is not an object")
        kind = account.get("type")
        if kind == "cashAccount":
            yield from cash_rows(client, account)
        elif kind == "multiCollateralMarginAccount":
            yield from flex_rows(client, account)
        elif kind == "marginAccount":
            yield from margin_rows(client, str(name), account)
        else:
            raise Malformed(f"account {name} has an unknown type {kind!r}")


def accounts(products: frozenset[str]) -> Parser:
    """The wallet's parts of every account. A part repeated with other amounts makes the answer
    doubtful: it is refused whichever wallet is read."""

    def parse(client: Any, page: Page) -> Iterator[Row]:
        distinct_rows(client, every_part, [page])
        for found in every_part(client, page):
            if found.balance.product in products:
                yield found

    return parse


SUBACCOUNTS = "private_get_subaccounts"


def subaccount_rows(client: Any, sub: dict[str, Any]) -> Iterator[Row]:
    """The holding wallet and the flex account of one listed sub-account, with the master's
    row ids; its single-collateral accounts list no balance (availableMargin only)."""
    for held in rows(sub, "holdingAccounts"):
        raw_code, value = held.get("currency"), held.get("amount")
        yield balance_row(client, "cash", raw_code, value, "funding", signed=False)
    flex = sub.get("flexAccount")
    if flex is None:
        return  # no multi-collateral account opened
    if not isinstance(flex, dict):
        raise Malformed("flexAccount is not an object")
    for entry in rows(flex, "currencies"):
        yield flex_currency_row(client, entry.get("currency"), entry)
    yield flex_pnl_row(flex)


def listed_sub(document: Any, uid: str) -> list[dict[str, Any]]:
    """The listing's entries for `uid` (a repeat is checked row by row), or an exchange error:
    a sub-account the master no longer lists must not read as an empty one."""
    found = [s for s in rows(document, "subaccounts") if s.get("accountUid") == uid]
    if not found:
        raise ExchangeFault(
            kind="exchange_error",
            error_class="SubAccountNotListed",
            message=f"Kraken Futures does not list the sub-account {uid[:60]!r} under this "
            "master key (GET /subaccounts): it was unlinked, or belongs to another master "
            "account. Check the account on Kraken Futures; the sync will not retry on its own.",
        )
    return found


def subaccount_parts(uid: str) -> Parser:
    def parts(client: Any, page: Page) -> Iterator[Row]:
        for sub in listed_sub(exact_json(page.raw), uid):
            yield from subaccount_rows(client, sub)

    return parts


def subaccount(uid: str, products: frozenset[str]) -> Parser:
    """The wallet's parts of the sub-account, refused whichever wallet is read when a part is
    repeated with other amounts (as the master's accounts)."""
    every_part = subaccount_parts(uid)

    def parse(client: Any, page: Page) -> Iterator[Row]:
        distinct_rows(client, every_part, [page])
        for found in every_part(client, page):
            if found.balance.product in products:
                yield found

    return parse


def subaccount_wallets(uid: str) -> dict[str, tuple[Call, ...]]:
    return {
        wallet: (Call(SUBACCOUNTS, {}, subaccount(uid, frozenset({wallet}))),)
        for wallet in ("funding", "margin", "futures")
    }


def subaccount_refs(payload: Any) -> list[SubAccountRef]:
    listed = rows(payload, "subaccounts")
    return [listed_subaccount(row, "accountUid", ("fullName", "email")) for row in listed]


# Sources: ccxt's krakenfutures exceptions table (exact messages).
BODY_ERRORS = {
    "apiLimitExceeded": "rate_limit",
    "unavailable": "maintenance",
    "Unavailable": "maintenance",
    "nonceBelowThreshold": "clock",
    "nonceDuplicate": "clock",
}

ADAPTER = Adapter(
    id="krakenfutures",
    name="Kraken Futures",
    wallets={
        "funding": (Call(ACCOUNTS, {}, accounts(frozenset({"funding"}))),),
        "margin": (Call(ACCOUNTS, {}, accounts(frozenset({"margin"}))),),
        "futures": (Call(ACCOUNTS, {}, accounts(frozenset({"futures"}))),),
    },
    ticker_last=("last",),
    envelope="result",
    body_error_kind=coded_errors("error", BODY_ERRORS),
    subaccounts=SubAccounts(
        listing=SUBACCOUNTS,
        params={},
        parse=subaccount_refs,
        wallets=subaccount_wallets,
        not_read="Kraken Futures lists a sub-account's single-collateral futures accounts with "
        "their available margin only, not their balance: they are not read.",
    ),
)

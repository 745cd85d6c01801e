"""Balance rows: what a parser yields, each row once across pages, one balance per code and product.

A row repeated with the same exchange id is taken once, across pages too (a page served again);
a repeat with another amount is a malformed answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from portfolio.exchanges.errors import MalformedAnswer
from portfolio.exchanges.payload import (
    EXACT,
    MAX_REPORTED_CODE,
    ZERO,
    amount,
    amount_problem,
    currency,
    rows,
)

WALLETS = ("spot", "funding", "earn", "margin", "futures", "options")
PRODUCTS = ("spot", "funding", "earn", "staking", "margin", "futures", "options")
# Products where the exchange reports a liability, so an amount may be negative (a debt).
LIABILITY_PRODUCTS = frozenset({"margin", "futures", "options"})


@dataclass(frozen=True, slots=True)
class Lock:
    """Part of a balance that cannot be withdrawn before a date the exchange reported (locked
    earn or staking, an unbonding period)."""

    amount: Decimal
    until: datetime  # aware, UTC


@dataclass(frozen=True, slots=True)
class FetchedBalance:
    reported_code: str  # as the exchange reported it ('XXBT', 'ETH2.S'); summed ones join by '+'
    code: str  # normalised ccxt code, upper-case
    product: str  # one of PRODUCTS
    amount: Decimal  # exact from the raw strings; negative = debt
    # The parts locked until a known date (each within `amount`); empty when the exchange
    # reports none or no end date.
    locks: tuple[Lock, ...] = ()


@dataclass(frozen=True, slots=True)
class Page:
    data: Any  # what ccxt parsed
    raw: str  # the body as sent: kraken's repeated keys are only visible here


@dataclass(frozen=True, slots=True)
class Row:
    row_id: str  # the exchange's own id for the row: a repeat of it is the same row
    balance: FetchedBalance


Parser = Callable[[Any, Page], Iterable[Row]]  # (ccxt client, page)
Pager = Callable[[Any, dict[str, Any]], dict[str, Any] | None]  # next page's params or None


@dataclass(frozen=True, slots=True)
class AmountFields:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    signed: bool = False  # the product reports liabilities: negative is a debt


def row_of(
    client: Any, row: dict[str, Any], code_field: str, product: str, fields: AmountFields
) -> Row:
    reported, code = currency(client, row.get(code_field), code_field)
    value = amount(row, code, *fields.required, optional=fields.optional, signed=fields.signed)
    return Row(reported, FetchedBalance(reported, code, product, value))


@dataclass(frozen=True, slots=True)
class EquitySplit:
    """A trading-account row whose equity includes the value of open derivatives positions
    settled in its coin: the wallet is booked under its product and the rest of the equity as
    a `futures` holding of that coin, so the two add up to the equity (the claim) exactly."""

    equity: str  # required: the claim on the exchange in this coin
    pnl: str  # unrealised PnL; absent or '': no open position in this coin (zero)
    # The ledger's own wallet figure, read as is when given (then futures = equity - wallet:
    # the PnL as the exchange computed it, unrounded); "" where it cannot be read as the wallet
    # (a row with a debt, where which borrowing the figure nets is not said).
    wallet: str = ""

    def without_wallet(self) -> EquitySplit:
        return EquitySplit(self.equity, self.pnl)


def split_equity(
    client: Any,
    row: dict[str, Any],
    code_field: str,
    product: str,
    split: EquitySplit,
    *,
    signed: bool,
) -> Iterator[Row]:
    """The wallet (negative only where `signed`) under `product`, and the rest of the equity,
    of either sign, as a futures row of its own ("<code> <pnl field>")."""
    reported, code = currency(client, row.get(code_field), code_field)
    equity = amount(row, code, split.equity, signed=True)
    if split.wallet and row.get(split.wallet) not in (None, ""):
        wallet = amount(row, code, split.wallet, signed=signed)
        pnl = EXACT.subtract(equity, wallet)
        derived, what, derived_signed = pnl, f"{split.equity} - {split.wallet}", True
    else:
        pnl = amount(row, code, optional=(split.pnl,), signed=True)
        wallet = EXACT.subtract(equity, pnl)
        derived, what, derived_signed = wallet, f"{split.equity} - {split.pnl}", signed
    problem = amount_problem(derived, signed=derived_signed)
    if problem:
        raise MalformedAnswer(f"{what} of {code} is '{derived}', {problem}")
    yield Row(reported, FetchedBalance(reported, code, product, wallet))
    # Zero too (merge drops it): a repeat of the row with another equity must conflict here.
    yield Row(f"{reported} {split.pnl}", FetchedBalance(reported, code, "futures", pnl))


def rows_field(
    path: tuple[str, ...], code: str, value: str, product: str, ids: tuple[str, ...] = ()
) -> Parser:
    """A parser for the common shape: a list of rows at `path`, code and amount per row. The
    row's id is the first of `ids` it carries (a position id), else its code."""

    def parse(client: Any, page: Page) -> Iterator[Row]:
        for row in rows(page.data, *path):
            found = row_of(client, row, code, product, AmountFields((value,)))
            row_id = next((str(row[i]) for i in ids if row.get(i) not in (None, "")), None)
            yield Row(f"{found.row_id} {row_id}", found.balance) if row_id else found

    return parse


def distinct_rows(client: Any, parse: Parser, pages: list[Page]) -> list[FetchedBalance]:
    """Each of the exchange's rows once, across pages: a repeat with the same amount is the
    same row sent twice (a page served again); one with another amount is a malformed answer."""
    taken: dict[str, FetchedBalance] = {}
    for page in pages:
        for row in parse(client, page):
            first = taken.setdefault(row.row_id, row.balance)
            if first != row.balance:
                name = row.balance.reported_code
                which = name if row.row_id == name else f"{name} (row {row.row_id})"
                raise MalformedAnswer(
                    f"{which} appears twice with different amounts, "
                    f"'{first.amount}' and '{row.balance.amount}'"
                )
    return list(taken.values())


def merge(found: Iterable[FetchedBalance]) -> tuple[FetchedBalance, ...]:
    """One balance per (code, product), amounts summed exactly, zeros dropped."""
    totals: dict[tuple[str, str], Decimal] = {}
    reported: dict[tuple[str, str], list[str]] = {}
    locks: dict[tuple[str, str], tuple[Lock, ...]] = {}
    for item in found:
        key = (item.code, item.product)
        totals[key] = EXACT.add(totals.get(key, ZERO), item.amount)
        locks[key] = locks.get(key, ()) + item.locks
        codes = reported.setdefault(key, [])
        if item.reported_code not in codes:
            codes.append(item.reported_code)
    return tuple(
        FetchedBalance(joined(reported[key]), key[0], key[1], value, merged_locks(locks[key]))
        for key, value in sorted(totals.items())
        if value != 0
    )


def merged_locks(locks: tuple[Lock, ...]) -> tuple[Lock, ...]:
    """One lock per end date, amounts summed, earliest first."""
    by_date: dict[datetime, Decimal] = {}
    for lock in locks:
        by_date[lock.until] = EXACT.add(by_date.get(lock.until, ZERO), lock.amount)
    return tuple(Lock(amount, until) for until, amount in sorted(by_date.items()) if amount)


def joined(codes: list[str]) -> str:
    """Reported codes joined by '+', as many as the column holds."""
    text = codes[0]
    for code in codes[1:]:
        if len(text) + 1 + len(code) > MAX_REPORTED_CODE:
            break
        text += "+" + code
    return text

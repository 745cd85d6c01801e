"""Bitfinex (API v2): the exchange, funding, margin and derivatives wallets, and open positions.

Wallets, products and the amount field used (negative = a debt to the exchange):

bitfinex  spot      POST /v2/auth/r/wallets (one call)      exchange rows   spot      BALANCE
          funding   the same answer                        funding rows    funding   BALANCE:
                    it holds the funds lent out (credits) and offered, so offers and credits
                    are not read again (that would count them twice)
          margin    the same answer                        margin rows     margin    BALANCE,
                    and UNSETTLED_INTEREST as a debt of its own (ccxt's `debt`): a negative row
                    POST /v2/auth/r/positions (one call)    TYPE 0 margin   margin    PL, in the
                    pair's quote currency: the open position's profit or loss, either sign
          futures   the wallets answer                      margin rows of  futures   BALANCE
                    an F0 currency (USTF0, BTCF0): Bitfinex's derivatives wallet is the margin
                    wallet of the F0 currencies; the code is read without F0 (USTF0 -> USDT)
                    the positions answer                    TYPE 1 deriv.   futures   PL, in the
                    settlement currency (tBTCF0:USTF0 -> USDT), either sign

Each answer is a list of arrays (the docs' field order: wallets [TYPE, CURRENCY, BALANCE,
UNSETTLED_INTEREST, AVAILABLE_BALANCE, ...], positions [SYMBOL, STATUS, AMOUNT, BASE_PRICE,
FUNDING, FUNDING_TYPE, PL, ..., POSITION_ID (11), ..., TYPE (15), ...]). Amounts are JSON numbers:
the client reads them as their decimal text (`numbers_as_text`), never through floats. A row
repeated with the same wallet type + currency (positions: POSITION_ID) is taken once.

Unrealised PnL apart: a wallet's BALANCE does not include the PL of its open positions, so the
PL is booked as a row of its own (margin for margin positions, futures for derivatives) and the
wallets are neither inflated nor deflated; the location's total is the claim, wallet + PL.
Neither the position's FUNDING (the funding it uses: the position's size, not what is owed on
it) nor its AMOUNT is booked: the PL is what closing it now would add or take away (Bitfinex
counts the closing fee in). A PL left empty (null) reads as none: the wallet is still booked,
as for the other exchanges whose PnL fields are missing.

Not read: earn and staking (Bitfinex has no API for them: staking rewards are paid on exchange
wallet holdings, which are read as spot), the funding credits' end dates (lent funds can come
back before the period ends, so it is no lock date), sub-accounts (separate keys).

Key permissions come from /v2/auth/r/permissions (one request): [[SCOPE, READ, WRITE], ...];
read = wallets read, trade = write on orders, positions or funding (offering funds lends them
out), withdraw = write on withdraw.

Every answer is a list; an object answer is an error and carries "error" (the envelope): a 2xx
object without it is a malformed answer. Error bodies ["error", CODE, "message"] (with a 500, or
in a 200): 10114 (nonce: small) is 'clock', 20060 (maintenance) and 10000/10001 (unknown or
generic errors) 'maintenance', 11010 'rate_limit'; ccxt raises 10100 (apikey: invalid, digest
invalid) as an AuthenticationError.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from portfolio.exchanges.adapter import Adapter, Call, PermissionCall
from portfolio.exchanges.errors import Malformed, PermissionsUnreadable
from portfolio.exchanges.payload import EXACT, amount, currency, dig, shown, text
from portfolio.exchanges.rows import FetchedBalance, Page, Parser, Row

# The fields of the wallets and positions answers' arrays, at the positions the docs give them.
WALLET_FIELDS = {"TYPE": 0, "CURRENCY": 1, "BALANCE": 2, "UNSETTLED_INTEREST": 3}
POSITION_FIELDS = {"SYMBOL": 0, "PL": 6, "POSITION_ID": 11, "TYPE": 15}
DERIVATIVE = "F0"  # Bitfinex's suffix for the derivatives wallet's currencies and pairs
WALLET_PRODUCTS = {"exchange": "spot", "funding": "funding", "margin": "margin"}


def arrays(payload: Any, name: str) -> list[list[Any]]:
    found = dig(payload, kind=list)
    if not all(isinstance(row, list) for row in found):
        raise Malformed(f"the {name} answer holds a row that is not an array")
    return found


def named(row: list[Any], fields: dict[str, int]) -> dict[str, Any]:
    """The array's fields by their documented names (those it is long enough to carry), so the
    boundary's checks name the field they refuse."""
    return {name: row[index] for name, index in fields.items() if index < len(row)}


def code_of(client: Any, raw: Any, name: str) -> tuple[str, str, bool]:
    """(reported, normalised, derivative): 'USTF0' reads as USDT of the derivatives wallet."""
    reported, code = currency(client, raw, name)
    derivative = reported.upper().endswith(DERIVATIVE) and len(reported) > len(DERIVATIVE)
    if derivative:
        _, code = currency(client, reported[: -len(DERIVATIVE)], name)
    return reported, code, derivative


def wallet_rows(client: Any, row: list[Any]) -> Iterator[Row]:
    fields = named(row, WALLET_FIELDS)
    kind = text(fields, "TYPE")
    if kind not in WALLET_PRODUCTS:
        raise Malformed(f"unknown wallet type {shown(kind)}")
    reported, code, derivative = code_of(client, fields.get("CURRENCY"), "CURRENCY")
    margin = kind == "margin"
    product = "futures" if margin and derivative else WALLET_PRODUCTS[kind]
    balance = amount(fields, code, "BALANCE", signed=margin)
    yield Row(f"{kind} {reported}", FetchedBalance(reported, code, product, balance))
    if margin:  # what the margin wallet owes in interest: a debt of its own
        debt = amount(fields, code, optional=("UNSETTLED_INTEREST",), signed=True)
        # Zero too (merge drops it): a repeat of the row with another debt must conflict here.
        row_id = f"{kind} {reported} interest"
        yield Row(row_id, FetchedBalance(reported, code, product, EXACT.minus(debt)))


def wallets(products: frozenset[str]) -> Parser:
    """One answer serves four wallets; each keeps its own products."""

    def parse(client: Any, page: Page) -> Iterator[Row]:
        for row in arrays(page.data, "wallets"):
            for found in wallet_rows(client, row):
                if found.balance.product in products:
                    yield found

    return parse


def quote_of(symbol: str) -> str:
    """The pair's quote (settlement) currency id: tBTCUSD -> USD, tBTCF0:USTF0 -> USTF0."""
    pair = symbol[1:] if symbol.startswith(("t", "f")) else symbol
    if ":" in pair:
        return pair.split(":", 1)[1]
    if len(pair) != 6:
        raise Malformed(f"SYMBOL is {shown(symbol)}, not a pair")
    return pair[3:]


def position_row(client: Any, row: list[Any]) -> Row:
    fields = named(row, POSITION_FIELDS)
    kind = fields.get("TYPE")
    if kind not in (0, 1) or isinstance(kind, bool):
        raise Malformed(f"position TYPE is {shown(kind)}, not 0 (margin) or 1 (derivatives)")
    reported, code, _ = code_of(client, quote_of(text(fields, "SYMBOL")), "SYMBOL")
    pnl = amount(fields, code, optional=("PL",), signed=True)
    product = "futures" if kind == 1 else "margin"
    row_id = f"position {fields.get('POSITION_ID')}"
    return Row(row_id, FetchedBalance(reported, code, product, pnl))


def positions(product: str) -> Parser:
    def parse(client: Any, page: Page) -> Iterator[Row]:
        for row in arrays(page.data, "positions"):
            found = position_row(client, row)
            if found.balance.product == product:
                yield found

    return parse


TRADING_SCOPES = ("orders", "positions", "funding")


def permissions(payload: Any) -> dict[str, bool]:
    if not isinstance(payload, list):
        raise PermissionsUnreadable(f"the answer is {shown(payload)}, not a list of scopes")
    scopes: dict[str, tuple[bool, bool]] = {}
    for row in payload:
        if not (isinstance(row, list) and len(row) >= 3 and isinstance(row[0], str)):
            raise PermissionsUnreadable(f"scope {shown(row)} is not [SCOPE, READ, WRITE]")
        if any(flag not in (0, 1) or isinstance(flag, bool) for flag in row[1:3]):
            raise PermissionsUnreadable(f"scope {shown(row)}: READ and WRITE are not 0 or 1")
        scopes[row[0]] = (row[1] == 1, row[2] == 1)
    for needed in ("wallets", "withdraw", *TRADING_SCOPES):
        if needed not in scopes:
            raise PermissionsUnreadable(f"no {needed!r} scope in the answer")
    return {
        "read": scopes["wallets"][0],
        "trade": any(scopes[s][1] for s in TRADING_SCOPES),
        "withdraw": scopes["withdraw"][1],
    }


# Sources: Bitfinex's documented error codes (abbreviations glossary) and ccxt's table.
BODY_CODES = {
    "10114": "clock",  # nonce: small
    "20060": "maintenance",  # the platform is in maintenance
    "10000": "maintenance",  # unknown error
    "10001": "maintenance",  # generic error
    "11010": "rate_limit",
}


def body_error_kind(document: Any) -> str | None:
    """["error", 10114, "nonce: small"]: the kind its code names, or None."""
    if not (isinstance(document, list) and len(document) >= 2 and document[0] == "error"):
        return None
    return BODY_CODES.get(str(document[1]))


WALLETS = "private_post_auth_r_wallets"
POSITIONS = "private_post_auth_r_positions"

ADAPTER = Adapter(
    id="bitfinex",
    name="Bitfinex",
    wallets={
        "spot": (Call(WALLETS, {}, wallets(frozenset({"spot"}))),),
        "funding": (Call(WALLETS, {}, wallets(frozenset({"funding"}))),),
        "margin": (
            Call(WALLETS, {}, wallets(frozenset({"margin"}))),
            Call(POSITIONS, {}, positions("margin")),
        ),
        "futures": (
            Call(WALLETS, {}, wallets(frozenset({"futures"}))),
            Call(POSITIONS, {}, positions("futures")),
        ),
    },
    ticker_last=(7,),  # [SYMBOL, BID, BID_SIZE, ASK, ASK_SIZE, DAILY_CHANGE, ..._RELATIVE, LAST]
    permissions=PermissionCall("private_post_auth_r_permissions", permissions),
    # Bitfinex answers lists; its only object answers are errors, and each carries "error"
    # ({"error": "ERR_RATE_LIMIT"}, {"code": 503, "error": "temporarily_unavailable"}): a 2xx
    # object without one is a malformed answer, not a permanent error of the account.
    envelope="error",
    body_error_kind=body_error_kind,
    numbers_as_text=True,
)

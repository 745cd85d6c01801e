"""The only module that imports ccxt: exchange clients for syncs.

One sync = one fresh ccxt instance (instances are not thread-safe, and a reused binance instance
reports a revoked key as a retryable DDoSProtection). Markets are loaded once per exchange per
process by a credential-less loader instance and handed to each new instance
(`set_markets_from_exchange`, which shares the dicts: they are treated as read-only). The cache
is keyed by (exchange id, emulator URL), guarded by one lock per key, refreshed after
MARKETS_TTL_SECONDS (a failed refresh keeps the stale markets); `market_requests` counts the
market-loading requests of this process and `clear_markets_cache()` resets both.

Amounts are read from the raw response strings into Decimal (ccxt's unified totals are floats).
Every 2xx body must parse as JSON, and every balance payload must have the structure that confirms
it (for example binance `balances`, kraken `result`): otherwise a retryable `bad_response` fault
(error class BadResponse), so a fault never reads as "holdings went to zero". An empty but
well-formed answer is an empty account here; the sync service confirms large drops.

Every value is checked at this boundary; a refusal is a retryable `bad_response` fault with error
class MalformedAnswer naming the wallet, the field and the value:
- amounts finite, below 10^18 units, with at most 18 decimal places that carry a digit (the
  column is numeric(38,18): what it cannot store exactly is refused, never rounded); negative
  only in margin and futures (okx and bybit trading rows with a liability are margin);
- codes stripped of surrounding whitespace, then at most 40 printable characters without spaces,
  normalised by ccxt's currency table and upper-cased to at most 32;
- a row repeated with the same exchange id (binance: asset, earn positionId/productId; coinbase:
  account id; okx: ccy; bybit: account type + coin, earn productId; kraken: the key, read from
  the raw body since repeated JSON keys vanish in a dict) is taken once, across pages too; a
  repeat with another amount is malformed. A page cursor served twice ends paging.

One deadline per sync: timeout_ms bounds all of a sync's requests together (market loading too
when the call does it). requests' timeout is per socket read, so a watchdog shuts down the
sync's connections at the deadline, and each request waits no longer than what is left.

Quotes the database cannot store exactly (more than 18 places, 10^20 or more) or that are no
price (not finite, not above zero) are left out and listed in `refused_quotes` with the reason.

Wallets, products and the amount field used (negative = a debt to the exchange):

binance   spot      GET /api/v3/account                    spot      free + locked
          funding   POST /sapi/v1/asset/get-funding-asset  funding   free + locked + freeze
                                                                     + withdrawing (still there)
          margin    GET /sapi/v1/margin/account (cross)    margin    netAsset (free + locked -
                                                                     borrowed - interest)
          futures   GET fapi /fapi/v3/account (USDⓈ-M)     futures   marginBalance: the wallet
                    balance plus unrealised PnL, what closing every position now would leave
          earn      simple-earn flexible (paged)           earn      totalAmount
                    simple-earn locked (paged)             earn      amount
                    /sapi/v1/staking/position STAKING      staking   amount
kraken    spot+earn POST /0/private/BalanceEx (one call)   `balance` (it includes hold_trade).
          Codes are normalised: XXBT->BTC, ZUSD->USD (ccxt's currency table); suffixes give the
          product: .S .B .P and bare ETH2 -> staking (ETH2 -> ETH), .F .M -> earn, .HOLD -> spot,
          others -> earn. KFEE (fee credits, not money) is dropped. Codes that normalise to the
          same (ETH2.S and ETH2) are summed; reported_code joins them with '+'.
okx       spot      GET /api/v5/account/balance (trading)  spot, or margin when the currency has
                    a liability; `eq`, OKX's equity per currency (net of borrowing, includes
                    unrealised PnL): the trading account also holds margin and derivatives
          funding   GET /api/v5/asset/balances             funding   bal
          earn      GET /api/v5/finance/savings/balance    earn      amt
coinbase  spot      GET /v2/accounts (paged)               spot      balance.amount
bybit     spot      GET /v5/account/wallet-balance UNIFIED spot, or margin when the coin has
                    borrowing; `equity` (walletBalance + unrealised PnL - borrowing, negative
                    when a debt): the unified account also holds margin and derivatives
          funding   GET .../query-account-coins-balance FUND funding walletBalance
          earn      GET /v5/earn/position FlexibleSaving   earn      amount
                    GET /v5/earn/position OnChain          staking   amount

Key permissions come from binance apiRestrictions, okx account/config and bybit query-api
(one request each); kraken and coinbase do not report them (None). An answer without the fields
that say what the key may do leaves them None with `permissions_problem` saying why: guessing
"cannot trade, cannot withdraw" would hide the warning.

Not fetched: binance isolated margin, COIN-M futures and portfolio margin; kraken futures (a
separate exchange in ccxt). binance types `option` and `delivery` are never passed to
fetch_balance: ccxt silently falls back to spot for them, which double counts.

Errors are classified by their body before their status, 2xx or not: each exchange's documented
codes for busy or maintenance (retryable 'maintenance'), rate limits, and refused timestamps or
nonces (binance -1021, kraken EAPI:Invalid nonce, okx 50102/50112, bybit 10002, coinbase "request
timestamp expired"): kind 'clock', retryable. coinbase {"errors": [...]} is classed by its id. A
5xx that would otherwise be a permanent exchange error is 'maintenance', a 429 'rate_limit'.
kraken answers a wrong secret with "EAPI:Invalid signature", which ccxt raises as a plain
ExchangeError; it is mapped to 'authentication' (a wrong secret is a credentials problem). Any
non-ccxt exception while signing (a kraken secret that is not base64, a malformed PEM key) is
also 'authentication'.
"""

from __future__ import annotations

import binascii
import copy
import json
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Context, Decimal, Inexact, InvalidOperation
from typing import Any

import ccxt
import requests
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter
from urllib3 import PoolManager
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from sandbox.urls import assert_offline, point_at_emulator

WALLETS = ("spot", "funding", "earn", "margin", "futures")
PRODUCTS = ("spot", "funding", "earn", "staking", "margin", "futures")
QUOTE_CODES = ("USD", "USDT", "USDC")
STABLE_PAIRS = ("USDT/USD", "USDC/USD", "USDC/USDT")
CREDENTIAL_KEYS = ("apiKey", "secret", "password", "uid", "privateKey")
# New listings must reach the quotes eventually, but a market reload per sync would cost more
# requests than the sync itself.
MARKETS_TTL_SECONDS = 12 * 3600
MAX_PAGES = 50  # a paging bug must not loop forever
ZERO = Decimal(0)
# What the database stores exactly: numeric(38,18). An amount must also stay below a bound no
# real holding reaches, so that a garbled "1e30" is refused rather than stored.
MAX_PLACES = 18
AMOUNT_BOUND = Decimal(10) ** 18
PRICE_BOUND = Decimal(10) ** 20  # 20 integer digits: the column's whole range
MAX_REPORTED_CODE = 40  # Holding.reported_code
MAX_CODE = 32  # Asset.code
# Products where the exchange reports a liability, so an amount may be negative (a debt).
LIABILITY_PRODUCTS = frozenset({"margin", "futures"})
# Sums of exact amounts must never round: far more digits than 38 and a trap on inexactness.
EXACT = Context(prec=100, traps=[Inexact, InvalidOperation])

# The fewest market requests: spot markets only, no currencies, no margin pair lists.
MARKET_OPTIONS: dict[str, dict[str, Any]] = {
    "binance": {
        "fetchMarkets": {"types": ["spot"]},
        "fetchMargins": False,
        "fetchCurrencies": False,
    },
    "okx": {"fetchMarkets": {"types": ["spot"]}},
    "bybit": {"fetchMarkets": {"types": ["spot"]}},
}
DISPLAY_NAMES = {
    "binance": "Binance",
    "kraken": "Kraken",
    "okx": "OKX",
    "coinbase": "Coinbase",
    "bybit": "Bybit",
}
RETRYABLE = frozenset({"network", "rate_limit", "maintenance", "timeout", "bad_response", "clock"})
CREDENTIAL_KINDS = frozenset({"authentication", "permission"})
KINDS = RETRYABLE | CREDENTIAL_KINDS | {"exchange_error"}


@dataclass(frozen=True, slots=True)
class FetchedBalance:
    reported_code: str  # as the exchange reported it ('XXBT', 'ETH2.S'); summed ones join by '+'
    code: str  # normalised ccxt code, upper-case
    product: str  # one of PRODUCTS
    amount: Decimal  # exact from the raw strings; negative = debt


@dataclass(frozen=True, slots=True)
class FetchedAccount:
    balances: tuple[FetchedBalance, ...]
    quotes: dict[str, Decimal]
    # None when the exchange does not report them, or when its answer could not be read
    # (then permissions_problem says why).
    key_permissions: dict[str, bool] | None
    request_count: int  # this sync's HTTP requests, with market loading if this call did it
    permissions_problem: str = ""
    # Quotes the database could not store exactly, or that cannot be a price: symbol -> reason.
    refused_quotes: dict[str, str] = field(default_factory=dict)


class ExchangeFault(Exception):
    """Every failure of a sync, classified for retrying and for the fund manager."""

    kind: str
    retryable: bool
    credentials_broken: bool
    error_class: str
    message: str

    def __init__(self, *, kind: str, error_class: str, message: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        super().__init__(message)
        self.kind = kind
        self.error_class = error_class
        self.message = message
        self.retryable = kind in RETRYABLE
        self.credentials_broken = kind in CREDENTIAL_KINDS


class Malformed(Exception):
    """A 2xx payload without the structure that confirms it: becomes a 'bad_response' fault."""


class MalformedAnswer(Malformed):
    """A value the boundary refuses (not finite, out of bounds, negative where no debt can be,
    a code that is no code, a repeated row that disagrees). `wallet` is filled in by the caller
    that knows which wallet was being read."""

    def __init__(self, detail: str, wallet: str = "") -> None:
        super().__init__(detail)
        self.detail = detail
        self.wallet = wallet


class PermissionsUnreadable(Exception):
    """A permission answer without the fields that say what the key may do."""


class QuoteRefused(Exception):
    """A quote the database cannot store exactly, or that cannot be a price."""


class CredentialFormatError(Exception):
    """A credential ccxt could not even sign with (kraken secret not base64, bad PEM)."""


# ----------------------------------------------------------------------------- payload reading


def dig(payload: Any, *path: str | int, kind: Any = list) -> Any:
    """payload[path...], checked to be a `kind`; otherwise the payload is malformed."""
    node = payload
    for step in path:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            raise Malformed(f"no {'.'.join(map(str, path))} in the response") from None
    if not isinstance(node, kind):
        expected = getattr(kind, "__name__", str(kind))
        raise Malformed(f"{'.'.join(map(str, path)) or 'body'} is not a {expected}")
    return node


def rows(payload: Any, *path: str | int) -> list[dict[str, Any]]:
    found = dig(payload, *path, kind=list)
    if not all(isinstance(row, dict) for row in found):
        raise Malformed(f"{'.'.join(map(str, path)) or 'body'} holds a non-object row")
    return found


def text(row: dict[str, Any], name: str) -> str:
    value = row.get(name)
    if not isinstance(value, str) or not value:
        raise Malformed(f"row without {name}: {str(row)[:80]}")
    return value


def shown(value: Any) -> str:
    """A refused value as the message shows it: quoted text, short."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def decimal(value: Any, name: str) -> Decimal:
    # Strings are exact; an int is exact too. A float has already lost digits: refuse it.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedAnswer(f"{name} is {shown(value)}, not a decimal string")
    try:
        return Decimal(value)
    except InvalidOperation:
        raise MalformedAnswer(f"{name} is {shown(value)}, not a number") from None


def decimal_places(value: Decimal) -> int:
    """Decimal places that carry a digit: 1.500 has one. Exact, whatever the precision."""
    _, digits, exponent = value.as_tuple()
    places = -int(exponent)
    for digit in reversed(digits):
        if places <= 0 or digit:
            break
        places -= 1
    return max(places, 0)


def amount_problem(value: Decimal, *, signed: bool) -> str | None:
    """Why the database must not store this amount, or None."""
    if not value.is_finite():
        return "not a finite amount"
    if value.copy_abs() >= AMOUNT_BOUND:
        return "beyond any real holding (10^18 units or more)"
    if decimal_places(value) > MAX_PLACES:
        return f"more than {MAX_PLACES} decimal places, which cannot be stored exactly"
    if value < 0 and not signed:
        return "negative where the exchange reports no debt"
    return None


def exact(value: Decimal) -> Decimal:
    """At most 18 places: trailing zeros beyond them go (exactly: they are zeros)."""
    if int(value.as_tuple().exponent) >= -MAX_PLACES:
        return value
    return value.quantize(Decimal(1).scaleb(-MAX_PLACES), context=EXACT)


def checked(raw: Any, name: str, code: str, *, signed: bool) -> Decimal:
    label = f"{name} of {code}"
    value = decimal(raw, label)
    problem = amount_problem(value, signed=signed)
    if problem:
        raise MalformedAnswer(f"{label} is {shown(raw)}, {problem}")
    return exact(value)


def amount(
    row: dict[str, Any],
    code: str,
    *required: str,
    optional: tuple[str, ...] = (),
    signed: bool = False,
) -> Decimal:
    """Sum of the required fields (present and non-empty) and the optional ones ('' is 0),
    each checked; negative only where `signed` (a product with liabilities)."""
    for name in required:
        if row.get(name) in (None, ""):
            raise Malformed(f"row without {name}: {str(row)[:80]}")
    present = [*required, *(n for n in optional if row.get(n) not in (None, ""))]
    total = ZERO
    for name in present:
        total = EXACT.add(total, checked(row[name], name, code, signed=signed))
    problem = amount_problem(total, signed=signed) if len(present) > 1 else None
    if problem:
        raise MalformedAnswer(f"{' + '.join(present)} of {code} is '{total}', {problem}")
    return total


def optional_amount(row: dict[str, Any], name: str, code: str) -> Decimal:
    """A field that only tells the product (a liability): finite and bounded, any sign."""
    return amount(row, code, optional=(name,), signed=True)


def currency(client: Any, raw: Any, name: str) -> tuple[str, str]:
    """(reported code, normalised code): whitespace around is dropped (' BTC ' is BTC); a code
    with spaces or control characters inside, or too long for its column, is refused."""
    if not isinstance(raw, str) or not raw.strip():
        raise Malformed(f"{name} is {shown(raw)}, not a currency code")
    reported = raw.strip()
    if len(reported) > MAX_REPORTED_CODE or not all(
        c.isprintable() and not c.isspace() for c in reported
    ):
        raise MalformedAnswer(
            f"{name} is {shown(raw)}, not a currency code (at most {MAX_REPORTED_CODE} "
            "printable characters without spaces)"
        )
    code = str(client.safe_currency_code(reported)).upper()
    if len(code) > MAX_CODE or not all(c.isprintable() and not c.isspace() for c in code):
        raise MalformedAnswer(
            f"{name} is {shown(raw)}, which reads as {shown(code)}: longer than "
            f"{MAX_CODE} characters or not printable"
        )
    return reported, code


# ----------------------------------------------------------------------------- balance parsers


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


def row_of(
    client: Any, row: dict[str, Any], code_field: str, product: str, fields: AmountFields
) -> Row:
    reported, code = currency(client, row.get(code_field), code_field)
    value = amount(row, code, *fields.required, optional=fields.optional, signed=fields.signed)
    return Row(reported, FetchedBalance(reported, code, product, value))


@dataclass(frozen=True, slots=True)
class AmountFields:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    signed: bool = False  # the product reports liabilities: negative is a debt


def binance_spot(client: Any, page: Page) -> Iterator[Row]:
    for row in rows(page.data, "balances"):
        yield row_of(client, row, "asset", "spot", AmountFields(("free", "locked")))


def binance_funding(client: Any, page: Page) -> Iterator[Row]:
    fields = AmountFields(("free", "locked"), optional=("freeze", "withdrawing"))
    for row in rows(page.data):
        yield row_of(client, row, "asset", "funding", fields)


def binance_margin(client: Any, page: Page) -> Iterator[Row]:
    for row in rows(page.data, "userAssets"):
        yield row_of(client, row, "asset", "margin", AmountFields(("netAsset",), signed=True))


def binance_futures(client: Any, page: Page) -> Iterator[Row]:
    fields = AmountFields(("marginBalance",), signed=True)
    for row in rows(page.data, "assets"):
        yield row_of(client, row, "asset", "futures", fields)


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


KRAKEN_SUFFIXES = {
    "S": "staking",
    "B": "staking",
    "P": "staking",
    "M": "earn",
    "F": "earn",
    "HOLD": "spot",
}
KRAKEN_DROPPED = frozenset({"KFEE", "FEE"})  # fee credits: not money


def kraken_entry(client: Any, raw: str, row: dict[str, Any]) -> Row | None:
    reported, _ = currency(client, raw, "asset")
    base, _, suffix = reported.partition(".")
    product = KRAKEN_SUFFIXES.get(suffix.upper(), "earn") if suffix else "spot"
    if base.upper() == "ETH2":  # ETH staked on the beacon chain, with or without '.S'
        base, product = "ETH", "staking"
    _, code = currency(client, base, "asset")
    if base.upper() in KRAKEN_DROPPED or code in KRAKEN_DROPPED:
        return None
    value = amount(row, code, "balance")
    return Row(reported, FetchedBalance(reported, code, product, value))


class KeyPairs(dict[str, Any]):
    """A JSON object that remembers every key as sent, repeats included."""

    pairs: list[tuple[str, Any]]


def keep_pairs(pairs: list[tuple[str, Any]]) -> KeyPairs:
    found = KeyPairs(pairs)
    found.pairs = pairs
    return found


def kraken_balances(products: frozenset[str]) -> Parser:
    """BalanceEx serves spot and earn at once; each wallet keeps its own products. Its rows are
    the keys of one object: a repeated key is only visible in the raw body."""

    def parse(client: Any, page: Page) -> Iterator[Row]:
        dig(page.data, "result", kind=dict)  # the structure, as ccxt read it
        try:
            document = json.loads(page.raw, object_pairs_hook=keep_pairs)
        except ValueError:
            raise Malformed("the body is not JSON") from None
        result = dig(document, "result", kind=KeyPairs)
        for reported, row in result.pairs:
            if not isinstance(row, dict):
                raise Malformed(f"result.{reported} is not an object")
            found = kraken_entry(client, str(reported), row)
            if found is not None and found.balance.product in products:
                yield found

    return parse


def okx_trading(client: Any, page: Page) -> Iterator[Row]:
    for row in rows(page.data, "data", 0, "details"):
        _, code = currency(client, row.get("ccy"), "ccy")
        liability = optional_amount(row, "liab", code) != 0
        product = "margin" if liability else "spot"
        yield row_of(client, row, "ccy", product, AmountFields(("eq",), signed=liability))


def bybit_unified(client: Any, page: Page) -> Iterator[Row]:
    for account in rows(page.data, "result", "list"):
        kind = str(account.get("accountType") or "")
        for row in rows(account, "coin"):
            _, code = currency(client, row.get("coin"), "coin")
            debt = optional_amount(row, "borrowAmount", code) != 0
            debt = debt or optional_amount(row, "accruedInterest", code) != 0
            product = "margin" if debt else "spot"
            found = row_of(client, row, "coin", product, AmountFields(("equity",), signed=debt))
            yield Row(f"{kind} {found.row_id}".strip(), found.balance)


def coinbase_accounts(client: Any, page: Page) -> Iterator[Row]:
    for row in rows(page.data, "data"):
        balance = dig(row, "balance", kind=dict)
        found = row_of(client, balance, "currency", "spot", AmountFields(("amount",)))
        yield Row(text(row, "id"), found.balance)


def single_page(payload: Any, params: dict[str, Any]) -> dict[str, Any] | None:
    return None


def binance_earn_next_page(payload: Any, params: dict[str, Any]) -> dict[str, Any] | None:
    total = payload.get("total") if isinstance(payload, dict) else None
    current = int(params.get("current", 1))
    if not isinstance(total, int) or current * int(params["size"]) >= total:
        return None
    return params | {"current": current + 1}


def coinbase_next_page(payload: Any, params: dict[str, Any]) -> dict[str, Any] | None:
    pagination = payload.get("pagination") if isinstance(payload, dict) else None
    after = pagination.get("next_starting_after") if isinstance(pagination, dict) else None
    return params | {"starting_after": after} if after else None


@dataclass(frozen=True, slots=True)
class Call:
    method: str  # ccxt's implicit API method: the raw payload, no float parsing
    params: dict[str, Any]
    parse: Parser
    next_page: Pager = single_page

    @property
    def key(self) -> str:
        return self.method + json.dumps(self.params, sort_keys=True)


KRAKEN_BALANCE = "private_post_balanceex"
EARN_PAGE = {"size": 100, "current": 1}
POSITION_IDS = ("positionId", "productId")  # binance earn: a position, else its product
BALANCE_CALLS: dict[str, dict[str, tuple[Call, ...]]] = {
    "binance": {
        "spot": (Call("private_get_account", {"omitZeroBalances": "true"}, binance_spot),),
        "funding": (Call("sapi_post_asset_get_funding_asset", {}, binance_funding),),
        "margin": (Call("sapi_get_margin_account", {}, binance_margin),),
        "futures": (Call("fapiprivatev3_get_account", {}, binance_futures),),
        "earn": (
            Call(
                "sapi_get_simple_earn_flexible_position",
                EARN_PAGE,
                rows_field(("rows",), "asset", "totalAmount", "earn", POSITION_IDS),
                binance_earn_next_page,
            ),
            Call(
                "sapi_get_simple_earn_locked_position",
                EARN_PAGE,
                rows_field(("rows",), "asset", "amount", "earn", POSITION_IDS),
                binance_earn_next_page,
            ),
            Call(
                "sapi_get_staking_position",
                {"product": "STAKING"},
                rows_field((), "asset", "amount", "staking", POSITION_IDS),
            ),
        ),
    },
    "kraken": {
        "spot": (Call(KRAKEN_BALANCE, {}, kraken_balances(frozenset({"spot"}))),),
        "earn": (Call(KRAKEN_BALANCE, {}, kraken_balances(frozenset({"earn", "staking"}))),),
    },
    "okx": {
        "spot": (Call("private_get_account_balance", {}, okx_trading),),
        "funding": (
            Call("private_get_asset_balances", {}, rows_field(("data",), "ccy", "bal", "funding")),
        ),
        "earn": (
            Call(
                "private_get_finance_savings_balance",
                {},
                rows_field(("data",), "ccy", "amt", "earn"),
            ),
        ),
    },
    "coinbase": {
        "spot": (
            Call("v2_private_get_accounts", {"limit": 250}, coinbase_accounts, coinbase_next_page),
        ),
    },
    "bybit": {
        "spot": (
            Call(
                "private_get_v5_account_wallet_balance", {"accountType": "UNIFIED"}, bybit_unified
            ),
        ),
        "funding": (
            Call(
                "private_get_v5_asset_transfer_query_account_coins_balance",
                {"accountType": "FUND"},
                rows_field(("result", "balance"), "coin", "walletBalance", "funding"),
            ),
        ),
        "earn": (
            Call(
                "private_get_v5_earn_position",
                {"category": "FlexibleSaving"},
                rows_field(("result", "list"), "coin", "amount", "earn", ("productId",)),
            ),
            Call(
                "private_get_v5_earn_position",
                {"category": "OnChain"},
                rows_field(("result", "list"), "coin", "amount", "staking", ("productId",)),
            ),
        ),
    },
}
# The exchanges a sync can read (each with its own balance calls above), in the tables' order.
SUPPORTED_EXCHANGES: tuple[str, ...] = tuple(BALANCE_CALLS)

# ----------------------------------------------------------------------------- key permissions


def flag(flags: dict[str, Any], name: str, *, required: bool = True) -> bool:
    """A true/false field; absent or anything else means the answer cannot be read, because
    guessing False would hide a key that can trade or withdraw."""
    value = flags.get(name)
    if value is None and not required:
        return False
    if not isinstance(value, bool):
        raise PermissionsUnreadable(f"{name} is {shown(value)}, not true or false")
    return value


BINANCE_TRADING = (
    "enableSpotAndMarginTrading", "enableMargin", "enableFutures", "enableVanillaOptions",
    "enablePortfolioMarginTrading", "enableFixApiTrade",
)  # fmt: skip


def binance_permissions(payload: Any) -> dict[str, bool]:
    flags = dig(payload, kind=dict)
    trading = [flag(flags, name, required=name == BINANCE_TRADING[0]) for name in BINANCE_TRADING]
    return {
        "read": flag(flags, "enableReading"),
        "trade": any(trading),
        "withdraw": flag(flags, "enableWithdrawals"),
    }


def okx_permissions(payload: Any) -> dict[str, bool]:
    perm = dig(payload, "data", 0, kind=dict).get("perm")
    if not isinstance(perm, str) or not perm.strip():
        raise PermissionsUnreadable(f"perm is {shown(perm)}")
    granted = {p.strip() for p in perm.split(",")}
    return {"read": True, "trade": "trade" in granted, "withdraw": "withdraw" in granted}


BYBIT_TRADING = ("ContractTrade", "Spot", "Options", "Derivatives", "Exchange", "CopyTrading")


def bybit_permissions(payload: Any) -> dict[str, bool]:
    result = dig(payload, "result", kind=dict)
    groups = dig(result, "permissions", kind=dict)
    read_only = result.get("readOnly")
    if read_only not in (0, 1) or isinstance(read_only, float):
        raise PermissionsUnreadable(f"readOnly is {shown(read_only)}, not 0 or 1")
    wallet = groups.get("Wallet")
    if not isinstance(wallet, list):
        raise PermissionsUnreadable(f"permissions.Wallet is {shown(wallet)}, not a list")
    can_trade = any(groups.get(name) for name in (*BYBIT_TRADING, "BlockTrade"))
    return {
        "read": True,
        "trade": bool(can_trade) and not read_only,
        "withdraw": "Withdraw" in wallet,
    }


PERMISSION_CALLS: dict[str, tuple[str, Callable[[Any], dict[str, bool]]]] = {
    "binance": ("sapi_get_account_apirestrictions", binance_permissions),
    "okx": ("private_get_account_config", okx_permissions),
    "bybit": ("private_get_v5_user_query_api", bybit_permissions),
}
# Where the last price sits in each exchange's raw ticker.
TICKER_LAST: dict[str, tuple[str | int, ...]] = {
    "binance": ("lastPrice",),
    "kraken": ("c", 0),
    "okx": ("last",),
    "coinbase": ("price",),
    "bybit": ("lastPrice",),
}

# ----------------------------------------------------------------------------- one deadline


class Deadline:
    """One deadline for all of a sync's requests. requests' timeout bounds each socket read, so
    a body trickled a few bytes at a time never trips it: at the deadline a watchdog timer shuts
    down every connection the sync has used, and the read in progress fails at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._connections: set[Any] = set()
        self._timer = threading.Timer(seconds, self.expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def remaining(self) -> float:
        return self.ends - time.monotonic()

    def passed(self) -> bool:
        return self.expired or self.remaining() <= 0

    def watch(self, connection: Any) -> None:
        with self._lock:
            self._connections.add(connection)
            expired = self.expired
        if expired:
            shut(connection)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            connections = list(self._connections)
        for connection in connections:
            shut(connection)


def shut(connection: Any) -> None:
    """Shut the socket down (not close: another thread is reading it); the read returns."""
    sock = getattr(connection, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed


class WatchedPool(HTTPConnectionPool):
    """A pool that hands every connection it lends to the sync's deadline."""

    deadline: Deadline | None = None

    def _get_conn(self, timeout: float | None = None) -> Any:
        connection = super()._get_conn(timeout)
        if self.deadline is not None:
            self.deadline.watch(connection)
        return connection


class WatchedHTTPSPool(WatchedPool, HTTPSConnectionPool):
    pass


class WatchedPoolManager(PoolManager):
    def __init__(self, deadline: Deadline, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.deadline = deadline
        self.pool_classes_by_scheme = {"http": WatchedPool, "https": WatchedHTTPSPool}

    def _new_pool(
        self, scheme: str, host: str, port: int, request_context: dict[str, Any] | None = None
    ) -> HTTPConnectionPool:
        pool = super()._new_pool(scheme, host, port, request_context)
        if isinstance(pool, WatchedPool):
            pool.deadline = self.deadline
        return pool


class DeadlineAdapter(HTTPAdapter):
    """Connect and header waits get no more than what is left of the deadline; the watchdog
    covers the body."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        super().__init__()

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        self.poolmanager = WatchedPoolManager(
            self.deadline, num_pools=connections, maxsize=maxsize, block=block, **pool_kwargs
        )

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        left = self.deadline.remaining()
        if left <= 0 or self.deadline.expired:
            raise requests.exceptions.Timeout(f"the sync's deadline passed before {request.url}")
        limit = timeout if isinstance(timeout, int | float) else left
        return super().send(request, stream, min(limit, left), verify, cert, proxies)


# ----------------------------------------------------------------------------- clients


@dataclass
class Session:
    """One ccxt instance for one sync, counting its HTTP requests."""

    exchange_id: str
    client: Any
    deadline: Deadline
    requests: int = 0
    last_body: str = ""  # the raw text of the last answer


def is_known_exchange(exchange_id: str) -> bool:
    return exchange_id in ccxt.exchanges


def supported_wallets(exchange_id: str) -> tuple[str, ...]:
    calls = BALANCE_CALLS.get(exchange_id, {})
    return tuple(wallet for wallet in WALLETS if wallet in calls)


def build_client(
    exchange_id: str,
    credentials: dict[str, str] | None = None,
    *,
    emulator_url: str | None = None,
    timeout_ms: int = 10_000,
) -> Any:
    """A fresh ccxt instance; nothing is fetched. Production keeps ccxt's rate limiter."""
    config: dict[str, Any] = {
        "enableRateLimit": emulator_url is None,
        "timeout": timeout_ms,
        "options": copy.deepcopy(MARKET_OPTIONS.get(exchange_id, {})),
    }
    config |= {k: v for k, v in (credentials or {}).items() if k in CREDENTIAL_KEYS and v}
    client = getattr(ccxt, exchange_id)(config)
    if emulator_url is not None:
        hostname = getattr(client, "hostname", None)
        api = point_at_emulator(client.urls["api"], emulator_url, hostname)
        client.urls = {**client.urls, "api": api}
        assert_offline(client.urls["api"])
    return client


def open_session(
    exchange_id: str,
    credentials: dict[str, str] | None,
    emulator_url: str | None,
    deadline: Deadline,
) -> Session:
    timeout_ms = max(1, int(deadline.seconds * 1000))
    client = build_client(
        exchange_id, credentials, emulator_url=emulator_url, timeout_ms=timeout_ms
    )
    adapter = DeadlineAdapter(deadline)
    client.session.mount("http://", adapter)
    client.session.mount("https://", adapter)
    session = Session(exchange_id, client, deadline)
    instrument(session)
    return session


def instrument(session: Session) -> None:
    """Count requests, hold the deadline, refuse 2xx bodies that are not JSON, classify error
    bodies, and tell credential errors apart."""
    client = session.client
    fetch, on_rest_response, sign = client.fetch, client.on_rest_response, client.sign
    handle_errors = client.handle_errors

    def counted_fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        if session.deadline.passed():
            raise ccxt.RequestTimeout(f"{client.id} {method} {url}: the sync's deadline passed")
        session.requests += 1
        try:
            return fetch(url, method, headers, body)
        except ccxt.BaseError as exc:
            if session.deadline.expired:  # the watchdog cut the answer short
                raise ccxt.RequestTimeout(
                    f"{client.id} {method} {url}: no complete answer within the sync's deadline"
                ) from exc
            raise

    def guarded_response(code: int, reason: str, url: str, method: str, *rest: Any) -> Any:
        body = on_rest_response(code, reason, url, method, *rest)
        session.last_body = body if isinstance(body, str) else ""
        if 200 <= int(code) < 300:
            problem = body_problem(session.exchange_id, body)
            if problem:
                raise ccxt.BadResponse(f"{client.id} {method} {url} {code}: {problem}")
        return body

    def classified_errors(code: Any, reason: str, url: str, method: str, *rest: Any) -> Any:
        _, body, document = rest[:3]
        try:
            kind = body_error_kind(session.exchange_id, document)
            if kind is not None:
                detail = str(body)[:200] if body else ""
                raise KIND_ERRORS[kind](f"{client.id} {detail}")
            return handle_errors(code, reason, url, method, *rest)
        except ccxt.BaseError as exc:
            # A 5xx is the exchange's own trouble, and a 429 a rate limit, whatever code its
            # body carries: neither is a permanent error of the account.
            if code and classify(exc)[0] == "exchange_error":
                if int(code) >= 500:
                    raise ccxt.ExchangeNotAvailable(str(exc)) from exc
                if int(code) == 429:
                    raise ccxt.RateLimitExceeded(str(exc)) from exc
            raise

    def checked_sign(*args: Any, **kwargs: Any) -> Any:
        try:
            return sign(*args, **kwargs)
        except ccxt.BaseError:
            raise
        except Exception as exc:  # only a credential ccxt cannot use gets here
            raise CredentialFormatError(f"{exception_name(exc)}: {exc}") from exc

    client.fetch = counted_fetch
    client.on_rest_response = guarded_response
    client.handle_errors = classified_errors
    client.sign = checked_sign


def exception_name(exc: BaseException) -> str:
    """'binascii.Error' rather than a bare 'Error'; builtins keep their short name."""
    module = type(exc).__module__
    name = type(exc).__qualname__
    return name if module == "builtins" else f"{module}.{name}"


# The envelope key every JSON object answer of these exchanges carries; without it ccxt raises
# a non-retryable ExchangeError (okx) for what is a malformed answer.
ENVELOPE_KEYS = {"okx": "code", "bybit": "retCode"}


def body_problem(exchange_id: str, body: Any) -> str | None:
    """Why a 2xx body cannot be trusted, or None."""
    if not body:
        return "empty body"
    if not isinstance(body, str) or not body.startswith(("{", "[")):
        return f"not JSON: {str(body)[:60]}"
    try:
        document = json.loads(body)
    except ValueError:
        return f"truncated or invalid JSON: {body[:60]}"
    envelope = ENVELOPE_KEYS.get(exchange_id)
    if envelope and isinstance(document, dict) and envelope not in document:
        return f"no {envelope!r} in the answer"
    return None


# ----------------------------------------------------------------------------- error bodies

# What an error body says, read before ccxt's own tables (which class some of these as
# permanent) and whatever the HTTP status. Sources: each exchange's documented error codes.
BODY_CODES: dict[str, dict[str, str]] = {
    "binance": {
        "-1021": "clock",  # timestamp outside the recvWindow
        "-1001": "maintenance",  # internal error, try again
        "-1006": "maintenance",  # unexpected response from the message bus
        "-1007": "maintenance",  # timeout waiting for the backend
        "-1008": "maintenance",  # server overloaded
        "-1003": "rate_limit",
    },
    "okx": {
        "50102": "clock",  # timestamp request expired
        "50112": "clock",  # invalid OK-ACCESS-TIMESTAMP
        "50001": "maintenance",  # service temporarily unavailable
        "50004": "maintenance",  # endpoint request timeout
        "50005": "maintenance",  # API offline or unavailable
        "50013": "maintenance",  # systems busy
        "50026": "maintenance",  # system error
        "50011": "rate_limit",
    },
    "bybit": {
        "10002": "clock",  # request time outside the recv_window
        "10000": "maintenance",  # server timeout
        "10016": "maintenance",  # server error / service restarting
        "5004": "maintenance",  # server timeout
        "10006": "rate_limit",
        "10018": "rate_limit",
    },
}
KRAKEN_ERRORS = {
    "EAPI:Invalid nonce": "clock",
    "EService:Unavailable": "maintenance",
    "EService:Busy": "maintenance",
    "EService:Internal error": "maintenance",
    "EService:Deadline elapsed": "maintenance",
    "EGeneral:Internal error": "maintenance",
    "EAPI:Rate limit exceeded": "rate_limit",
    "EGeneral:Too many requests": "rate_limit",
}
COINBASE_ERRORS = {
    "authentication_error": "authentication",
    "invalid_token": "authentication",
    "expired_token": "authentication",
    "revoked_token": "authentication",
    "invalid_authentication_method": "authentication",
    "unauthorized": "authentication",
    "invalid_scope": "permission",
    "rate_limit_exceeded": "rate_limit",
    "resource_exhausted": "rate_limit",
    "internal_server_error": "maintenance",
    "service_unavailable": "maintenance",
}
KIND_ERRORS: dict[str, type[ccxt.BaseError]] = {
    "clock": ccxt.InvalidNonce,
    "maintenance": ccxt.ExchangeNotAvailable,
    "rate_limit": ccxt.RateLimitExceeded,
    "authentication": ccxt.AuthenticationError,
    "permission": ccxt.PermissionDenied,
    "exchange_error": ccxt.ExchangeError,
}


def body_error_kind(exchange_id: str, document: Any) -> str | None:
    """The fault kind an error body names, or None (no error, or one ccxt classes well)."""
    if exchange_id == "kraken":
        errors = document.get("error") if isinstance(document, dict) else None
        texts = [str(e) for e in errors] if isinstance(errors, list) else []
        return next((KRAKEN_ERRORS[t] for t in texts if t in KRAKEN_ERRORS), None)
    if exchange_id == "coinbase":
        return coinbase_error_kind(document)
    codes = BODY_CODES.get(exchange_id, {})
    envelope = {"binance": "code", "okx": "code", "bybit": "retCode"}.get(exchange_id, "")
    code = document.get(envelope) if isinstance(document, dict) else None
    return codes.get(str(code)) if code is not None else None


def coinbase_error_kind(document: Any) -> str | None:
    """{"errors": [{"id": ..., "message": ...}]}, in a 200 as well: classed by the id; an
    expired request timestamp by its message (its id is a plain authentication_error)."""
    errors = document.get("errors") if isinstance(document, dict) else None
    if not isinstance(errors, list) or not errors:
        return None
    first = errors[0] if isinstance(errors[0], dict) else {}
    if "timestamp" in str(first.get("message", "")).lower():
        return "clock"
    return COINBASE_ERRORS.get(str(first.get("id", "")), "exchange_error")


def call(session: Session, method: str, *args: Any) -> Any:
    client = session.client
    # After one success ccxt turns binance's -2015 (key revoked) into a retryable
    # DDoSProtection; a revoked key must read as an authentication failure.
    if "hasAlreadyAuthenticatedSuccessfully" in client.options:
        client.options["hasAlreadyAuthenticatedSuccessfully"] = False
    try:
        return getattr(client, method)(*args)
    except (ccxt.BaseError, CredentialFormatError):
        raise
    except binascii.Error as exc:
        raise CredentialFormatError(f"{exception_name(exc)}: {exc}") from exc
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        # ccxt's own parsing tripped over the payload.
        raise Malformed(f"{type(exc).__name__}: {exc}") from exc


# ----------------------------------------------------------------------------- markets cache


@dataclass(slots=True)
class CachedMarkets:
    source: Any  # a loaded, credential-less ccxt instance; never used for requests again
    loaded_at: float


_markets: dict[tuple[str, str], CachedMarkets] = {}
_market_locks: dict[tuple[str, str], threading.Lock] = {}
_locks_guard = threading.Lock()
market_requests = 0  # market-loading HTTP requests made by this process
market_requests_by_exchange: Counter[str] = Counter()


def clear_markets_cache() -> None:
    global market_requests
    with _locks_guard:
        _markets.clear()
        market_requests = 0
        market_requests_by_exchange.clear()


def market_lock(key: tuple[str, str]) -> threading.Lock:
    with _locks_guard:
        return _market_locks.setdefault(key, threading.Lock())


def record_market_requests(exchange_id: str, count: int) -> None:
    global market_requests
    with _locks_guard:
        market_requests += count
        market_requests_by_exchange[exchange_id] += count


def loaded_markets(
    exchange_id: str, emulator_url: str | None, deadline: Deadline
) -> tuple[Any, int]:
    """(an instance holding the markets, requests made now). Keyed by exchange and emulator, so
    tests with different emulators do not share markets; in production the key is the id."""
    key = (exchange_id, emulator_url or "")
    with market_lock(key):
        cached = _markets.get(key)
        if cached and time.monotonic() - cached.loaded_at < MARKETS_TTL_SECONDS:
            return cached.source, 0
        loader = open_session(exchange_id, None, emulator_url, deadline)
        try:
            call(loader, "load_markets")
        except Exception:
            if cached is None:
                raise
            return cached.source, loader.requests  # stale markets beat a failed sync
        finally:
            record_market_requests(exchange_id, loader.requests)
        _markets[key] = CachedMarkets(loader.client, time.monotonic())
        return loader.client, loader.requests


def attach_markets(session: Session, emulator_url: str | None) -> None:
    """Markets loaded now count against this sync's deadline, like its other requests."""
    source, count = loaded_markets(session.exchange_id, emulator_url, session.deadline)
    session.client.set_markets_from_exchange(source)
    session.requests += count


# ----------------------------------------------------------------------------- fetching


def fetch_pages(session: Session, spec: Call) -> list[Page]:
    """Every page of one call. A cursor the exchange hands out twice would loop: what it
    served is already read, so paging stops there."""
    pages, params = [], dict(spec.params)
    asked = {json.dumps(params, sort_keys=True)}
    for _ in range(MAX_PAGES):
        data = call(session, spec.method, params)
        pages.append(Page(data, session.last_body))
        following = spec.next_page(data, params)
        if following is None or json.dumps(following, sort_keys=True) in asked:
            return pages
        asked.add(json.dumps(following, sort_keys=True))
        params = following
    raise Malformed(f"{spec.method}: more than {MAX_PAGES} pages")


def fetch_balances(session: Session, wallets: tuple[str, ...]) -> tuple[FetchedBalance, ...]:
    responses: dict[str, list[Page]] = {}  # kraken's spot and earn share one request
    found: list[FetchedBalance] = []
    for wallet in wallets:
        for spec in BALANCE_CALLS[session.exchange_id].get(wallet, ()):
            if spec.key not in responses:
                responses[spec.key] = fetch_pages(session, spec)
            try:
                found.extend(distinct_rows(session.client, spec, responses[spec.key]))
            except MalformedAnswer as exc:
                exc.wallet = wallet
                raise
    return merge(found)


def distinct_rows(client: Any, spec: Call, pages: list[Page]) -> list[FetchedBalance]:
    """Each of the exchange's rows once, across pages: a repeat with the same amount is the
    same row sent twice (a page served again); one with another amount is a malformed answer."""
    taken: dict[str, FetchedBalance] = {}
    for page in pages:
        for row in spec.parse(client, page):
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
    for item in found:
        key = (item.code, item.product)
        totals[key] = EXACT.add(totals.get(key, ZERO), item.amount)
        codes = reported.setdefault(key, [])
        if item.reported_code not in codes:
            codes.append(item.reported_code)
    return tuple(
        FetchedBalance(joined(reported[key]), key[0], key[1], value)
        for key, value in sorted(totals.items())
        if value != 0
    )


def joined(codes: list[str]) -> str:
    """Reported codes joined by '+', as many as the column holds."""
    text = codes[0]
    for code in codes[1:]:
        if len(text) + 1 + len(code) > MAX_REPORTED_CODE:
            break
        text += "+" + code
    return text


def fetch_permissions(session: Session) -> tuple[dict[str, bool] | None, str]:
    """(flags, problem). An answer that cannot be read leaves the flags unknown (None) and says
    why, rather than reading as "cannot trade, cannot withdraw"; the sync goes on."""
    spec = PERMISSION_CALLS.get(session.exchange_id)
    if spec is None:
        return None, ""
    method, parse = spec
    try:
        return parse(call(session, method, {})), ""
    except (PermissionsUnreadable, Malformed, ccxt.BadResponse) as exc:
        name = display_name(session.exchange_id)
        detail = scrub(str(exc), {})
        return None, (
            f"{name}'s answer about the key's permissions could not be read ({detail}): "
            "whether the key can trade or withdraw is unknown until it can."
        )


def quote_symbols(markets: dict[str, Any], bases: Iterable[str]) -> list[str]:
    wanted = {f"{base}/{quote}" for base in bases for quote in QUOTE_CODES if base != quote}
    wanted |= set(STABLE_PAIRS)
    return sorted(
        symbol
        for symbol in wanted
        if symbol in markets
        and markets[symbol].get("spot")
        and markets[symbol].get("active") is not False
    )


def fetch_prices(
    session: Session, bases: Iterable[str]
) -> tuple[dict[str, Decimal], dict[str, str]]:
    """(quotes, refused): a quote the database cannot store exactly is refused with a reason,
    never rounded or dropped in silence."""
    symbols = quote_symbols(session.client.markets or {}, bases)
    if not symbols:
        return {}, {}
    tickers = call(session, "fetch_tickers", symbols)
    path = TICKER_LAST[session.exchange_id]
    quotes, refused = {}, {}
    for symbol in symbols:
        try:
            price = raw_price(tickers.get(symbol) if isinstance(tickers, dict) else None, path)
        except QuoteRefused as exc:
            refused[symbol] = str(exc)
            continue
        if price is not None:
            quotes[symbol] = price
    return quotes, refused


def raw_price(ticker: Any, path: tuple[str | int, ...]) -> Decimal | None:
    """The exact last price; None when missing (a missing price is an alert, not a zero).
    Raises QuoteRefused for one the database cannot hold exactly or that is no price."""
    try:
        raw = dig(ticker, "info", *path, kind=str | int)
    except Malformed:
        return None
    try:
        price = decimal(raw, "last")
    except MalformedAnswer:
        raise QuoteRefused(f"the price {shown(raw)} is not a number") from None
    problem = price_problem(price)
    if problem:
        raise QuoteRefused(f"the price {shown(raw)} {problem}")
    return exact(price)


def price_problem(price: Decimal) -> str | None:
    if not price.is_finite():
        return "is not a finite number"
    if price <= 0:
        return "is not above zero"
    if price >= PRICE_BOUND:
        return "is too large to store (10^20 or more)"
    if decimal_places(price) > MAX_PLACES:
        return f"has more than {MAX_PLACES} decimal places and cannot be stored exactly"
    return None


def fetch_account(
    exchange_id: str,
    credentials: dict[str, str],
    wallets: Iterable[str],
    *,
    emulator_url: str | None = None,
    timeout_ms: int = 10_000,
) -> FetchedAccount:
    """Every selected wallet this exchange has, the key's permissions and the quotes, all
    within one deadline of timeout_ms (market loading included when this call does it)."""
    selected = select_wallets(exchange_id, wallets)
    context = FaultContext(exchange_id, credentials, timeout_ms)
    with faults(context), Deadline(timeout_ms / 1000) as deadline:
        session = open_session(exchange_id, credentials, emulator_url, deadline)
        attach_markets(session, emulator_url)
        permissions, problem = fetch_permissions(session)
        balances = fetch_balances(session, selected)
        quotes, refused = fetch_prices(session, {b.code for b in balances})
    return FetchedAccount(balances, quotes, permissions, session.requests, problem, refused)


def fetch_quotes(
    exchange_id: str,
    bases: Iterable[str],
    *,
    emulator_url: str | None = None,
    timeout_ms: int = 10_000,
) -> dict[str, Decimal]:
    """Public tickers of a reference exchange for the given bases (no credentials); quotes it
    refuses are left out."""
    require_supported(exchange_id)
    with faults(FaultContext(exchange_id, {}, timeout_ms)), Deadline(timeout_ms / 1000) as d:
        session = open_session(exchange_id, None, emulator_url, d)
        attach_markets(session, emulator_url)
        return fetch_prices(session, {str(b).upper() for b in bases})[0]


def select_wallets(exchange_id: str, wallets: Iterable[str]) -> tuple[str, ...]:
    require_supported(exchange_id)
    chosen = set(wallets)
    unknown = chosen - set(WALLETS)
    if unknown:
        raise ValueError(f"unknown wallets {sorted(unknown)}; expected some of {WALLETS}")
    return tuple(w for w in supported_wallets(exchange_id) if w in chosen)


def require_supported(exchange_id: str) -> None:
    if exchange_id in BALANCE_CALLS:
        return
    name = display_name(exchange_id)
    supported = ", ".join(DISPLAY_NAMES.values())
    raise ExchangeFault(
        kind="exchange_error",
        error_class="NotSupported",
        message=f"Counterweight cannot sync {name} yet (supported: {supported}). "
        "Record this location's balances by hand until then.",
    )


# ----------------------------------------------------------------------------- faults


@dataclass(frozen=True, slots=True)
class FaultContext:
    exchange_id: str
    credentials: dict[str, str] = field(repr=False)
    timeout_ms: int

    def key_hint(self) -> str:
        key = self.credentials.get("apiKey") or ""
        return f" ending in …{key[-4:]}" if len(key) >= 12 else ""


# Checked in order: subclasses before their parents.
ERROR_KINDS: tuple[tuple[type[BaseException], str], ...] = (
    (ccxt.RequestTimeout, "timeout"),
    (ccxt.InvalidNonce, "clock"),
    (ccxt.ExchangeNotAvailable, "maintenance"),  # OnMaintenance is a subclass
    (ccxt.DDoSProtection, "rate_limit"),
    (ccxt.RateLimitExceeded, "rate_limit"),
    (ccxt.NetworkError, "network"),
    (ccxt.BadResponse, "bad_response"),
    (ccxt.OperationFailed, "network"),
    (ccxt.PermissionDenied, "permission"),
    (ccxt.AccountSuspended, "permission"),
    (ccxt.AuthenticationError, "authentication"),
    (ccxt.BaseError, "exchange_error"),
)
# ccxt raises these as plain ExchangeError, but they mean the credentials are wrong.
AUTH_MESSAGES = ("EAPI:Invalid signature", "EAPI:Invalid key")

MESSAGES = {
    "authentication": "{name} rejected the API key{key} or its secret ({detail}). "
    "Replace the key; syncing is paused until then.",
    "permission": "{name} refused the API key{key} access this sync needs ({detail}). "
    "Give the key read access to every wallet or replace it; syncing is paused until then.",
    "rate_limit": "{name} is limiting how fast we may ask ({detail}). "
    "The sync will retry later; the last good balances are kept.",
    "maintenance": "{name} is unavailable or under maintenance ({detail}). "
    "The sync will retry later; the last good balances are kept.",
    "timeout": "{name} did not answer within {seconds:g} s ({detail}). "
    "The sync will retry; the last good balances are kept.",
    "clock": "{name} refused the request's timestamp or nonce ({detail}): check this "
    "server's clock; the sync will retry and the last good balances are kept.",
    "network": "Could not reach {name} ({detail}). "
    "The sync will retry; the last good balances are kept.",
    "bad_response": "{name} sent an empty or malformed answer ({detail}). "
    "The sync will retry; nothing is read as a zero balance.",
    "exchange_error": "{name} returned an error ({detail}). "
    "Check the account on {name}; the sync will not retry on its own.",
}


def display_name(exchange_id: str) -> str:
    return DISPLAY_NAMES.get(exchange_id, exchange_id.capitalize())


def classify(exc: BaseException) -> tuple[str, str]:
    """(kind, error_class) for anything a sync can raise."""
    if isinstance(exc, MalformedAnswer):
        return "bad_response", "MalformedAnswer"
    if isinstance(exc, Malformed):
        return "bad_response", "BadResponse"
    if isinstance(exc, CredentialFormatError):
        return "authentication", str(exc).split(":", 1)[0]
    name = type(exc).__name__
    if type(exc) is ccxt.ExchangeError and any(m in str(exc) for m in AUTH_MESSAGES):
        return "authentication", name
    return next(kind for cls, kind in ERROR_KINDS if isinstance(exc, cls)), name


def scrub(message: str, credentials: dict[str, str]) -> str:
    """No secrets, keys, signatures or query strings; short enough to read."""
    message = re.sub(r"(https?://[^\s?]+)\?\S*", r"\1", message)
    for value in credentials.values():
        if value and len(value) >= 4:
            message = message.replace(value, "***")
    message = " ".join(message.split())
    return message if len(message) <= 200 else message[:197] + "..."


MALFORMED_ANSWER = (
    "{name} sent a malformed answer for the {wallet} wallet ({detail}). "
    "The sync will retry; the last good balances are kept."
)


def make_fault(context: FaultContext, exc: BaseException) -> ExchangeFault:
    kind, error_class = classify(exc)
    if isinstance(exc, MalformedAnswer) and exc.wallet:
        message = MALFORMED_ANSWER.format(
            name=display_name(context.exchange_id),
            wallet=exc.wallet,
            detail=scrub(exc.detail, context.credentials),
        )
        return ExchangeFault(kind=kind, error_class=error_class, message=message)
    detail = f"{error_class}: {scrub(str(exc), context.credentials)}"
    message = MESSAGES[kind].format(
        name=display_name(context.exchange_id),
        key=context.key_hint(),
        detail=detail,
        seconds=context.timeout_ms / 1000,
    )
    return ExchangeFault(kind=kind, error_class=error_class, message=message)


@contextmanager
def faults(context: FaultContext) -> Iterator[None]:
    """Every ccxt exception (and the raw errors ccxt lets through) leaves as an ExchangeFault."""
    try:
        yield
    except ExchangeFault:
        raise
    except (ccxt.BaseError, Malformed, CredentialFormatError) as exc:
        raise make_fault(context, exc) from exc

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
it (for example binance `balances`, kraken `result`): an empty or malformed answer raises a
retryable `bad_response` fault, so a fault never reads as "holdings went to zero".

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
(one request each); kraken and coinbase do not report them (None).

Not fetched: binance isolated margin, COIN-M futures and portfolio margin; kraken futures (a
separate exchange in ccxt). binance types `option` and `delivery` are never passed to
fetch_balance: ccxt silently falls back to spot for them, which double counts.

Errors: kraken answers a wrong secret with "EAPI:Invalid signature", which ccxt raises as a plain
ExchangeError; it is mapped to 'authentication' (a wrong secret is a credentials problem). Any
non-ccxt exception while signing (a kraken secret that is not base64, a malformed PEM key) is
also 'authentication'.
"""

from __future__ import annotations

import binascii
import copy
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import ccxt

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
RETRYABLE = frozenset({"network", "rate_limit", "maintenance", "timeout", "bad_response"})
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
    key_permissions: dict[str, bool] | None
    request_count: int  # this sync's HTTP requests, with market loading if this call did it


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


def decimal(value: Any, name: str) -> Decimal:
    # Strings are exact; an int is exact too. A float has already lost digits: refuse it.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Malformed(f"{name} is not a decimal string: {value!r}")
    try:
        return Decimal(value)
    except InvalidOperation:
        raise Malformed(f"{name} is not a decimal: {value!r}") from None


def amount(row: dict[str, Any], *required: str, optional: tuple[str, ...] = ()) -> Decimal:
    """Sum of the required fields (present and non-empty) and the optional ones ('' is 0)."""
    total = sum((decimal(row.get(name), name) for name in required), ZERO)
    for name in optional:
        if row.get(name) not in (None, ""):
            total += decimal(row[name], name)
    return total


def optional_amount(row: dict[str, Any], name: str) -> Decimal:
    return amount(row, optional=(name,))


# ----------------------------------------------------------------------------- balance parsers

Parser = Callable[[Any, Any], Iterable[FetchedBalance]]  # (ccxt client, raw payload)
Pager = Callable[[Any, dict[str, Any]], dict[str, Any] | None]  # next page's params or None


def entry(client: Any, reported: str, product: str, value: Decimal) -> FetchedBalance:
    code = str(client.safe_currency_code(reported)).upper()
    return FetchedBalance(reported, code, product, value)


def binance_spot(client: Any, payload: Any) -> Iterator[FetchedBalance]:
    for row in rows(payload, "balances"):
        yield entry(client, text(row, "asset"), "spot", amount(row, "free", "locked"))


def binance_funding(client: Any, payload: Any) -> Iterator[FetchedBalance]:
    for row in rows(payload):
        value = amount(row, "free", "locked", optional=("freeze", "withdrawing"))
        yield entry(client, text(row, "asset"), "funding", value)


def binance_margin(client: Any, payload: Any) -> Iterator[FetchedBalance]:
    for row in rows(payload, "userAssets"):
        yield entry(client, text(row, "asset"), "margin", amount(row, "netAsset"))


def binance_futures(client: Any, payload: Any) -> Iterator[FetchedBalance]:
    for row in rows(payload, "assets"):
        yield entry(client, text(row, "asset"), "futures", amount(row, "marginBalance"))


def rows_field(path: tuple[str, ...], code: str, value: str, product: str) -> Parser:
    """A parser for the common shape: a list of rows at `path`, code and amount per row."""

    def parse(client: Any, payload: Any) -> Iterator[FetchedBalance]:
        for row in rows(payload, *path):
            yield entry(client, text(row, code), product, amount(row, value))

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


def kraken_entry(client: Any, reported: str, value: Decimal) -> FetchedBalance | None:
    base, _, suffix = reported.partition(".")
    product = KRAKEN_SUFFIXES.get(suffix.upper(), "earn") if suffix else "spot"
    if base.upper() == "ETH2":  # ETH staked on the beacon chain, with or without '.S'
        base, product = "ETH", "staking"
    code = str(client.safe_currency_code(base)).upper()
    if base.upper() in KRAKEN_DROPPED or code in KRAKEN_DROPPED:
        return None
    return FetchedBalance(reported, code, product, value)


def kraken_balances(products: frozenset[str]) -> Parser:
    """BalanceEx serves spot and earn at once; each wallet keeps its own products."""

    def parse(client: Any, payload: Any) -> Iterator[FetchedBalance]:
        for reported, row in dig(payload, "result", kind=dict).items():
            if not isinstance(row, dict):
                raise Malformed(f"result.{reported} is not an object")
            found = kraken_entry(client, str(reported), amount(row, "balance"))
            if found is not None and found.product in products:
                yield found

    return parse


def okx_trading(client: Any, payload: Any) -> Iterator[FetchedBalance]:
    for row in rows(payload, "data", 0, "details"):
        product = "margin" if optional_amount(row, "liab") > 0 else "spot"
        yield entry(client, text(row, "ccy"), product, amount(row, "eq"))


def bybit_unified(client: Any, payload: Any) -> Iterator[FetchedBalance]:
    for account in rows(payload, "result", "list"):
        for row in rows(account, "coin"):
            debt = optional_amount(row, "borrowAmount") + optional_amount(row, "accruedInterest")
            product = "margin" if debt > 0 else "spot"
            yield entry(client, text(row, "coin"), product, amount(row, "equity"))


def coinbase_accounts(client: Any, payload: Any) -> Iterator[FetchedBalance]:
    for row in rows(payload, "data"):
        balance = dig(row, "balance", kind=dict)
        yield entry(client, text(balance, "currency"), "spot", amount(balance, "amount"))


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
                rows_field(("rows",), "asset", "totalAmount", "earn"),
                binance_earn_next_page,
            ),
            Call(
                "sapi_get_simple_earn_locked_position",
                EARN_PAGE,
                rows_field(("rows",), "asset", "amount", "earn"),
                binance_earn_next_page,
            ),
            Call(
                "sapi_get_staking_position",
                {"product": "STAKING"},
                rows_field((), "asset", "amount", "staking"),
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
                rows_field(("result", "list"), "coin", "amount", "earn"),
            ),
            Call(
                "private_get_v5_earn_position",
                {"category": "OnChain"},
                rows_field(("result", "list"), "coin", "amount", "staking"),
            ),
        ),
    },
}
# The exchanges a sync can read (each with its own balance calls above), in the tables' order.
SUPPORTED_EXCHANGES: tuple[str, ...] = tuple(BALANCE_CALLS)

# ----------------------------------------------------------------------------- key permissions


def binance_permissions(payload: Any) -> dict[str, bool]:
    flags = dig(payload, kind=dict)
    trading = (
        "enableSpotAndMarginTrading", "enableMargin", "enableFutures",
        "enableVanillaOptions", "enablePortfolioMarginTrading", "enableFixApiTrade",
    )  # fmt: skip
    return {
        "read": bool(flags.get("enableReading", True)),
        "trade": any(bool(flags.get(name)) for name in trading),
        "withdraw": bool(flags.get("enableWithdrawals")),
    }


def okx_permissions(payload: Any) -> dict[str, bool]:
    perm = str(dig(payload, "data", 0, kind=dict).get("perm", ""))
    granted = {p.strip() for p in perm.split(",")}
    return {"read": True, "trade": "trade" in granted, "withdraw": "withdraw" in granted}


def bybit_permissions(payload: Any) -> dict[str, bool]:
    result = dig(payload, "result", kind=dict)
    groups = dig(result, "permissions", kind=dict)
    trading = ("ContractTrade", "Spot", "Options", "Derivatives", "Exchange", "CopyTrading")
    can_trade = any(groups.get(name) for name in (*trading, "BlockTrade"))
    return {
        "read": True,
        "trade": bool(can_trade) and not result.get("readOnly"),
        "withdraw": "Withdraw" in (groups.get("Wallet") or []),
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

# ----------------------------------------------------------------------------- clients


@dataclass
class Session:
    """One ccxt instance for one sync, counting its HTTP requests."""

    exchange_id: str
    client: Any
    requests: int = 0


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
    timeout_ms: int,
) -> Session:
    client = build_client(
        exchange_id, credentials, emulator_url=emulator_url, timeout_ms=timeout_ms
    )
    session = Session(exchange_id, client)
    instrument(session)
    return session


def instrument(session: Session) -> None:
    """Count requests, refuse 2xx bodies that are not JSON, and tell credential errors apart."""
    client = session.client
    fetch, on_rest_response, sign = client.fetch, client.on_rest_response, client.sign

    def counted_fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        session.requests += 1
        return fetch(url, method, headers, body)

    def guarded_response(code: int, reason: str, url: str, method: str, *rest: Any) -> Any:
        body = on_rest_response(code, reason, url, method, *rest)
        if 200 <= int(code) < 300:
            problem = body_problem(session.exchange_id, body)
            if problem:
                raise ccxt.BadResponse(f"{client.id} {method} {url} {code}: {problem}")
        return body

    def checked_sign(*args: Any, **kwargs: Any) -> Any:
        try:
            return sign(*args, **kwargs)
        except ccxt.BaseError:
            raise
        except Exception as exc:  # only a credential ccxt cannot use gets here
            raise CredentialFormatError(f"{exception_name(exc)}: {exc}") from exc

    client.fetch = counted_fetch
    client.on_rest_response = guarded_response
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


def loaded_markets(exchange_id: str, emulator_url: str | None, timeout_ms: int) -> tuple[Any, int]:
    """(an instance holding the markets, requests made now). Keyed by exchange and emulator, so
    tests with different emulators do not share markets; in production the key is the id."""
    key = (exchange_id, emulator_url or "")
    with market_lock(key):
        cached = _markets.get(key)
        if cached and time.monotonic() - cached.loaded_at < MARKETS_TTL_SECONDS:
            return cached.source, 0
        loader = open_session(exchange_id, None, emulator_url, timeout_ms)
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


def attach_markets(session: Session, emulator_url: str | None, timeout_ms: int) -> None:
    source, requests = loaded_markets(session.exchange_id, emulator_url, timeout_ms)
    session.client.set_markets_from_exchange(source)
    session.requests += requests


# ----------------------------------------------------------------------------- fetching


def fetch_pages(session: Session, spec: Call) -> list[Any]:
    payloads, params = [], dict(spec.params)
    for _ in range(MAX_PAGES):
        payload = call(session, spec.method, params)
        payloads.append(payload)
        following = spec.next_page(payload, params)
        if following is None:
            return payloads
        params = following
    raise Malformed(f"{spec.method}: more than {MAX_PAGES} pages")


def fetch_balances(session: Session, wallets: tuple[str, ...]) -> tuple[FetchedBalance, ...]:
    responses: dict[str, list[Any]] = {}  # kraken's spot and earn share one request
    found: list[FetchedBalance] = []
    for wallet in wallets:
        for spec in BALANCE_CALLS[session.exchange_id].get(wallet, ()):
            if spec.key not in responses:
                responses[spec.key] = fetch_pages(session, spec)
            for payload in responses[spec.key]:
                found.extend(spec.parse(session.client, payload))
    return merge(found)


def merge(found: Iterable[FetchedBalance]) -> tuple[FetchedBalance, ...]:
    """One balance per (code, product), amounts summed, zeros dropped."""
    totals: dict[tuple[str, str], Decimal] = {}
    reported: dict[tuple[str, str], list[str]] = {}
    for item in found:
        key = (item.code, item.product)
        totals[key] = totals.get(key, ZERO) + item.amount
        codes = reported.setdefault(key, [])
        if item.reported_code not in codes:
            codes.append(item.reported_code)
    return tuple(
        FetchedBalance("+".join(reported[key]), key[0], key[1], value)
        for key, value in sorted(totals.items())
        if value != 0
    )


def fetch_permissions(session: Session) -> dict[str, bool] | None:
    spec = PERMISSION_CALLS.get(session.exchange_id)
    if spec is None:
        return None
    method, parse = spec
    return parse(call(session, method, {}))


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


def fetch_prices(session: Session, bases: Iterable[str]) -> dict[str, Decimal]:
    symbols = quote_symbols(session.client.markets or {}, bases)
    if not symbols:
        return {}
    tickers = call(session, "fetch_tickers", symbols)
    path = TICKER_LAST[session.exchange_id]
    quotes = {}
    for symbol in symbols:
        price = raw_price(tickers.get(symbol) if isinstance(tickers, dict) else None, path)
        if price is not None:
            quotes[symbol] = price
    return quotes


def raw_price(ticker: Any, path: tuple[str | int, ...]) -> Decimal | None:
    """The exact last price, or None when missing: a missing price is an alert, not a zero."""
    try:
        price = decimal(dig(ticker, "info", *path, kind=str | int), "last")
    except Malformed:
        return None
    return price if price.is_finite() and price > 0 else None


def fetch_account(
    exchange_id: str,
    credentials: dict[str, str],
    wallets: Iterable[str],
    *,
    emulator_url: str | None = None,
    timeout_ms: int = 10_000,
) -> FetchedAccount:
    """Every selected wallet this exchange has, the key's permissions and the quotes."""
    selected = select_wallets(exchange_id, wallets)
    context = FaultContext(exchange_id, credentials, timeout_ms)
    with faults(context):
        session = open_session(exchange_id, credentials, emulator_url, timeout_ms)
        attach_markets(session, emulator_url, timeout_ms)
        permissions = fetch_permissions(session)
        balances = fetch_balances(session, selected)
        quotes = fetch_prices(session, {b.code for b in balances})
    return FetchedAccount(balances, quotes, permissions, session.requests)


def fetch_quotes(
    exchange_id: str,
    bases: Iterable[str],
    *,
    emulator_url: str | None = None,
    timeout_ms: int = 10_000,
) -> dict[str, Decimal]:
    """Public tickers of a reference exchange for the given bases (no credentials)."""
    require_supported(exchange_id)
    with faults(FaultContext(exchange_id, {}, timeout_ms)):
        session = open_session(exchange_id, None, emulator_url, timeout_ms)
        attach_markets(session, emulator_url, timeout_ms)
        return fetch_prices(session, {str(b).upper() for b in bases})


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


def make_fault(context: FaultContext, exc: BaseException) -> ExchangeFault:
    kind, error_class = classify(exc)
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

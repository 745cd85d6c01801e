"""Quotes from an exchange's public tickers, exact from the raw strings.

Quotes the database cannot store exactly (more than 18 places, 10^20 or more) or that are no
price (not finite, not above zero) are left out and listed with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from portfolio.exchanges.adapter import QuoteCall
from portfolio.exchanges.errors import Malformed, MalformedAnswer, QuoteRefused
from portfolio.exchanges.payload import (
    MAX_PLACES,
    PRICE_BOUND,
    decimal,
    decimal_places,
    dig,
    exact,
    shown,
)
from portfolio.exchanges.registry import adapter_for
from portfolio.exchanges.rows import Page
from portfolio.exchanges.session import Session, call

QUOTE_CODES = ("USD", "USDT", "USDC")
STABLE_PAIRS = ("USDT/USD", "USDC/USD", "USDC/USDT")


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
    adapter = adapter_for(session.exchange_id)
    if adapter is None or not session.client.has.get("fetchTickers"):
        return {}, {}
    symbols = quote_symbols(session.client.markets or {}, bases)
    if not symbols:
        return {}, {}
    path: tuple[str | int, ...]
    if adapter.quotes is not None:
        tickers, path = own_tickers(session, adapter.quotes, symbols), ("last",)
    else:
        tickers = call(session, "fetch_tickers", symbols if adapter.ticker_symbols else None)
        # The generic adapter reads ccxt's unified `last`, a string with `number = str`.
        path = ("last",) if adapter.unified else ("info", *adapter.ticker_last)
    if adapter.raw_quotes is not None:
        tickers = as_written(session, adapter.raw_quotes(session.last_body), symbols)
        path = ("last",)
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


def own_tickers(session: Session, spec: QuoteCall, symbols: list[str]) -> dict[str, Any]:
    """{symbol: {"last": raw text}}: one request per distinct request the wanted symbols'
    currencies (bases and quotes) ask for."""
    markets = session.client.markets
    ids = {
        str(markets[s].get(f"{side}Id") or markets[s][side])
        for s in symbols
        for side in ("base", "quote")
    }
    requests = {json.dumps(p, sort_keys=True): p for p in map(spec.params, sorted(ids)) if p}
    found: dict[str, Any] = {}
    for key in sorted(requests):
        data = call(session, spec.method, requests[key])
        for symbol, last in spec.parse(session.client, Page(data, session.last_body)).items():
            found[symbol] = {"last": last}
    return found


def as_written(
    session: Session, by_id: dict[str, Any], symbols: list[str]
) -> dict[str, dict[str, Any]]:
    """{symbol: {"last": the price as the raw body wrote it}} for the symbols it prices."""
    markets = session.client.markets or {}
    ids = {symbol: markets[symbol]["id"] for symbol in symbols if symbol in markets}
    return {symbol: {"last": by_id[i]} for symbol, i in ids.items() if i in by_id}


def raw_price(ticker: Any, path: tuple[str | int, ...]) -> Decimal | None:
    """The exact last price at `path` in the ticker; None when missing (a missing price is an
    alert, not a zero). Raises QuoteRefused for one the database cannot hold exactly or that is
    no price."""
    try:
        raw = dig(ticker, *path, kind=str | int)
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

"""Deribit: one margin account per currency, its cash apart from futures PnL and options value.

Wallets, products and the amount field used (negative = a debt to the exchange):

deribit   spot      GET /api/v2/private/get_account_summaries   spot: `balance` (the cash ledger,
                    realised PnL and option premiums included); margin when it is negative
                    (a cross-collateral borrowing: only with cross_collateral_enabled)
          futures   the same request (made once)   futures: equity - balance - options_value
                    (the open futures' session PnL, either sign)
          options   the same request               options: options_value (long options
                    positive, short negative)

The three rows of a currency add up to its `equity` exactly, the claim on the exchange and what
the location totals; spot is neither inflated nor deflated by open positions. `equity` and
`balance` are required (a summary without them is malformed); a missing `options_value` reads
as no options. Each row's id is the currency and the part ("BTC futures"), so a summary sent
twice is taken once and a repeat with other amounts is malformed.

Amounts: Deribit answers JSON numbers, which ccxt parses into floats. The parsers read the body
again with every number kept as its own text, so no digit is lost.

Not read: sub-accounts (private/get_subaccounts_details lists them; a key of the main account
is needed) and locked amounts (Deribit has no earn or staking). Key permissions: Deribit states
a key's scope only in public/auth's token answer (a login flow ccxt's signed REST requests do
not use) and in private/list_api_keys, which needs the account:read_write scope a read-only key
must not have; so they are not read (None).

Markets: one get_currencies and one get_instruments for every currency (fetchAllMarkets).
Quotes: the spot book summaries (public/get_book_summary_by_currency, kind=spot) of each
currency, base or quote, of the wanted pairs that the endpoint takes (BTC, ETH, EURR, USDC,
USDT: its documented enum), one request each; ccxt's fetch_tickers takes one base per request
and would ask for currencies the endpoint refuses. A pair found in none of them (a base Deribit
groups elsewhere) is priced by the reference exchange.

Error bodies {"jsonrpc": "2.0", "error": {"code": ..., "message": ...}} (every answer carries
"jsonrpc"): 10028 too_many_requests is 'rate_limit'; 10040 retry, 10041 settlement in
progress, 11051 system maintenance, 13028 temporarily unavailable and 13888 timed out are
'maintenance'; 13009 unauthorized whose reason names the timestamp or nonce is 'clock' (other
13009s and 13004 invalid_credentials are authentication errors in ccxt's table).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from portfolio.exchanges.adapter import Adapter, Call, QuoteCall
from portfolio.exchanges.errors import MalformedAnswer
from portfolio.exchanges.payload import EXACT, amount, amount_problem, currency, exact_json, rows
from portfolio.exchanges.rows import FetchedBalance, Page, Parser, Row, distinct_rows

SUMMARIES = "private_get_get_account_summaries"


def summary_rows(client: Any, row: dict[str, Any]) -> Iterator[Row]:
    """Cash (spot, or margin when a cross-collateral debt), futures and options of one currency;
    the three add up to its equity."""
    reported, code = currency(client, row.get("currency"), "currency")
    borrows = row.get("cross_collateral_enabled") is True
    balance = amount(row, code, "balance", signed=borrows)
    equity = amount(row, code, "equity", signed=True)
    options = amount(row, code, optional=("options_value",), signed=True)
    futures = EXACT.subtract(EXACT.subtract(equity, balance), options)
    problem = amount_problem(futures, signed=True)
    if problem:
        raise MalformedAnswer(
            f"equity - balance - options_value of {code} is '{futures}', {problem}"
        )
    cash = "margin" if balance < 0 else "spot"
    yield Row(reported, FetchedBalance(reported, code, cash, balance))
    # Zeros too (merge drops them): a repeat of the summary with other amounts must conflict.
    yield Row(f"{reported} futures", FetchedBalance(reported, code, "futures", futures))
    yield Row(f"{reported} options", FetchedBalance(reported, code, "options", options))


def every_part(client: Any, page: Page) -> Iterator[Row]:
    for summary in rows(exact_json(page.raw), "result", "summaries"):
        yield from summary_rows(client, summary)


def summaries(products: frozenset[str]) -> Parser:
    """The wallet's parts of every summary. A summary repeated with other amounts makes every
    part of it doubtful: it is refused whichever wallet is read."""

    def parse(client: Any, page: Page) -> Iterator[Row]:
        distinct_rows(client, every_part, [page])
        for found in every_part(client, page):
            if found.balance.product in products:
                yield found

    return parse


def spot_quotes(client: Any, page: Page) -> dict[str, Any]:
    """{symbol: last price text} of the spot book summaries (BTC_USDC -> BTC/USDC)."""
    quotes: dict[str, Any] = {}
    for row in rows(exact_json(page.raw), "result"):
        markets = client.markets_by_id.get(row.get("instrument_name")) or ()
        if markets and row.get("last") is not None:
            quotes[markets[0]["symbol"]] = row["last"]
    return quotes


# The currencies public/get_book_summary_by_currency takes (its documented enum).
BOOK_CURRENCIES = frozenset({"BTC", "ETH", "EURR", "USDC", "USDT"})


def book_request(currency_id: str) -> dict[str, str] | None:
    """The spot book summaries of one currency Deribit groups instruments by; None for the
    others (their pairs come with their quote currency's)."""
    return {"currency": currency_id, "kind": "spot"} if currency_id in BOOK_CURRENCIES else None


def error_kind(document: Any) -> str | None:
    error = document.get("error") if isinstance(document, dict) else None
    if not isinstance(error, dict):
        return None
    code = str(error.get("code"))
    if code == "13009":
        reason = json.dumps(error.get("data") or "").lower()
        return "clock" if "timestamp" in reason or "nonce" in reason else None
    return BODY_CODES.get(code)


# Sources: ccxt's deribit exceptions table and Deribit's documented error codes.
BODY_CODES = {
    "10028": "rate_limit",  # too_many_requests
    "10040": "maintenance",  # retry: the request cannot be processed right now
    "10041": "maintenance",  # settlement_in_progress
    "11051": "maintenance",  # system_maintenance
    "13028": "maintenance",  # temporarily_unavailable
    "13888": "maintenance",  # timed_out
}


def summaries_call(*products: str) -> Call:
    return Call(SUMMARIES, {}, summaries(frozenset(products)))


ADAPTER = Adapter(
    id="deribit",
    name="Deribit",
    wallets={
        "spot": (summaries_call("spot", "margin"),),
        "futures": (summaries_call("futures"),),
        "options": (summaries_call("options"),),
    },
    ticker_last=("last",),
    # One get_instruments request for every currency, not one per currency.
    market_options={"fetchMarkets": {"fetchAllMarkets": True}},
    quotes=QuoteCall("public_get_get_book_summary_by_currency", book_request, spot_quotes),
    envelope="jsonrpc",
    body_error_kind=error_kind,
)

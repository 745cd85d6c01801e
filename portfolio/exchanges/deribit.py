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

Sub-accounts, read with the main account's key (the sub-account's numeric `id` is its id; its
username, else its system_name, the name shown):

listing   GET /api/v2/private/get_subaccounts   result[] of type "subaccount": id, username
                                                (the main account, type "main", is left out);
                                                one answer, no paging
spot      GET .../private/get_account_summaries?subaccount_id=   as the main account's (same
futures                                         payload, same parser, one request for the three
options                                         wallets)

A master key reads every wallet of a sub-account. Doubtful: the error Deribit answers for a
subaccount_id that is not one of the main account's is not documented; the emulator answers
13020 not_found (an exchange error in ccxt's table). If Deribit answers 13021 forbidden
instead, ccxt calls it a permission error: a fault all the same, never an empty wallet.

Not read: locked amounts (Deribit has no earn or staking). Key permissions: Deribit states
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

from portfolio.exchanges.adapter import Adapter, Call, QuoteCall, SubAccountRef, SubAccounts
from portfolio.exchanges.errors import Malformed, MalformedAnswer
from portfolio.exchanges.payload import (
    EXACT,
    amount,
    amount_problem,
    currency,
    exact_json,
    rows,
    shown,
)
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


def summaries_call(*products: str, params: dict[str, str] | None = None) -> Call:
    return Call(SUMMARIES, params or {}, summaries(frozenset(products)))


def summaries_wallets(params: dict[str, str] | None = None) -> dict[str, tuple[Call, ...]]:
    """The three wallets, all from one summaries request (the same params: made once)."""
    return {
        "spot": (summaries_call("spot", "margin", params=params),),
        "futures": (summaries_call("futures", params=params),),
        "options": (summaries_call("options", params=params),),
    }


def subaccount_wallets(sub_id: str) -> dict[str, tuple[Call, ...]]:
    return summaries_wallets({"subaccount_id": sub_id})


def subaccount_ref(row: Any) -> SubAccountRef:
    """A listed sub-account: its integer id as text (what subaccount_id takes), its username,
    else its system_name, else the id as its name."""
    sub_id = row.get("id") if isinstance(row, dict) else None
    if not isinstance(sub_id, int) or isinstance(sub_id, bool) or sub_id <= 0:
        raise Malformed(f"a sub-account whose id is {shown(sub_id)}")
    names = (row.get(f) for f in ("username", "system_name"))
    name = next((n.strip() for n in names if isinstance(n, str) and n.strip()), str(sub_id))
    return SubAccountRef(str(sub_id), name)


def subaccount_refs(payload: Any) -> list[SubAccountRef]:
    """The sub-accounts of the listing; the main account it lists too is not one of them."""
    listed = rows(payload, "result")
    for row in listed:
        if row.get("type") not in ("main", "subaccount"):
            raise Malformed(f"an account of type {shown(row.get('type'))} in the listing")
    return [subaccount_ref(row) for row in listed if row.get("type") == "subaccount"]


ADAPTER = Adapter(
    id="deribit",
    name="Deribit",
    wallets=summaries_wallets(),
    ticker_last=("last",),
    # One get_instruments request for every currency, not one per currency.
    market_options={"fetchMarkets": {"fetchAllMarkets": True}},
    quotes=QuoteCall("public_get_get_book_summary_by_currency", book_request, spot_quotes),
    envelope="jsonrpc",
    body_error_kind=error_kind,
    subaccounts=SubAccounts(
        listing="private_get_get_subaccounts",
        params={},
        parse=subaccount_refs,
        wallets=subaccount_wallets,
    ),
)

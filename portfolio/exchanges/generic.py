"""The generic adapter: every exchange in ccxt without a dedicated module, read through ccxt's
unified `fetch_balance`.

What it reads, and what it does not:

generic   spot      fetch_balance()   spot   `total` per currency (free + used)

Spot and the listed account types only; earn and staking are not read (ccxt has no unified call
for them), nor margin or derivatives. The account types an exchange lists in
`options['accountsByType']` (kucoin's main, margin, contract…) are not offered yet: many
exchanges answer an unknown or unfunded type with their spot wallet, so reading it beside spot
would count the same coins twice. To offer one, add its wallet to ACCOUNT_TYPES below (wallet ->
the ccxt `type` param) only together with a test that replays a recorded answer for that type
and shows it returns its own wallet rather than spot's.

Amounts are exact: the client is built with `exchange.number = str`, so ccxt hands back decimal
strings (a float is refused, never rounded), and every value passes the package's boundary
checks (finite, below 10^18, at most 18 decimals, not negative in spot, a printable code). The
raw body is guarded as every adapter's is (JSON on every 2xx answer), and ccxt's
`enableLastJsonResponse` is on so that the document the balance was parsed from is checked too.
An empty document, or a key repeated with two values in any 2xx body, or two rows of one list
with the same `id` and different contents (ccxt keeps the last: kucoin's accounts), is a
retryable malformed answer (bad_response), never "holdings went to zero" nor a permanent
exchange error.

Key permissions are not reported (ccxt has no unified call). Error bodies are classified by
ccxt's own tables for the exchange (no body codes of ours).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from typing import Any

import ccxt

from portfolio.exchanges.adapter import Adapter, Call
from portfolio.exchanges.errors import Malformed
from portfolio.exchanges.payload import checked, currency, dig, shown
from portfolio.exchanges.rows import FetchedBalance, Page, Parser, Row

# Wallet (also its product) -> ccxt's `type` param for fetch_balance. Empty until a test proves
# a type returns its own wallet (see the module docstring).
ACCOUNT_TYPES: dict[str, dict[str, str]] = {}

NOT_READ = "spot and the listed account types; earn and staking not read"


@cache
def describe(exchange_id: str) -> Any:
    """One credential-less instance per exchange, made on first use (about 3 ms each), for its
    name, capabilities and required credentials."""
    return getattr(ccxt, exchange_id)({})


def reads_balances(exchange_id: str) -> bool:
    return exchange_id in ccxt.exchanges and bool(describe(exchange_id).has.get("fetchBalance"))


def last_document(client: Any) -> Any:
    """The JSON document the balance was parsed from: present and not empty."""
    document = getattr(client, "last_json_response", None)
    if not isinstance(document, dict | list) or not document:
        raise Malformed(f"no balance document in the answer: {shown(document)}")
    return document


class RepeatedKey(ValueError):
    pass


def repeated_key(body: str) -> str | None:
    """A key repeated with two values in a JSON body, or a row repeated with two contents
    (which one ccxt read is left to chance), or None. Checked on every 2xx body of a generic
    client, before ccxt reads it."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in items:
            if key in seen and seen[key] != value:
                raise RepeatedKey(key)
            seen[key] = value
        return seen

    try:
        document = json.loads(body, object_pairs_hook=pairs)
    except RepeatedKey as exc:
        return f"{exc} appears twice with different values"
    except ValueError:
        return None  # not JSON: the caller's own check says so
    return repeated_row(document)


def repeated_row(document: Any) -> str | None:
    """Two rows of one list with the same `id` and different contents: ccxt's unified balance
    keeps whichever comes last (kucoin's accounts, for one). The same row twice is taken once."""
    for rows in row_lists(document):
        seen: dict[Any, Any] = {}
        for row in rows:
            key = row.get("id")
            if not isinstance(key, str | int) or isinstance(key, bool):
                continue
            if key in seen and seen[key] != row:
                return f"row id {shown(key)} appears twice with different values"
            seen[key] = row
    return None


def row_lists(document: Any) -> Iterator[list[dict[str, Any]]]:
    """Every list in the document, with its objects only, at any depth."""
    if isinstance(document, dict):
        for value in document.values():
            yield from row_lists(value)
    elif isinstance(document, list):
        yield [item for item in document if isinstance(item, dict)]
        for item in document:
            yield from row_lists(item)


def empty_document(document: Any) -> bool:
    """An answer with nothing in it: ccxt may call it a permanent exchange error (no code)
    where it is a malformed answer that a retry may cure."""
    return isinstance(document, dict | list) and not document


def unified(product: str) -> Parser:
    """ccxt's `total` per currency as the holding of `product`, checked like every raw
    amount (never negative: no product read here reports debts)."""

    def parse(client: Any, page: Page) -> Iterator[Row]:
        last_document(client)
        for raw_code, raw_total in dig(page.data, "total", kind=dict).items():
            reported, code = currency(client, raw_code, "currency")
            value = checked(raw_total, "total", code, signed=False)
            yield Row(reported, FetchedBalance(reported, code, product, value))

    return parse


def client_settings(client: Any) -> None:
    """Exact strings, never floats, and the raw document kept for the guards."""
    client.number = str
    client.enableLastJsonResponse = True


@cache
def adapter(exchange_id: str) -> Adapter:
    wallets: dict[str, tuple[Call, ...]] = {"spot": (Call("fetch_balance", {}, unified("spot")),)}
    for wallet, params in ACCOUNT_TYPES.items():
        wallets[wallet] = (Call("fetch_balance", params, unified(wallet)),)
    return Adapter(
        id=exchange_id,
        name=str(describe(exchange_id).name or exchange_id),
        wallets=wallets,
        ticker_last=(),
        unified=True,
    )

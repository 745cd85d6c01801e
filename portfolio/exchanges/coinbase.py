"""Coinbase: the accounts list, paged.

Wallets, products and the amount field used:

coinbase  spot      GET /v2/accounts (paged)               spot      balance.amount

A row repeated with the same account id is taken once, across pages; a page cursor
(pagination.next_starting_after) served twice ends paging.

Coinbase does not report a key's permissions (None).

Error bodies {"errors": [{"id": ..., "message": ...}]}, in a 200 as well, are classed by the id;
a "request timestamp expired" message is 'clock' (its id is a plain authentication_error).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from portfolio.exchanges.adapter import Adapter, Call
from portfolio.exchanges.payload import dig, rows, text
from portfolio.exchanges.rows import AmountFields, Page, Row, row_of


def accounts(client: Any, page: Page) -> Iterator[Row]:
    for row in rows(page.data, "data"):
        balance = dig(row, "balance", kind=dict)
        found = row_of(client, balance, "currency", "spot", AmountFields(("amount",)))
        yield Row(text(row, "id"), found.balance)


def next_page(payload: Any, params: dict[str, Any]) -> dict[str, Any] | None:
    pagination = payload.get("pagination") if isinstance(payload, dict) else None
    after = pagination.get("next_starting_after") if isinstance(pagination, dict) else None
    return params | {"starting_after": after} if after else None


ERRORS = {
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


def body_error_kind(document: Any) -> str | None:
    """{"errors": [{"id": ..., "message": ...}]}, in a 200 as well: classed by the id; an
    expired request timestamp by its message (its id is a plain authentication_error)."""
    errors = document.get("errors") if isinstance(document, dict) else None
    if not isinstance(errors, list) or not errors:
        return None
    first = errors[0] if isinstance(errors[0], dict) else {}
    if "timestamp" in str(first.get("message", "")).lower():
        return "clock"
    return ERRORS.get(str(first.get("id", "")), "exchange_error")


ADAPTER = Adapter(
    id="coinbase",
    name="Coinbase",
    wallets={
        "spot": (Call("v2_private_get_accounts", {"limit": 250}, accounts, next_page),),
    },
    ticker_last=("price",),
    body_error_kind=body_error_kind,
)

"""Bitstamp: the account balances and Earn (staking and lending).

Wallets, products and the amount field used:

bitstamp  spot      POST /api/v2/account_balances/          spot      total (available +
                                                                      reserved; ccxt's total)
          earn      GET /api/v2/earn/subscriptions/         staking   amount, for type STAKING
                                                            earn      amount, for type LENDING

Bitstamp's OpenAPI specification gives these amounts as JSON numbers (the balances come as
strings in practice, as ccxt's notes show): both answers are read again from the body as sent,
numbers kept as their own digits, never as floats. Currencies come lower-case ('usdt') and are
upper-cased. A balance row is one currency; a subscription one currency, type and term, each
taken once. Nothing here can be negative: Bitstamp lends no money to spot (its margin and
perpetuals are not read: ccxt reaches no balance of them).

Not read: the Earn subscriptions carry no end date (activation_period is when rewards start; a
FIXED term says no date), so no locks; amount_earned is paid out already. Sub-accounts have their
own keys (the API only moves money between main and sub accounts). Bitstamp does not report what a
key may do: an endpoint the key may not call answers API0003 "No permission found".

Errors {"status": "error", "reason": ..., "code": "API00xx"} (some with response_code
"400.002"-style): API0004 (nonce reused) and API0017/API0018 (timestamp) are 'clock', 400.002
'rate_limit', 500.001/500.002 'maintenance'. API0001 (key not found) and API0005 (invalid
signature) are AuthenticationErrors in ccxt.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from portfolio.exchanges.adapter import Adapter, Call
from portfolio.exchanges.errors import Malformed
from portfolio.exchanges.payload import amount, currency, dig, rows, text
from portfolio.exchanges.rows import FetchedBalance, Page, Row

EARN_TYPES = {"STAKING": "staking", "LENDING": "earn"}


def exact_rows(page: Page) -> list[dict[str, Any]]:
    """The list of rows as sent: a JSON number keeps its digits (as a string), never a float."""
    dig(page.data, kind=list)  # the structure, as ccxt read it
    try:
        document = json.loads(page.raw, parse_float=str)
    except ValueError:
        raise Malformed("the body is not JSON") from None
    return rows(document)


def account_balances(client: Any, page: Page) -> Iterator[Row]:
    for row in exact_rows(page):
        reported, code = currency(client, row.get("currency"), "currency")
        value = amount(row, code, "total")
        yield Row(reported, FetchedBalance(reported, code, "spot", value))


def earn_subscriptions(client: Any, page: Page) -> Iterator[Row]:
    for row in exact_rows(page):
        reported, code = currency(client, row.get("currency"), "currency")
        kind = text(row, "type")
        if kind not in EARN_TYPES:
            raise Malformed(f"earn subscription of {code} has type {kind!r}, not STAKING/LENDING")
        value = amount(row, code, "amount")
        row_id = f"{reported} {kind} {row.get('term') or ''}".strip()
        yield Row(row_id, FetchedBalance(reported, code, EARN_TYPES[kind], value))


# Sources: Bitstamp's authentication error codes and response codes.
CODES = {
    "API0004": "clock",  # invalid nonce (used in the last 150 seconds)
    "API0017": "clock",  # X-Auth-Timestamp out of boundaries
    "API0018": "clock",  # X-Auth-Timestamp invalid
}
RESPONSE_CODES = {
    "400.002": "rate_limit",  # request rejected due to exceeded rate limit
    "500.001": "maintenance",  # unknown server error
    "500.002": "maintenance",  # an internal service failed to process the request
}


def body_error_kind(document: Any) -> str | None:
    if not isinstance(document, dict):
        return None
    return CODES.get(str(document.get("code"))) or RESPONSE_CODES.get(
        str(document.get("response_code"))
    )


ADAPTER = Adapter(
    id="bitstamp",
    name="Bitstamp",
    wallets={
        "spot": (Call("private_post_account_balances", {}, account_balances),),
        "earn": (Call("private_get_earn_subscriptions", {}, earn_subscriptions),),
    },
    ticker_last=("last",),
    body_error_kind=body_error_kind,
)

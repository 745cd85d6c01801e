"""Kraken: spot and earn, both from one BalanceEx request.

Wallets, products and the amount field used:

kraken    spot+earn POST /0/private/BalanceEx (one call)   `balance` (it includes hold_trade).
          Codes are normalised: XXBT->BTC, ZUSD->USD (ccxt's currency table); suffixes give the
          product: .S .B .P and bare ETH2 -> staking (ETH2 -> ETH), .F .M -> earn, .HOLD -> spot,
          others -> earn. KFEE (fee credits, not money) is dropped. Codes that normalise to the
          same (ETH2.S and ETH2) are summed; reported_code joins them with '+'.

The rows are the keys of one object: a key repeated in the raw body (repeated JSON keys vanish in
a dict) is taken once, and with another amount it is malformed.

Kraken does not report a key's permissions (None). Not fetched: kraken futures (a separate
exchange in ccxt).

Error bodies {"error": [...]}: "EAPI:Invalid nonce" is 'clock', EService and internal errors
'maintenance', rate limits 'rate_limit'. A wrong secret is answered "EAPI:Invalid signature",
which ccxt raises as a plain ExchangeError: it is mapped to 'authentication'.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from portfolio.exchanges.adapter import Adapter, Call
from portfolio.exchanges.errors import Malformed
from portfolio.exchanges.payload import amount, currency, dig
from portfolio.exchanges.rows import FetchedBalance, Page, Parser, Row

SUFFIXES = {
    "S": "staking",
    "B": "staking",
    "P": "staking",
    "M": "earn",
    "F": "earn",
    "HOLD": "spot",
}
DROPPED = frozenset({"KFEE", "FEE"})  # fee credits: not money


def entry(client: Any, raw: str, row: dict[str, Any]) -> Row | None:
    reported, _ = currency(client, raw, "asset")
    base, _, suffix = reported.partition(".")
    product = SUFFIXES.get(suffix.upper(), "earn") if suffix else "spot"
    if base.upper() == "ETH2":  # ETH staked on the beacon chain, with or without '.S'
        base, product = "ETH", "staking"
    _, code = currency(client, base, "asset")
    if base.upper() in DROPPED or code in DROPPED:
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


def balances(products: frozenset[str]) -> Parser:
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
            found = entry(client, str(reported), row)
            if found is not None and found.balance.product in products:
                yield found

    return parse


ERRORS = {
    "EAPI:Invalid nonce": "clock",
    "EService:Unavailable": "maintenance",
    "EService:Busy": "maintenance",
    "EService:Internal error": "maintenance",
    "EService:Deadline elapsed": "maintenance",
    "EGeneral:Internal error": "maintenance",
    "EAPI:Rate limit exceeded": "rate_limit",
    "EGeneral:Too many requests": "rate_limit",
}


def body_error_kind(document: Any) -> str | None:
    errors = document.get("error") if isinstance(document, dict) else None
    texts = [str(e) for e in errors] if isinstance(errors, list) else []
    return next((ERRORS[t] for t in texts if t in ERRORS), None)


BALANCE = "private_post_balanceex"

ADAPTER = Adapter(
    id="kraken",
    name="Kraken",
    wallets={
        "spot": (Call(BALANCE, {}, balances(frozenset({"spot"}))),),
        "earn": (Call(BALANCE, {}, balances(frozenset({"earn", "staking"}))),),
    },
    ticker_last=("c", 0),
    body_error_kind=body_error_kind,
    # ccxt raises these as plain ExchangeError, but they mean the credentials are wrong.
    auth_messages=("EAPI:Invalid signature", "EAPI:Invalid key"),
)

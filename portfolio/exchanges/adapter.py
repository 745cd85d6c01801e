"""The one small interface every exchange module fills in: an `Adapter`, found by the registry.

An adapter is data plus a few parsers; the shared machinery (sessions, markets, the deadline,
guards and faults) does the requests. It never imports ccxt: its calls name ccxt's implicit API
methods, which return the raw payload without parsing amounts into floats.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from portfolio.exchanges.rows import Pager, Parser


def single_page(payload: Any, params: dict[str, Any]) -> dict[str, Any] | None:
    return None


class Listing(NamedTuple):
    """An answer a call's parameters come from: the call is made once per parameter set `each`
    reads from it (htx: one balance request per account id /v1/account/accounts lists)."""

    method: str  # ccxt's implicit API method
    params: dict[str, Any]
    each: Callable[[Any], list[dict[str, Any]]]  # ccxt's parsed answer -> params per request

    @property
    def key(self) -> str:
        return self.method + json.dumps(self.params, sort_keys=True)


@dataclass(frozen=True, slots=True)
class Call:
    method: str  # ccxt's implicit API method: the raw payload, no float parsing
    params: dict[str, Any]
    parse: Parser
    next_page: Pager = single_page
    listing: Listing | None = None  # None: `params` alone, one request (and its pages)

    @property
    def key(self) -> str:
        return self.method + json.dumps(self.params, sort_keys=True)


class PermissionCall(NamedTuple):
    method: str  # ccxt's implicit API method answering what the key may do
    parse: Callable[[Any], dict[str, bool]]  # {"read", "trade", "withdraw"}
    # The call's parameters from the client, where the exchange asks which key (mexc's
    # apiKeyInfo takes the key itself as `accessKey`); None: no parameters.
    params: Callable[[Any], dict[str, Any]] | None = None


ErrorReader = Callable[[Any], str | None]  # the fault kind an error body names, or None


def no_body_errors(document: Any) -> str | None:
    return None


def coded_errors(key: str, codes: Mapping[str, str]) -> ErrorReader:
    """An error body that carries its code under `key` ({"code": -1021, ...}): the kind its
    code names in `codes`, or None (no error, or one ccxt classes well)."""

    def kind(document: Any) -> str | None:
        code = document.get(key) if isinstance(document, dict) else None
        return codes.get(str(code)) if code is not None else None

    return kind


@dataclass(frozen=True, slots=True)
class Adapter:
    """Everything about one exchange that the shared machinery needs."""

    id: str  # ccxt's exchange id
    name: str  # as a fund manager reads it
    # The balance calls per wallet (wallets it does not read are absent); one wallet may need
    # several calls, and calls that are equal (same method and params) are made once per sync.
    wallets: dict[str, tuple[Call, ...]]
    # Where the last price sits in the exchange's raw ticker (ticker["info"][...]).
    ticker_last: tuple[str | int, ...]
    # The client's ccxt options: the fewest market requests (spot only, no currencies).
    market_options: dict[str, Any] = field(default_factory=dict)
    permissions: PermissionCall | None = None  # None: the exchange does not report them
    # A key every JSON object answer carries; without it ccxt may raise a non-retryable error
    # for what is a malformed answer. "" when the exchange has none.
    envelope: str = ""
    # What an error body says, read before ccxt's own tables and whatever the HTTP status.
    body_error_kind: ErrorReader = no_body_errors
    # Messages ccxt raises as a plain ExchangeError that mean the credentials are wrong.
    auth_messages: tuple[str, ...] = ()
    # Read through ccxt's unified calls (generic.py): amounts as strings, the unified ticker's
    # `last`, and the last JSON document kept for the guards.
    unified: bool = False
    # Where the tickers' prices are JSON numbers (htx), ccxt's floats have lost digits: the last
    # price per market id, read from the tickers' raw body as written. None: `ticker_last`.
    raw_quotes: Callable[[str], dict[str, Any]] | None = None

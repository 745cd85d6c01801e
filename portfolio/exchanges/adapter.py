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

from portfolio.exchanges.errors import CredentialFormatError, Malformed
from portfolio.exchanges.rows import Page, Pager, Parser


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
    # The parameter that names the account by its wallet address (the client's
    # walletAddress), for a venue read by address alone; "" for a signed call.
    address: str = ""
    # Whether an error answer (its JSON document) says the account never opened this wallet
    # (gate's futures account before a first transfer): then the wallet holds nothing. None:
    # every error is an error.
    unopened: Callable[[Any], bool] | None = None
    listing: Listing | None = None  # None: `params` alone, one request (and its pages)

    @property
    def key(self) -> str:
        return self.method + json.dumps(self.params, sort_keys=True)

    def params_for(self, client: Any) -> dict[str, Any]:
        """The parameters of this call for this client's account."""
        params = dict(self.params)
        if self.address:
            if not client.walletAddress:  # the venue would answer an empty state, or refuse
                raise CredentialFormatError("MissingAddress: no wallet address to read")
            params[self.address] = client.walletAddress
        return params


class PermissionCall(NamedTuple):
    method: str  # ccxt's implicit API method answering what the key may do
    parse: Callable[[Any], dict[str, bool]]  # {"read", "trade", "withdraw"}
    # The call's parameters from the client, where the exchange asks which key (mexc's
    # apiKeyInfo takes the key itself as `accessKey`); None: no parameters.
    params: Callable[[Any], dict[str, Any]] | None = None


class QuoteCall(NamedTuple):
    """The exchange's own tickers, where ccxt's unified fetch_tickers cannot serve them (one
    currency per request) or its raw ticker holds JSON numbers: one request per currency of
    the wanted symbols (base or quote) that the exchange answers for, each request once."""

    method: str  # ccxt's implicit API method answering the tickers of one currency
    # The request for one currency id; None for a currency the exchange takes no request for.
    params: Callable[[str], dict[str, Any] | None]
    # (client, page) -> {unified symbol: the last price as its exact raw text}
    parse: Callable[[Any, Page], dict[str, Any]]


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
class SubAccountRef:
    """A sub-account a master key can read: `id` is what the exchange's sub-account calls take
    (binance: its e-mail, okx: its name, bybit: its uid); `name` is how the fund reads it."""

    id: str
    name: str


def listed_subaccount(row: Any, id_field: str, name_fields: tuple[str, ...]) -> SubAccountRef:
    """A listing row as a SubAccountRef: its id (a non-empty string, else the answer is
    malformed) and the first non-empty of `name_fields` as its name, else the id."""
    sub_id = row.get(id_field) if isinstance(row, dict) else None
    if not isinstance(sub_id, str) or not sub_id.strip():
        raise Malformed(f"a sub-account without {id_field}: {str(row)[:80]}")
    names = (row.get(f) for f in name_fields)
    name = next((n.strip() for n in names if isinstance(n, str) and n.strip()), sub_id)
    return SubAccountRef(sub_id, name)  # the id as sent: the exchange's calls take it so


@dataclass(frozen=True, slots=True)
class SubAccounts:
    """How a master key with read access lists its sub-accounts and reads their wallets."""

    listing: str  # ccxt's implicit API method listing the sub-accounts
    params: dict[str, Any]
    parse: Callable[[Any], list[SubAccountRef]]  # one page of the listing
    # The balance calls per wallet for one sub-account id (wallets it cannot read are absent).
    wallets: Callable[[str], dict[str, tuple[Call, ...]]]
    next_page: Pager = single_page
    # What a master key cannot read of a sub-account, in words ("" when it reads every wallet).
    not_read: str = ""


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
    # False where ccxt's fetch_tickers refuses a list of symbols (cryptocom takes one at most):
    # every ticker is asked for in one request and the wanted ones picked.
    ticker_symbols: bool = True
    # The client's ccxt options: the fewest market requests (spot only, no currencies).
    market_options: dict[str, Any] = field(default_factory=dict)
    permissions: PermissionCall | None = None  # None: the exchange does not report them
    # The own tickers read per base; None: ccxt's fetch_tickers and `ticker_last`.
    quotes: QuoteCall | None = None
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
    # Listing and reading sub-accounts with the master key; None where not supported.
    subaccounts: SubAccounts | None = None
    # The credentials the account form asks for, by ccxt's names; None: ccxt's
    # requiredCredentials (a venue read by address alone asks for no signing key).
    credentials: tuple[str, ...] | None = None
    # The exchange sends amounts as JSON numbers (bitfinex v2): the client parses every
    # non-integer number as its decimal text, never a float (session.exact_numbers).
    numbers_as_text: bool = False
    # Where the tickers' prices are JSON numbers (htx), ccxt's floats have lost digits: the last
    # price per market id, read from the tickers' raw body as written. None: `ticker_last`.
    raw_quotes: Callable[[str], dict[str, Any]] | None = None

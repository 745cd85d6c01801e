"""The entry points: fetch_account (a whole sync's reading) and fetch_quotes (public tickers).

Each runs within one deadline, through one fresh session, and lets nothing but an ExchangeFault
escape.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import ccxt

from portfolio.exchanges.adapter import Call, SubAccountRef, SubAccounts
from portfolio.exchanges.deadline import Deadline
from portfolio.exchanges.errors import (
    ExchangeFault,
    Malformed,
    MalformedAnswer,
    PermissionsUnreadable,
)
from portfolio.exchanges.faults import FaultContext, faults, scrub
from portfolio.exchanges.markets import attach_markets
from portfolio.exchanges.quotes import fetch_prices
from portfolio.exchanges.registry import (
    DISPLAY_NAMES,
    PERMISSION_CALLS,
    adapter_for,
    display_name,
    supported_wallets,
)
from portfolio.exchanges.rows import WALLETS, FetchedBalance, Page, Row, distinct_rows, merge
from portfolio.exchanges.session import Session, call, open_session

MAX_PAGES = 50  # a paging bug must not loop forever
MAX_SUBACCOUNT_ID = 120  # ExchangeAccount.subaccount


@dataclass(frozen=True, slots=True)
class FetchedAccount:
    balances: tuple[FetchedBalance, ...]
    quotes: dict[str, Decimal]
    # None when the exchange does not report them, or when its answer could not be read
    # (then permissions_problem says why).
    key_permissions: dict[str, bool] | None
    request_count: int  # this sync's HTTP requests, with market loading if this call did it
    permissions_problem: str = ""
    # Quotes the database could not store exactly, or that cannot be a price: symbol -> reason.
    refused_quotes: dict[str, str] = field(default_factory=dict)
    # The master key's sub-accounts as the exchange listed them; None when not asked.
    subaccounts: tuple[SubAccountRef, ...] | None = None


def fetch_pages(session: Session, spec: Call) -> list[Page]:
    """Every page of one call. A cursor the exchange hands out twice would loop: what it
    served is already read, so paging stops there."""
    pages: list[Page] = []
    params = spec.params_for(session.client)
    asked = {json.dumps(params, sort_keys=True)}
    for _ in range(MAX_PAGES):
        try:
            data = call(session, spec.method, params)
        except ccxt.ExchangeError:
            if spec.unopened is not None and spec.unopened(error_document(session)):
                return pages  # a wallet never opened: nothing in it, not a broken key
            raise
        pages.append(Page(data, session.last_body))
        following = spec.next_page(data, params)
        if following is None or json.dumps(following, sort_keys=True) in asked:
            return pages
        asked.add(json.dumps(following, sort_keys=True))
        params = following
    raise Malformed(f"{spec.method}: more than {MAX_PAGES} pages")


def error_document(session: Session) -> object:
    """The last answer's JSON document, or None."""
    try:
        return json.loads(session.last_body)
    except ValueError:
        return None


def fetch_balances(
    session: Session, wallets: tuple[str, ...], calls: dict[str, tuple[Call, ...]] | None = None
) -> tuple[FetchedBalance, ...]:
    """Every call of every wallet (the adapter's own, or `calls`: a sub-account's)."""
    if calls is None:
        adapter = adapter_for(session.exchange_id)
        calls = adapter.wallets if adapter is not None else {}
    responses: dict[str, list[Page]] = {}  # kraken's spot and earn share one request
    found: list[FetchedBalance] = []
    for wallet in wallets:
        for spec in calls.get(wallet, ()):
            try:
                pages = [
                    page
                    for call in expanded(session, spec, responses)
                    for page in answered(session, call, responses)
                ]
                found.extend(distinct_rows(session.client, spec.parse, pages))
            except MalformedAnswer as exc:
                exc.wallet = wallet
                raise
    return merge(found)


def answered(session: Session, spec: Call, responses: dict[str, list[Page]]) -> list[Page]:
    """Every page of the call, each request made once per sync."""
    if spec.key not in responses:
        responses[spec.key] = fetch_pages(session, spec)
    return responses[spec.key]


def expanded(session: Session, spec: Call, responses: dict[str, list[Page]]) -> list[Call]:
    """The call itself, or one call per parameter set its listing yields (the listing asked
    once per sync, whichever wallets need it)."""
    listing = spec.listing
    if listing is None:
        return [spec]
    if listing.key not in responses:
        data = call(session, listing.method, dict(listing.params))
        responses[listing.key] = [Page(data, session.last_body)]
    each = listing.each(responses[listing.key][0].data)
    return [replace(spec, params=spec.params | params, listing=None) for params in each]


def fetch_subaccount_refs(session: Session) -> tuple[SubAccountRef, ...]:
    """Every sub-account the master key lists, each once, over every page."""
    spec = subaccounts_of(session.exchange_id)
    listing = Call(spec.listing, spec.params, no_rows, spec.next_page)
    found: dict[str, SubAccountRef] = {}
    for page in fetch_pages(session, listing):
        for ref in spec.parse(page.data):
            if not ref.id or len(ref.id) > MAX_SUBACCOUNT_ID:
                raise Malformed(f"a sub-account id is {ref.id[:40]!r}")
            found.setdefault(ref.id, ref)
    return tuple(found.values())


def no_rows(client: Any, page: Page) -> list[Row]:
    return []


def subaccounts_of(exchange_id: str) -> SubAccounts:
    adapter = adapter_for(exchange_id)
    if adapter is None or adapter.subaccounts is None:
        name = display_name(exchange_id)
        raise ExchangeFault(
            kind="exchange_error",
            error_class="NotSupported",
            message=f"Counterweight cannot read {name} sub-accounts with a master key.",
        )
    return adapter.subaccounts


def fetch_permissions(session: Session) -> tuple[dict[str, bool] | None, str]:
    """(flags, problem). An answer that cannot be read leaves the flags unknown (None) and says
    why, rather than reading as "cannot trade, cannot withdraw"; the sync goes on."""
    spec = PERMISSION_CALLS.get(session.exchange_id)
    if spec is None:
        return None, ""
    try:
        # Inside: an answer the parameters are read from (htx's uid) may be unreadable too.
        params = spec.params(session.client) if spec.params is not None else {}
        return spec.parse(call(session, spec.method, params)), ""
    except (PermissionsUnreadable, Malformed, ccxt.BadResponse) as exc:
        name = display_name(session.exchange_id)
        detail = scrub(str(exc), {})
        return None, (
            f"{name}'s answer about the key's permissions could not be read ({detail}): "
            "whether the key can trade or withdraw is unknown until it can."
        )


def fetch_account(
    exchange_id: str,
    credentials: dict[str, str],
    wallets: Iterable[str],
    *,
    emulator_url: str | None = None,
    timeout_ms: int = 10_000,
    subaccount: str = "",
    list_subaccounts: bool = False,
) -> FetchedAccount:
    """Every selected wallet this exchange has, the key's permissions and the quotes, all
    within one deadline of timeout_ms (market loading included when this call does it).

    With `subaccount` (an id the master key lists), that sub-account's wallets instead, read
    with the master key (whose permissions its own sync reports). With `list_subaccounts`, the
    master key's sub-accounts too."""
    selected = select_wallets(exchange_id, wallets)
    calls = subaccounts_of(exchange_id).wallets(subaccount) if subaccount else None
    context = FaultContext(exchange_id, credentials, timeout_ms)
    with faults(context), Deadline(timeout_ms / 1000) as deadline:
        session = open_session(exchange_id, credentials, emulator_url, deadline)
        attach_markets(session, emulator_url)
        permissions, problem = (None, "") if subaccount else fetch_permissions(session)
        balances = fetch_balances(session, selected, calls)
        refs = fetch_subaccount_refs(session) if list_subaccounts else None
        quotes, refused = fetch_prices(session, {b.code for b in balances})
    return FetchedAccount(balances, quotes, permissions, session.requests, problem, refused, refs)


def fetch_quotes(
    exchange_id: str,
    bases: Iterable[str],
    *,
    emulator_url: str | None = None,
    timeout_ms: int = 10_000,
) -> dict[str, Decimal]:
    """Public tickers of a reference exchange for the given bases (no credentials); quotes it
    refuses are left out."""
    require_supported(exchange_id)
    with faults(FaultContext(exchange_id, {}, timeout_ms)), Deadline(timeout_ms / 1000) as d:
        session = open_session(exchange_id, None, emulator_url, d)
        attach_markets(session, emulator_url)
        return fetch_prices(session, {str(b).upper() for b in bases})[0]


def select_wallets(exchange_id: str, wallets: Iterable[str]) -> tuple[str, ...]:
    require_supported(exchange_id)
    chosen = set(wallets)
    unknown = chosen - set(WALLETS)
    if unknown:
        raise ValueError(f"unknown wallets {sorted(unknown)}; expected some of {WALLETS}")
    return tuple(w for w in supported_wallets(exchange_id) if w in chosen)


def require_supported(exchange_id: str) -> None:
    if adapter_for(exchange_id) is not None:
        return
    name = display_name(exchange_id)
    supported = ", ".join(DISPLAY_NAMES.values())
    raise ExchangeFault(
        kind="exchange_error",
        error_class="NotSupported",
        message=f"Counterweight cannot sync {name} yet (supported: {supported}, and every "
        "other exchange ccxt reads balances of). "
        "Record this location's balances by hand until then.",
    )

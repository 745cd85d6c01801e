"""Exchange clients for syncs: the only package that imports ccxt.

Every other exchange in ccxt whose `has['fetchBalance']` is true is read by the generic adapter
(generic.py: ccxt's unified fetch_balance with exact strings, spot only until a test shows an
account type returns its own wallet; earn and staking not read).

One module per exchange (binance, kraken, okx, coinbase, bybit, bitfinex, gemini) holds
everything about it in one `Adapter` (adapter.py): client options, display name, wallet calls and
their parsers, the permission call, where the ticker's last price sits, the error envelope and
the body error codes; each module's docstring lists the wallets, products and amount fields it
reads. registry.py finds them by exchange id. The rest is shared:

- session.py: one sync = one fresh ccxt instance (instances are not thread-safe, and a reused
  binance instance reports a revoked key as a retryable DDoSProtection), instrumented to count
  requests, hold the deadline and guard every answer;
- markets.py: markets loaded once per exchange per process by a credential-less loader and handed
  to each new instance, refreshed after MARKETS_TTL_SECONDS (a failed refresh keeps the stale
  markets); `market_requests` counts the market-loading requests and `clear_markets_cache()`
  resets both;
- deadline.py: one deadline per sync. timeout_ms bounds all of a sync's requests together (market
  loading too when the call does it). requests' timeout is per socket read, so a watchdog shuts
  down the sync's connections at the deadline, and each request waits no longer than what is left;
- payload.py and rows.py: reading payloads. Amounts are read from the raw response strings into
  Decimal (ccxt's unified totals are floats). Every 2xx body must parse as JSON, and every balance
  payload must have the structure that confirms it (for example binance `balances`, kraken
  `result`): otherwise a retryable `bad_response` fault (error class BadResponse), so a fault never
  reads as "holdings went to zero". An empty but well-formed answer is an empty account here; the
  sync service confirms large drops;
- faults.py and errors.py: every failure leaves as an ExchangeFault, classified by the body before
  the status;
- quotes.py: quotes from the public tickers;
- fetch.py: the entry points, fetch_account and fetch_quotes;
- emulator.py: with EXCHANGE_EMULATOR_URL set (development and tests only), every URL of a client
  is rewritten to the offline emulator, and one left pointing elsewhere is refused.

Every value is checked at this boundary; a refusal is a retryable `bad_response` fault with error
class MalformedAnswer naming the wallet, the field and the value:
- amounts finite, below 10^18 units, with at most 18 decimal places that carry a digit (the
  column is numeric(38,18): what it cannot store exactly is refused, never rounded); negative
  only in margin and futures (okx and bybit trading rows with a liability are margin);
- codes stripped of surrounding whitespace, then at most 40 printable characters without spaces,
  normalised by ccxt's currency table and upper-cased to at most 32;
- a row repeated with the same exchange id (each adapter says which) is taken once, across pages
  too; a repeat with another amount is malformed. A page cursor served twice ends paging.

Quotes the database cannot store exactly (more than 18 places, 10^20 or more) or that are no
price (not finite, not above zero) are left out and listed in `refused_quotes` with the reason.

Key permissions come from the exchanges whose adapter has a permission call (one request each);
the others do not report them (None). An answer without the fields that say what the key may do
leaves them None with `permissions_problem` saying why: guessing "cannot trade, cannot withdraw"
would hide the warning.

Errors are classified by their body before their status, 2xx or not: each exchange's documented
codes for busy or maintenance (retryable 'maintenance'), rate limits, and refused timestamps or
nonces (kind 'clock', retryable). A 5xx that would otherwise be a permanent exchange error is
'maintenance', a 429 'rate_limit'. Any non-ccxt exception while signing (a kraken secret that is
not base64, a malformed PEM key) is 'authentication'.
"""

from __future__ import annotations

from portfolio.exchanges import markets
from portfolio.exchanges.adapter import Adapter, Call, PermissionCall, SubAccountRef, SubAccounts
from portfolio.exchanges.deadline import Deadline
from portfolio.exchanges.errors import (
    CREDENTIAL_KINDS,
    KINDS,
    RETRYABLE,
    CredentialFormatError,
    ExchangeFault,
    Malformed,
    MalformedAnswer,
    PermissionsUnreadable,
    QuoteRefused,
)
from portfolio.exchanges.faults import FaultContext, classify, make_fault, scrub
from portfolio.exchanges.fetch import (
    MAX_PAGES,
    FetchedAccount,
    fetch_account,
    fetch_quotes,
    require_supported,
    select_wallets,
)
from portfolio.exchanges.generic import NOT_READ as GENERIC_NOT_READ
from portfolio.exchanges.markets import (
    MARKETS_TTL_SECONDS,
    clear_markets_cache,
    market_requests_by_exchange,
)
from portfolio.exchanges.payload import AMOUNT_BOUND, MAX_PLACES, PRICE_BOUND
from portfolio.exchanges.quotes import QUOTE_CODES, STABLE_PAIRS, quote_symbols
from portfolio.exchanges.registry import (
    ADAPTERS,
    BALANCE_CALLS,
    DISPLAY_NAMES,
    MARKET_OPTIONS,
    PERMISSION_CALLS,
    SUPPORTED_EXCHANGES,
    TICKER_LAST,
    adapter_for,
    display_name,
    exchange_names,
    is_known_exchange,
    reader,
    required_credentials,
    subaccount_exchanges,
    supported_wallets,
    supports_subaccounts,
)
from portfolio.exchanges.rows import LIABILITY_PRODUCTS, PRODUCTS, WALLETS, FetchedBalance, Lock
from portfolio.exchanges.session import CREDENTIAL_KEYS, Session, build_client, open_session

__all__ = [
    "ADAPTERS",
    "AMOUNT_BOUND",
    "BALANCE_CALLS",
    "CREDENTIAL_KEYS",
    "CREDENTIAL_KINDS",
    "DISPLAY_NAMES",
    "GENERIC_NOT_READ",
    "KINDS",
    "LIABILITY_PRODUCTS",
    "MARKETS_TTL_SECONDS",
    "MARKET_OPTIONS",
    "MAX_PAGES",
    "MAX_PLACES",
    "PERMISSION_CALLS",
    "PRICE_BOUND",
    "PRODUCTS",
    "QUOTE_CODES",
    "RETRYABLE",
    "STABLE_PAIRS",
    "SUPPORTED_EXCHANGES",
    "TICKER_LAST",
    "WALLETS",
    "Adapter",
    "Call",
    "CredentialFormatError",
    "Deadline",
    "ExchangeFault",
    "FaultContext",
    "FetchedAccount",
    "FetchedBalance",
    "Lock",
    "Malformed",
    "MalformedAnswer",
    "PermissionCall",
    "PermissionsUnreadable",
    "QuoteRefused",
    "Session",
    "SubAccountRef",
    "SubAccounts",
    "adapter_for",
    "build_client",
    "classify",
    "clear_markets_cache",
    "display_name",
    "exchange_names",
    "fetch_account",
    "fetch_quotes",
    "is_known_exchange",
    "make_fault",
    "market_requests",
    "market_requests_by_exchange",
    "open_session",
    "quote_symbols",
    "reader",
    "require_supported",
    "required_credentials",
    "scrub",
    "select_wallets",
    "subaccount_exchanges",
    "supported_wallets",
    "supports_subaccounts",
]


def __getattr__(name: str) -> int:
    # markets.py rebinds its counter on every count: a copy taken at import would stay 0.
    if name == "market_requests":
        return markets.market_requests
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""The adapters by exchange id, and the tables other modules read, all derived from them.

Adding an exchange adds one module with its ADAPTER and one row here (README, "Adding an
exchange"). Every other exchange in ccxt whose `has['fetchBalance']` is true is read by the
generic adapter (generic.py); the tables below hold the dedicated adapters only.
"""

from __future__ import annotations

from typing import Any

import ccxt

from portfolio.exchanges import (
    binance,
    bitfinex,
    bitget,
    bitstamp,
    bybit,
    coinbase,
    cryptocom,
    deribit,
    gate,
    gemini,
    generic,
    htx,
    hyperliquid,
    kraken,
    krakenfutures,
    kucoin,
    mexc,
    okx,
)
from portfolio.exchanges.adapter import Adapter, Call, PermissionCall
from portfolio.exchanges.rows import WALLETS

# In the order the account form and the supported-exchanges message list them.
ADAPTERS: dict[str, Adapter] = {
    adapter.id: adapter
    for adapter in (
        binance.ADAPTER,
        kraken.ADAPTER,
        okx.ADAPTER,
        coinbase.ADAPTER,
        bybit.ADAPTER,
        hyperliquid.ADAPTER,
        kucoin.ADAPTER,
        bitfinex.ADAPTER,
        gemini.ADAPTER,
        bitget.ADAPTER,
        gate.ADAPTER,
        cryptocom.ADAPTER,
        bitstamp.ADAPTER,
        deribit.ADAPTER,
        krakenfutures.ADAPTER,
        htx.ADAPTER,
        mexc.ADAPTER,
    )
}

# The exchanges a sync can read (each with its own balance calls), in the registry's order.
SUPPORTED_EXCHANGES: tuple[str, ...] = tuple(ADAPTERS)
DISPLAY_NAMES: dict[str, str] = {a.id: a.name for a in ADAPTERS.values()}
BALANCE_CALLS: dict[str, dict[str, tuple[Call, ...]]] = {a.id: a.wallets for a in ADAPTERS.values()}
PERMISSION_CALLS: dict[str, PermissionCall] = {
    a.id: a.permissions for a in ADAPTERS.values() if a.permissions is not None
}
MARKET_OPTIONS: dict[str, dict[str, Any]] = {
    a.id: a.market_options for a in ADAPTERS.values() if a.market_options
}
# Where the last price sits in each exchange's raw ticker.
TICKER_LAST: dict[str, tuple[str | int, ...]] = {a.id: a.ticker_last for a in ADAPTERS.values()}
# Read on any plain ExchangeError, whichever exchange raised it.
AUTH_MESSAGES: tuple[str, ...] = tuple(m for a in ADAPTERS.values() for m in a.auth_messages)


def adapter_for(exchange_id: str) -> Adapter | None:
    """The dedicated adapter, else the generic one for an exchange ccxt reads balances of."""
    if exchange_id in ADAPTERS:
        return ADAPTERS[exchange_id]
    return generic.adapter(exchange_id) if generic.reads_balances(exchange_id) else None


def reader(exchange_id: str) -> str:
    """Which adapter reads this exchange: "dedicated", "generic", or "" (none can)."""
    if exchange_id in ADAPTERS:
        return "dedicated"
    return "generic" if generic.reads_balances(exchange_id) else ""


def display_name(exchange_id: str) -> str:
    """Ours for the dedicated exchanges, ccxt's `name` for every other one in ccxt."""
    if exchange_id in DISPLAY_NAMES:
        return DISPLAY_NAMES[exchange_id]
    if exchange_id in ccxt.exchanges:
        return str(generic.describe(exchange_id).name or exchange_id)
    return exchange_id.capitalize()


def exchange_names() -> dict[str, str]:
    """Every exchange a sync can read, id -> display name: the dedicated first, then the
    generic ones by name."""
    others = [i for i in ccxt.exchanges if i not in ADAPTERS and generic.reads_balances(i)]
    others.sort(key=lambda i: display_name(i).lower())
    return {i: display_name(i) for i in (*ADAPTERS, *others)}


def required_credentials(exchange_id: str) -> tuple[str, ...]:
    """The ccxt credential names this exchange needs (apiKey, secret, password…), in ccxt's
    order; the adapter's own list where it reads with fewer (an address alone); () for an id
    ccxt does not know."""
    if exchange_id not in ccxt.exchanges:
        return ()
    adapter = ADAPTERS.get(exchange_id)
    if adapter is not None and adapter.credentials is not None:
        return adapter.credentials
    needed = generic.describe(exchange_id).requiredCredentials
    return tuple(name for name, required in needed.items() if required)


def supported_wallets(exchange_id: str) -> tuple[str, ...]:
    adapter = adapter_for(exchange_id)
    calls = adapter.wallets if adapter is not None else {}
    return tuple(wallet for wallet in WALLETS if wallet in calls)


def supports_subaccounts(exchange_id: str) -> bool:
    """Whether a master key's sub-accounts can be listed and read (dedicated adapters only)."""
    adapter = ADAPTERS.get(exchange_id)
    return adapter is not None and adapter.subaccounts is not None


def subaccount_exchanges() -> dict[str, str]:
    """The exchanges whose sub-accounts can be read, id -> display name."""
    return {i: a.name for i, a in ADAPTERS.items() if a.subaccounts is not None}


def is_known_exchange(exchange_id: str) -> bool:
    return exchange_id in ccxt.exchanges

"""The adapters by exchange id, and the tables other modules read, all derived from them.

Adding an exchange adds one module with its ADAPTER and one row here (README, "Adding an
exchange").
"""

from __future__ import annotations

from typing import Any

import ccxt

from portfolio.exchanges import binance, bybit, coinbase, kraken, okx
from portfolio.exchanges.adapter import Adapter, Call, PermissionCall
from portfolio.exchanges.rows import WALLETS

# In the order the account form and the supported-exchanges message list them.
ADAPTERS: dict[str, Adapter] = {
    adapter.id: adapter
    for adapter in (binance.ADAPTER, kraken.ADAPTER, okx.ADAPTER, coinbase.ADAPTER, bybit.ADAPTER)
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
    return ADAPTERS.get(exchange_id)


def display_name(exchange_id: str) -> str:
    return DISPLAY_NAMES.get(exchange_id, exchange_id.capitalize())


def supported_wallets(exchange_id: str) -> tuple[str, ...]:
    calls = BALANCE_CALLS.get(exchange_id, {})
    return tuple(wallet for wallet in WALLETS if wallet in calls)


def is_known_exchange(exchange_id: str) -> bool:
    return exchange_id in ccxt.exchanges

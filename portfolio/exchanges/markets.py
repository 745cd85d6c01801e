"""The markets cache: markets are loaded once per exchange per process.

A credential-less loader instance loads them and hands them to each new instance
(`set_markets_from_exchange`, which shares the dicts: they are treated as read-only). The cache
is keyed by (exchange id, emulator URL), guarded by one lock per key, refreshed after
MARKETS_TTL_SECONDS (a failed refresh keeps the stale markets); `market_requests` counts the
market-loading requests of this process and `clear_markets_cache()` resets both.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from portfolio.exchanges.deadline import Deadline
from portfolio.exchanges.session import Session, call, open_session

# New listings must reach the quotes eventually, but a market reload per sync would cost more
# requests than the sync itself.
MARKETS_TTL_SECONDS = 12 * 3600


@dataclass(slots=True)
class CachedMarkets:
    source: Any  # a loaded, credential-less ccxt instance; never used for requests again
    loaded_at: float


_markets: dict[tuple[str, str], CachedMarkets] = {}
_market_locks: dict[tuple[str, str], threading.Lock] = {}
_locks_guard = threading.Lock()
market_requests = 0  # market-loading HTTP requests made by this process
market_requests_by_exchange: Counter[str] = Counter()


def clear_markets_cache() -> None:
    global market_requests
    with _locks_guard:
        _markets.clear()
        market_requests = 0
        market_requests_by_exchange.clear()


def market_lock(key: tuple[str, str]) -> threading.Lock:
    with _locks_guard:
        return _market_locks.setdefault(key, threading.Lock())


def record_market_requests(exchange_id: str, count: int) -> None:
    global market_requests
    with _locks_guard:
        market_requests += count
        market_requests_by_exchange[exchange_id] += count


def loaded_markets(
    exchange_id: str, emulator_url: str | None, deadline: Deadline
) -> tuple[Any, int]:
    """(an instance holding the markets, requests made now). Keyed by exchange and emulator, so
    tests with different emulators do not share markets; in production the key is the id."""
    key = (exchange_id, emulator_url or "")
    with market_lock(key):
        cached = _markets.get(key)
        if cached and time.monotonic() - cached.loaded_at < MARKETS_TTL_SECONDS:
            return cached.source, 0
        loader = open_session(exchange_id, None, emulator_url, deadline)
        try:
            call(loader, "load_markets")
        except Exception:
            if cached is None:
                raise
            return cached.source, loader.requests  # stale markets beat a failed sync
        finally:
            record_market_requests(exchange_id, loader.requests)
        _markets[key] = CachedMarkets(loader.client, time.monotonic())
        return loader.client, loader.requests


def attach_markets(session: Session, emulator_url: str | None) -> None:
    """Markets loaded now count against this sync's deadline, like its other requests."""
    source, count = loaded_markets(session.exchange_id, emulator_url, session.deadline)
    session.client.set_markets_from_exchange(source)
    session.requests += count

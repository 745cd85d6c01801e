"""The only module that imports ccxt: exchange clients for syncs."""

from __future__ import annotations

import ccxt


def is_known_exchange(exchange_id: str) -> bool:
    return exchange_id in ccxt.exchanges

"""Point a ccxt exchange's URLs at the emulator: the sandbox's tests use these.

They live in portfolio/exchanges/emulator.py, where the sync's client uses them; production code
does not import sandbox/.
"""

from __future__ import annotations

from portfolio.exchanges.emulator import (
    SCHEME,
    assert_offline,
    leftover_https,
    point_at_emulator,
    rewrite,
)

__all__ = ["SCHEME", "assert_offline", "leftover_https", "point_at_emulator", "rewrite"]

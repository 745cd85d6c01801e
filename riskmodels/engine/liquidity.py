"""Money that cannot be withdrawn soon: locked earn and staking with a reported end date.

A lock is part of a holding at a custodian that the exchange will not release before
``unlocks_at``. Per custody group the report shows the value still locked 7 and 30 days after the
report's time: what the fund could not get out within a week or a month even if it asked now.
A lock whose asset has no price is counted apart (never as zero).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from riskmodels.engine.arith import ZERO, exact
from riskmodels.engine.book import Registry
from riskmodels.engine.outputs import LockedGroup

HORIZONS = (7, 30)  # days


@dataclass(frozen=True, slots=True)
class LockedAmount:
    """Part of a holding at `custodian` (a counterparty slug) locked until `unlocks_at`."""

    custodian: str
    asset: str
    amount: Decimal
    price_usd: Decimal | None
    unlocks_at: datetime

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite() or self.amount <= 0:
            raise ValueError(f"a locked amount is a positive Decimal, got {self.amount!r}")
        if self.unlocks_at.utcoffset() is None:
            raise ValueError("unlocks_at must be timezone-aware")


@exact
def locked_by_group(
    locks: Iterable[LockedAmount], registry: Registry, as_of: datetime
) -> tuple[LockedGroup, ...]:
    """Per custody group, the value locked beyond 7 and beyond 30 days from `as_of`, and how
    many locked amounts beyond 7 days have no price; groups by value locked beyond 7 days."""
    week, month = (as_of + timedelta(days=days) for days in HORIZONS)
    totals: dict[str, list[Decimal]] = {}
    unpriced: dict[str, int] = {}
    for lock in locks:
        if lock.unlocks_at <= week:
            continue
        group = registry.group_of(lock.custodian)
        figures = totals.setdefault(group, [ZERO, ZERO])
        if lock.price_usd is None:
            unpriced[group] = unpriced.get(group, 0) + 1
            continue
        value = lock.amount * lock.price_usd
        figures[0] += value
        if lock.unlocks_at > month:
            figures[1] += value
    rows = (LockedGroup(g, v7, v30, unpriced.get(g, 0)) for g, (v7, v30) in totals.items())
    return tuple(sorted(rows, key=lambda row: (-row.beyond_7d, row.group)))

"""Investor view: an investor with stake s sees s * each money figure of the portfolio.

Shares of NAV, HHI, ages and thresholds are ratios and stay as they are. The multiplication runs in
the exact context, so s * figure is exact for any Decimal stake.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass, replace
from decimal import Decimal
from typing import TypeVar

from riskmodels.engine.arith import ONE, ZERO, exact
from riskmodels.engine.outputs import SCALED, Report

T = TypeVar("T")


@exact
def investor_view(report: Report, stake: Decimal) -> Report:
    """The report as seen by an investor owning ``stake`` (0..1) of the portfolio."""
    if not isinstance(stake, Decimal) or not ZERO <= stake <= ONE:
        raise ValueError(f"stake must be a Decimal in [0, 1], got {stake!r}")
    scaled = _scale(report, stake)
    return replace(scaled, stake=report.stake * stake)


@exact
def scale_money(amount: Decimal, stake: Decimal | None) -> Decimal:
    """One money figure as an investor with ``stake`` owns it (the whole without a stake): the
    one place, with :func:`investor_view`, where a stake multiplies money."""
    return amount if stake is None else amount * stake


def investor_view_of(item: T, stake: Decimal) -> T:
    """Any engine result (a dataclass or a tuple of them) as seen through ``stake``."""
    if not isinstance(stake, Decimal) or not ZERO <= stake <= ONE:
        raise ValueError(f"stake must be a Decimal in [0, 1], got {stake!r}")
    return _scale(item, stake)


def _scale(item: T, stake: Decimal) -> T:
    """Multiply every field marked ``scaled`` by the stake, recursing into parts and tuples."""
    if isinstance(item, tuple):
        # A tuple of the same parts, rebuilt: mypy cannot see that it is still a T.
        return tuple(_scale(part, stake) for part in item)  # type: ignore[return-value]
    if not is_dataclass(item) or isinstance(item, type):
        return item
    changes: dict[str, object] = {}
    for f in fields(item):
        value = getattr(item, f.name)
        if f.metadata.get(SCALED):
            changes[f.name] = None if value is None else scale_money(value, stake)
        elif isinstance(value, tuple) or is_dataclass(value):
            changes[f.name] = _scale(value, stake)
    return replace(item, **changes)

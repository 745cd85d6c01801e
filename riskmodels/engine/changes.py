"""What changed between two reports: pure comparisons of keyed figures, exact Decimals."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

from riskmodels.engine.arith import exact

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class ExposureState:
    """A group's look-through exposure in one report: total (USD), share of NAV, status."""

    total: Decimal | None
    share: Decimal | None
    status: str


@dataclass(frozen=True, slots=True)
class AmountChange(Generic[K]):
    """One key's amount before and after; None where the key was absent (added or removed)."""

    key: K
    before: Decimal | None
    after: Decimal | None

    @property
    def kind(self) -> str:
        if self.before is None:
            return "added"
        return "removed" if self.after is None else "changed"

    @property
    @exact
    def delta(self) -> Decimal:
        return (self.after or Decimal(0)) - (self.before or Decimal(0))


@dataclass(frozen=True, slots=True)
class ExposureChange:
    """One group's exposure in the earlier and the later report (None: no exposure then)."""

    group: str
    before: ExposureState | None
    after: ExposureState | None

    @property
    @exact
    def total_delta(self) -> Decimal:
        return _total(self.after) - _total(self.before)

    @property
    @exact
    def share_delta(self) -> Decimal:
        return _share(self.after) - _share(self.before)

    @property
    def status_changed(self) -> bool:
        return _status(self.before) != _status(self.after)


def _total(state: ExposureState | None) -> Decimal:
    return Decimal(0) if state is None or state.total is None else state.total


def _share(state: ExposureState | None) -> Decimal:
    return Decimal(0) if state is None or state.share is None else state.share


def _status(state: ExposureState | None) -> str:
    return "ok" if state is None else state.status


def amount_changes(
    before: Mapping[K, Decimal], after: Mapping[K, Decimal]
) -> list[AmountChange[K]]:
    """Every key whose amount differs (added, removed or changed), in key order."""
    keys = sorted(set(before) | set(after), key=repr)
    return [
        AmountChange(key, before.get(key), after.get(key))
        for key in keys
        if before.get(key) != after.get(key)
    ]


def exposure_changes(
    before: Mapping[str, ExposureState], after: Mapping[str, ExposureState]
) -> list[ExposureChange]:
    """Every group whose exposure, share or status differs, largest move of share first."""
    changes = [
        ExposureChange(group, before.get(group), after.get(group))
        for group in set(before) | set(after)
        if before.get(group) != after.get(group)
    ]
    changes.sort(key=lambda c: (-abs(c.share_delta), c.group))
    return changes

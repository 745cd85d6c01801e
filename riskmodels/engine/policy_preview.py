"""What a proposed policy would change: two runs of the engine's findings, compared.

Pure: the caller runs the engine twice over the same inputs (current policy, proposed policy)
and passes the two sets of findings here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from riskmodels.engine.arith import BREACH, OK, WARN
from riskmodels.engine.outputs import Finding

SEVERITY = {OK: 0, WARN: 1, BREACH: 2}


@dataclass(frozen=True, slots=True)
class FindingChange:
    """One (rule, subject) whose level or limits differ between the two policies."""

    rule: str
    subject: str
    value: Decimal | None
    level_before: str
    level_after: str
    warn_before: Decimal | None
    breach_before: Decimal | None
    warn_after: Decimal | None
    breach_after: Decimal | None

    @property
    def level_changed(self) -> bool:
        return self.level_before != self.level_after


@dataclass(frozen=True, slots=True)
class PolicyImpact:
    """A portfolio's worst level before and after, and the findings that change."""

    status_before: str
    status_after: str
    changes: tuple[FindingChange, ...]


def worst_level(findings: Iterable[Finding]) -> str:
    """The most severe level over every finding; ok when there are none."""
    return max((f.level for f in findings), key=SEVERITY.__getitem__, default=OK)


def compare_findings(before: Iterable[Finding], after: Iterable[Finding]) -> PolicyImpact:
    """Statuses and the findings whose level or limits differ, most severe after first.

    A (rule, subject) found under one policy only (a rule whose levels became None) counts
    as ok on the other side.
    """
    old = {(f.rule, f.subject): f for f in before}
    new = {(f.rule, f.subject): f for f in after}
    changes = [
        change
        for key in sorted(old.keys() | new.keys())
        if (change := _change(old.get(key), new.get(key))) is not None
    ]
    changes.sort(key=lambda c: (-SEVERITY[c.level_after], -SEVERITY[c.level_before]))
    return PolicyImpact(worst_level(old.values()), worst_level(new.values()), tuple(changes))


def _change(old: Finding | None, new: Finding | None) -> FindingChange | None:
    either = new or old
    if either is None:
        return None
    pair_old = (None, None) if old is None else (old.warn, old.breach)
    pair_new = (None, None) if new is None else (new.warn, new.breach)
    level_old = OK if old is None else old.level
    level_new = OK if new is None else new.level
    if pair_old == pair_new and level_old == level_new:
        return None
    return FindingChange(
        rule=either.rule,
        subject=either.subject,
        value=either.value,
        level_before=level_old,
        level_after=level_new,
        warn_before=pair_old[0],
        breach_before=pair_old[1],
        warn_after=pair_new[0],
        breach_after=pair_new[1],
    )

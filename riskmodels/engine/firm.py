"""The firm-wide view: each counterparty group's exposure summed over the firm's portfolios.

A venue's failure hits the firm, not one fund, so the one-group limit is also applied to the sum:
the firm's NAV (the sum of the portfolios' NAVs) is the denominator and the policy's group limits
(tier, or the group's own override) the thresholds. A distressed group (withdrawals halted or
insolvent) is a finding of its own, as in a portfolio's report. Every sum is exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from riskmodels.engine.arith import BREACH, OK, WARN, ZERO, exact, level, share
from riskmodels.engine.inputs import DISTRESSED
from riskmodels.engine.outputs import Finding, GroupExposure, Report
from riskmodels.engine.policy import Policy
from riskmodels.engine.rules import Rule

SEVERITY = {OK: 0, WARN: 1, BREACH: 2}


@dataclass(frozen=True, slots=True)
class PortfolioPart:
    """One portfolio's share of a group's firm-wide exposure (its look-through total)."""

    portfolio: str
    total: Decimal


@dataclass(frozen=True, slots=True)
class FirmExposure:
    """A group's look-through exposure summed over the portfolios, against the firm's NAV.

    ``level`` is the worst of the group's findings at firm level (group limit, distressed);
    ``above_warn`` is total - warn × NAV when the total is above the warn level (else None).
    """

    group: str
    tier: str
    status: str
    custody: Decimal
    issuer: Decimal
    overlap: Decimal
    total: Decimal
    earn: Decimal
    share: Decimal | None
    warn: Decimal | None
    breach: Decimal | None
    level: str
    above_warn: Decimal | None
    entities: tuple[str, ...]
    parts: tuple[PortfolioPart, ...]


@dataclass(frozen=True, slots=True)
class FirmReport:
    """The firm's NAV, gross assets and debts, its group exposures (largest first) and the
    firm-level findings at warn or breach (worst first, then largest)."""

    nav: Decimal
    gross_assets: Decimal
    debts: Decimal
    exposures: tuple[FirmExposure, ...]
    findings: tuple[Finding, ...]

    def exposure(self, group: str) -> FirmExposure | None:
        return next((e for e in self.exposures if e.group == group), None)


@dataclass(slots=True)
class _Sum:
    """Running sums of one group over the portfolios; tier and status from the newest report."""

    tier: str
    status: str
    custody: Decimal = ZERO
    issuer: Decimal = ZERO
    overlap: Decimal = ZERO
    total: Decimal = ZERO
    earn: Decimal = ZERO
    entities: frozenset[str] = frozenset()
    parts: tuple[PortfolioPart, ...] = ()

    def add(self, portfolio: str, e: GroupExposure) -> None:
        self.custody += e.custody
        self.issuer += e.issuer
        self.overlap += e.overlap
        self.total += e.total
        self.earn += e.earn
        self.entities |= set(e.entities)
        self.parts += (PortfolioPart(portfolio, e.total),)


@exact
def firm_report(reports: Mapping[str, Report], policy: Policy) -> FirmReport:
    """Sum the portfolios' reports (keyed by portfolio) into the firm's view.

    1. Sum NAV, gross assets and debts, and per group every look-through figure.
    2. Take each group's tier and status from the newest report that has it.
    3. Apply the group limit and the distressed rule to the sums, on the firm's NAV.
    """
    newest_first = sorted(reports.items(), key=lambda item: item[1].as_of, reverse=True)
    sums: dict[str, _Sum] = {}
    for portfolio, report in newest_first:
        for e in report.exposures:
            sums.setdefault(e.group, _Sum(e.tier, e.status)).add(portfolio, e)
    nav = sum((r.nav for r in reports.values()), ZERO)
    exposures, findings = [], []
    for group, s in sums.items():
        exposure = _firm_exposure(group, s, nav, policy)
        found = list(_findings(exposure, nav, policy))
        worst = max((f.level for f in found), key=SEVERITY.__getitem__)
        exposures.append(replace(exposure, level=worst))
        findings += [f for f in found if f.level != OK]
    exposures.sort(key=lambda e: (-e.total, e.group))
    findings.sort(key=lambda f: (-SEVERITY[f.level], -(f.amount or ZERO), f.subject, f.rule))
    return FirmReport(
        nav=nav,
        gross_assets=sum((r.gross_assets for r in reports.values()), ZERO),
        debts=sum((r.debts for r in reports.values()), ZERO),
        exposures=tuple(exposures),
        findings=tuple(findings),
    )


def _firm_exposure(group: str, s: _Sum, nav: Decimal, policy: Policy) -> FirmExposure:
    thr = policy.for_group(group, s.tier)
    target = thr.warn if thr.warn is not None else thr.breach
    over = None if target is None or nav <= 0 else s.total - target * nav
    parts = sorted(s.parts, key=lambda p: (-p.total, p.portfolio))
    return FirmExposure(
        group=group,
        tier=s.tier,
        status=s.status,
        custody=s.custody,
        issuer=s.issuer,
        overlap=s.overlap,
        total=s.total,
        earn=s.earn,
        share=share(s.total, nav),
        warn=thr.warn,
        breach=thr.breach,
        level=OK,  # set from the findings below
        above_warn=over if over is not None and over > 0 else None,
        entities=tuple(sorted(s.entities)),
        parts=tuple(parts),
    )


def _findings(e: FirmExposure, nav: Decimal, policy: Policy) -> Iterable[Finding]:
    """The group limit on the firm's sum, and the distressed rule for a distressed group."""
    rules = [(Rule.GROUP, policy.for_group(e.group, e.tier))]
    if e.status in DISTRESSED and e.total > 0:
        rules.append((Rule.DISTRESSED, policy.for_subject(Rule.DISTRESSED, e.group)))
    for rule, thr in rules:
        lvl = level(e.total, nav, thr)
        yield Finding(rule, e.group, e.share, thr.warn, thr.breach, lvl, e.total)

"""The firm-wide view: each portfolio's latest stored exposure report, summed per group.

The sums come from the stored reports (never recomputed here), so the firm's figures are as
current as the stalest report in them: a portfolio whose report is not current (none yet,
holdings changed since, data older than its stale-data level, or locations whose last sync
failed) is named with the reason, and the firm's figures are marked not current. The limits are
the global policy's, applied to the firm's NAV (riskmodels.engine.firm).

Firm-level findings are computed on each visit; they raise no persistent alerts (alerts stay
per portfolio).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Max, OuterRef, Subquery

from portfolio.models import Counterparty, HoldingSnapshot, Portfolio
from portfolio.selectors import not_current_locations
from riskmodels.engine import Policy, Report
from riskmodels.engine.firm import FirmReport, firm_report
from riskmodels.engine.rules import RULE_LABELS, Rule
from riskmodels.models import ExposureSnapshot
from riskmodels.policies import Subject, limit_rows, resolve_policy
from riskmodels.reports import SECONDS_PER_HOUR, load_report
from riskmodels.selectors import DEFAULT_STALE_HOURS, load_registry


@dataclass(frozen=True, slots=True)
class PortfolioLine:
    """One portfolio in the firm's sums: its latest report, and why it is not current if so."""

    portfolio: Portfolio
    nav: Decimal | None
    computed_at: datetime | None
    data_as_of: datetime | None
    not_current: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FirmPage:
    report: FirmReport
    portfolios: tuple[PortfolioLine, ...]
    names: dict[str, str]  # group slug -> display name

    @property
    def current(self) -> bool:
        return not any(line.not_current for line in self.portfolios)


def latest_snapshots(portfolio_ids: Sequence[int]) -> dict[int, ExposureSnapshot]:
    """Each portfolio's latest exposure snapshot, whole, in one query."""
    latest = ExposureSnapshot.objects.filter(portfolio=OuterRef("portfolio")).order_by(
        "-computed_at", "-pk"
    )
    rows = ExposureSnapshot.objects.filter(
        portfolio_id__in=list(portfolio_ids), pk=Subquery(latest.values("pk")[:1])
    )
    return {row.portfolio_id: row for row in rows}


def global_policy() -> Policy:
    """The global policy (no portfolio's own limits), for every counterparty as a subject."""
    subjects = [Subject(c.slug, c.tier) for c in load_registry().counterparties]
    return resolve_policy(limit_rows(None), subjects)


def _newest_holdings(portfolio_ids: Sequence[int]) -> dict[int, datetime]:
    rows = (
        HoldingSnapshot.objects.filter(location__portfolio_id__in=list(portfolio_ids))
        .values("location__portfolio_id")
        .annotate(newest=Max("taken_at"))
        .order_by()
    )
    return {row["location__portfolio_id"]: row["newest"] for row in rows}


def _stale_hours(report: Report) -> Decimal:
    """The lowest stale-data warn level the report applied (DESIGN's 6 h without one)."""
    levels = [f.warn for f in report.findings_for(Rule.STALE_DATA) if f.warn is not None]
    return min(levels, default=DEFAULT_STALE_HOURS)


def report_not_current(
    snapshot: ExposureSnapshot,
    report: Report,
    *,
    newest_holdings: datetime | None,
    now: datetime,
) -> list[str]:
    """Why a stored report no longer says what the portfolio holds now, in words."""
    reasons = []
    if newest_holdings is not None and newest_holdings > snapshot.computed_at:
        reasons.append(
            f"holdings changed at {newest_holdings:%Y-%m-%d %H:%M} UTC, after the report"
        )
    oldest = snapshot.data_as_of
    if oldest is not None:
        hours = _stale_hours(report)
        if Decimal((now - oldest).total_seconds()) / SECONDS_PER_HOUR > hours:
            limit = format(hours.normalize(), "f")  # 6, not 6.000000 as the column keeps it
            reasons.append(f"data from {oldest:%Y-%m-%d %H:%M} UTC, older than {limit} h")
    return reasons


def _line(
    portfolio: Portfolio,
    snapshot: ExposureSnapshot | None,
    report: Report | None,
    newest_holdings: datetime | None,
    now: datetime,
) -> PortfolioLine:
    if snapshot is None or report is None:
        return PortfolioLine(
            portfolio, None, None, None, ("no exposure report yet: not in the sums",)
        )
    reasons = report_not_current(snapshot, report, newest_holdings=newest_holdings, now=now)
    failing = [row.location.name for row in not_current_locations(portfolio)]
    if failing:
        reasons.append("figures not current at " + ", ".join(failing))
    return PortfolioLine(
        portfolio, report.nav, snapshot.computed_at, snapshot.data_as_of, tuple(reasons)
    )


def group_names(groups: Iterable[str]) -> dict[str, str]:
    """Each group's display name from the registry (its slug when it has none)."""
    slugs = list(groups)
    names = dict(Counterparty.objects.filter(slug__in=slugs).values_list("slug", "name"))
    return {group: names.get(group) or group for group in slugs}


def firm_page(portfolios: Iterable[Portfolio], *, now: datetime) -> FirmPage:
    """The firm-wide view over ``portfolios`` (the caller fetched them through
    accounts.access.firm_portfolios_for).

    1. Load each portfolio's latest snapshot and its stored report (whole, never a stake).
    2. Sum them under the global policy on the firm's NAV (riskmodels.engine.firm).
    3. Say, per portfolio, why its report is not current, if it is not.
    """
    portfolios = list(portfolios)
    ids = [p.pk for p in portfolios]
    snapshots = latest_snapshots(ids)
    reports = {pk: load_report(snapshot) for pk, snapshot in snapshots.items()}
    firm = firm_report(
        {p.slug: reports[p.pk] for p in portfolios if p.pk in reports}, global_policy()
    )
    newest = _newest_holdings(ids)
    lines = tuple(
        _line(p, snapshots.get(p.pk), reports.get(p.pk), newest.get(p.pk), now) for p in portfolios
    )
    return FirmPage(firm, lines, group_names(e.group for e in firm.exposures))


def finding_rows(page: FirmPage) -> list[dict[str, object]]:
    """The firm-level findings as the page lists them: group name, rule in words, percentages."""
    return [
        {
            "finding": f,
            "name": page.names.get(f.subject, f.subject),
            "rule": RULE_LABELS[Rule(f.rule)],
            "share_pct": _pct(f.value),
            "warn_pct": _pct(f.warn),
            "breach_pct": _pct(f.breach),
        }
        for f in page.report.findings
    ]


def _pct(value: Decimal | None) -> Decimal | None:
    return None if value is None else value * 100


def exposure_rows(page: FirmPage) -> list[dict[str, object]]:
    """The firm's group exposures with names, percentages and each portfolio's part by name."""
    portfolio_names = {line.portfolio.slug: line.portfolio.name for line in page.portfolios}
    return [
        {
            "e": e,
            "name": page.names.get(e.group, e.group),
            "share_pct": _pct(e.share),
            "warn_pct": _pct(e.warn),
            "breach_pct": _pct(e.breach),
            "parts": [
                {"name": portfolio_names.get(p.portfolio, p.portfolio), "total": p.total}
                for p in e.parts
            ],
        }
        for e in page.report.exposures
    ]

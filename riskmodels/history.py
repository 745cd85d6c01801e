"""Past exposure reports: the history page, a past report as of then, and what changed between
two reports. Reads only; every figure comes from stored snapshots and the holdings and prices
of their time, never from today's.

What a past report held: each location's latest holdings snapshot taken at or before the
report's computation, valued at each asset's latest price at or before it (the reads of
compute_exposure, moved back in time).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery

from portfolio.models import CustodyLocation, Holding, HoldingSnapshot, Portfolio
from riskmodels import charts
from riskmodels.documents import ExposureReport, ExposureRow, LiveAlertRow, ReportPage
from riskmodels.engine.arith import exact
from riskmodels.engine.changes import (
    AmountChange,
    ExposureChange,
    ExposureState,
    amount_changes,
    exposure_changes,
)
from riskmodels.engine.rules import SHARE_RULES
from riskmodels.models import Alert, ExposureSnapshot, PolicyChange
from riskmodels.presenter import subject_name
from riskmodels.reports import (
    counterparty_names,
    decimal_text,
    live_alerts_at,
    load_report,
    report_labels,
    snapshot_report,
)
from riskmodels.selectors import (
    HISTORY_POINTS,
    HoldingLine,
    _line,
    _static_page,
    exposure_history,
    load_assets,
    load_registry,
)

# A snapshot's own instant is part of "history up to it": the range end is exclusive.
JUST_AFTER = timedelta(microseconds=1)
PositionKey = tuple[str, str, str]  # location, asset, product


def snapshot_ids_at(portfolio: Portfolio, at: datetime) -> QuerySet:
    """Each location's latest holdings snapshot taken at or before ``at``."""
    latest = HoldingSnapshot.objects.filter(location=OuterRef("pk"), taken_at__lte=at).order_by(
        "-taken_at", "-pk"
    )
    return (
        CustodyLocation.objects.filter(portfolio=portfolio)
        .annotate(snapshot_id=Subquery(latest.values("pk")[:1]))
        .exclude(snapshot_id=None)
        .values("snapshot_id")
    )


def holding_lines_at(
    portfolio: Portfolio, at: datetime, stake: Decimal | None = None
) -> list[HoldingLine]:
    """The holdings of ``at``, valued at the prices of ``at``, × ``stake`` when given."""
    registry = load_registry()
    rows = list(
        Holding.objects.filter(snapshot_id__in=snapshot_ids_at(portfolio, at))
        .order_by("snapshot__location__name", "asset__code", "product")
        .values_list(
            "snapshot__location_id",
            "snapshot__location__kind",
            "snapshot__location__custodian_id",
            "asset_id",
            "product",
            "amount",
        )
    )
    names = dict(portfolio.locations.values_list("pk", "name"))
    assets = load_assets({row[3] for row in rows}, registry.slugs, at)
    factor = Decimal(1) if stake is None else stake
    return [_line(names, registry, row, assets[row[3]], factor) for row in rows]


# The history page.


@exact
def _scaled(amount: Decimal, stake: Decimal | None) -> Decimal:
    return amount if stake is None else amount * stake


def _counts(findings: list[dict[str, Any]]) -> dict[str, int]:
    counts = {"breach": 0, "warn": 0}
    for finding in findings:
        if finding["level"] in counts:
            counts[finding["level"]] += 1
    return counts


def _history_rows(history: list[dict[str, Any]], stake: Decimal | None) -> list[dict[str, Any]]:
    """The reports of the range, newest first, each with the one before it (for "changes")."""
    rows = []
    previous = None
    for point in history:
        rows.append(
            {
                "pk": point["pk"],
                "computed_at": point["computed_at"],
                "data_as_of": point["data_as_of"],
                "nav": _scaled(point["nav"], stake),
                "counts": _counts(point["findings"]),
                "previous": previous,
            }
        )
        previous = point["pk"]
    return rows[::-1]


def history_page(
    portfolio: Portfolio,
    *,
    stake: Decimal | None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, Any]:
    """The reports computed in [start, end): their list, and the over-time charts of the
    range's largest groups, each point against the limits in force then."""
    history = exposure_history(portfolio.pk, start=start, end=end)
    names = counterparty_names() if history else {}
    latest: list[ExposureRow] = [
        {**row, "name": names.get(row["group"], row["group"])}  # type: ignore[typeddict-item]
        for row in (history[-1]["exposures"] if history else [])
    ]
    return {
        "rows": _history_rows(history, stake),
        "charts": charts.history_figures(history, latest),
        "capped": len(history) >= HISTORY_POINTS,
    }


POLICY_CHANGES_SHOWN = 50


def _level_words(rule: str, value: Decimal | None) -> str:
    """A limit level in the rule's unit: shares in percent, the others as they are."""
    if value is None:
        return "none"
    if rule in SHARE_RULES:
        return f"{decimal_text(value * 100)}%"
    return decimal_text(value)


def policy_changes(
    portfolio: Portfolio, *, start: datetime | None = None, end: datetime | None = None
) -> list[dict[str, Any]]:
    """The changes of the global policy and of the portfolio's own in [start, end), newest
    first: what moved the levels drawn on the history charts."""
    reach = Q(policy__isnull=False, policy__portfolio__isnull=True) | Q(policy__portfolio=portfolio)
    changes = PolicyChange.objects.filter(reach)
    if start is not None:
        changes = changes.filter(changed_at__gte=start)
    if end is not None:
        changes = changes.filter(changed_at__lt=end)
    return [
        {
            "change": change,
            "old": f"{_level_words(change.rule, change.old_warn)} / "
            f"{_level_words(change.rule, change.old_breach)}",
            "new": f"{_level_words(change.rule, change.new_warn)} / "
            f"{_level_words(change.rule, change.new_breach)}",
        }
        for change in changes.order_by("-changed_at", "-pk")[:POLICY_CHANGES_SHOWN]
    ]


# One past report.


def past_report_page(
    portfolio: Portfolio, snapshot: ExposureSnapshot, stake: Decimal | None
) -> ReportPage:
    """A stored report as it was: its figures, the holdings and prices of its time, history up
    to it. Nothing live: no current alerts, no current freshness marks."""
    static = _static_page(portfolio, snapshot, stake)
    document = static["document"]
    at = snapshot.computed_at
    figures = charts.report_figures(
        lines=holding_lines_at(portfolio, at, stake),
        history=exposure_history(portfolio.pk, end=at + JUST_AFTER),
        exposures=static["document"]["exposures"],
    )
    return {
        **static,
        "charts": figures,
        "version": f"past-{snapshot.pk}-{snapshot.inputs_digest[:16]}:{stake}",
        "snapshot": snapshot,
        "alerts": [] if stake is not None else alerts_then(snapshot, document),
        "not_current": [],
        "partially_read": [],
        "price_notes": [],
    }


def alerts_then(snapshot: ExposureSnapshot, document: ExposureReport) -> list[LiveAlertRow]:
    """The alerts that were live when the report was computed, each with the level, value and
    threshold of that report's finding (the alert row itself holds its latest ones)."""
    findings = {(row["rule"], row["subject"]): row for row in document["alerts"]}
    labels = report_labels(snapshot.portfolio_id, load_report(snapshot), investor=False)
    rows: list[LiveAlertRow] = []
    live = sorted(live_alerts_at(snapshot).values(), key=lambda a: (a.first_seen, a.pk))
    for alert in live:
        finding = findings.get((alert.rule, alert.subject))
        if finding is None or finding["value"] is None:
            continue
        level = finding["level"]
        threshold = finding["breach"] if level == "breach" else finding["warn"]
        scale = 100 if alert.rule in SHARE_RULES else 1
        then = copy.copy(alert)  # shown, never saved
        then.level = level
        rows.append(
            {
                "alert": then,
                "value": Decimal(finding["value"]) * scale,
                "threshold": Decimal(threshold or 0) * scale,
                "unit": "%" if scale == 100 else "",
                "name": subject_name(alert.rule, alert.subject, labels),
            }
        )
    rows.sort(key=lambda row: (row["alert"].level, row["alert"].first_seen))  # breach first
    return rows


# What changed between two reports.


@dataclass(frozen=True, slots=True)
class Comparison:
    before: ExposureSnapshot
    after: ExposureSnapshot
    nav_before: Decimal
    nav_after: Decimal
    positions: list[AmountChange[PositionKey]]
    exposures: list[ExposureChange]
    opened: list[Alert]
    resolved: list[Alert]

    @property
    @exact
    def nav_delta(self) -> Decimal:
        return self.nav_after - self.nav_before

    def exposure_rows(self) -> list[dict[str, Any]]:
        """Each changed group as the page shows it: shares in percent, status before and after."""
        return [_exposure_row(change) for change in self.exposures]


def _pct(value: Decimal | None) -> Decimal | None:
    return None if value is None else value * 100


def _exposure_row(change: ExposureChange) -> dict[str, Any]:
    before, after = change.before, change.after
    return {
        "group": change.group,
        "total_before": before.total if before else None,
        "total_after": after.total if after else None,
        "total_delta": change.total_delta,
        "share_before_pct": _pct(before.share if before else None),
        "share_after_pct": _pct(after.share if after else None),
        "share_delta_pct": change.share_delta * 100,
        "status_before": before.status if before else "none",
        "status_after": after.status if after else "none",
        "status_changed": change.status_changed,
    }


def _positions(lines: list[HoldingLine]) -> dict[PositionKey, Decimal]:
    amounts: dict[PositionKey, Decimal] = {}
    for line in lines:
        key = (line.location, line.asset, line.product)
        amounts[key] = amounts.get(key, Decimal(0)) + line.amount
    return amounts


def _exposure_states(snapshot: ExposureSnapshot, stake: Decimal | None) -> dict[str, Any]:
    document = snapshot_report(snapshot, stake)
    states = {
        row["group"]: ExposureState(
            total=None if row["total"] is None else Decimal(row["total"]),
            share=None if row["share"] is None else Decimal(row["share"]),
            status=row["status"],
        )
        for row in document["exposures"]
    }
    return {"nav": Decimal(document["nav"] or 0), "states": states}


def _alerts_between(portfolio: Portfolio, start: datetime, end: datetime) -> dict[str, list]:
    """Alerts first seen, and alerts resolved, after ``start`` and up to ``end``."""
    alerts = Alert.objects.filter(portfolio=portfolio).order_by("level", "first_seen", "pk")
    return {
        "opened": list(alerts.filter(first_seen__gt=start, first_seen__lte=end)),
        "resolved": list(alerts.filter(resolved_at__gt=start, resolved_at__lte=end)),
    }


def compare_reports(
    portfolio: Portfolio,
    first: ExposureSnapshot,
    second: ExposureSnapshot,
    *,
    stake: Decimal | None,
    alerts: bool,
) -> Comparison:
    """What changed from the earlier of two reports to the later: positions (amounts, × stake),
    exposure per group, and (``alerts``: not for investors) alerts opened and resolved."""
    before, after = sorted((first, second), key=lambda s: (s.computed_at, s.pk))
    old, new = _exposure_states(before, stake), _exposure_states(after, stake)
    moved = (
        _alerts_between(portfolio, before.computed_at, after.computed_at)
        if alerts
        else {"opened": [], "resolved": []}
    )
    return Comparison(
        before=before,
        after=after,
        nav_before=old["nav"],
        nav_after=new["nav"],
        positions=amount_changes(
            _positions(holding_lines_at(portfolio, before.computed_at, stake)),
            _positions(holding_lines_at(portfolio, after.computed_at, stake)),
        ),
        exposures=exposure_changes(old["states"], new["states"]),
        opened=moved["opened"],
        resolved=moved["resolved"],
    )


def previous_report(snapshot: ExposureSnapshot) -> ExposureSnapshot | None:
    """The portfolio's report computed just before ``snapshot``."""
    return (
        ExposureSnapshot.objects.filter(portfolio_id=snapshot.portfolio_id)
        .filter(computed_at__lte=snapshot.computed_at)
        .exclude(pk=snapshot.pk)
        .exclude(computed_at=snapshot.computed_at, pk__gt=snapshot.pk)
        .select_related("portfolio")
        .order_by("-computed_at", "-pk")
        .first()
    )

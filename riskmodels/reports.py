"""The engine's Report as stored JSON, and the documented exposure report built from it.

Stored form (``ExposureSnapshot.report``): every field of the engine's Report, dataclasses as
objects, tuples as lists, Decimals as fixed-point strings (exact: "0.1" stays "0.1", never a
float), datetimes as ISO 8601. It loads back into the same frozen Report, so an investor's view
is the engine's own ``investor_view`` of the stored figures.

Exposure report (``render_report``): the documented JSON of the README's "Exposure report".
"""

from __future__ import annotations

import csv
import io
import types
import typing
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, overload

from accounts.access import investor_share
from riskmodels.documents import AlertRow, ExposureReport, ExposureRow, Metrics
from riskmodels.engine import Report, investor_view
from riskmodels.engine.arith import HOURS_QUANTUM
from riskmodels.engine.rules import Rule
from riskmodels.models import Alert, AlertState, ExposureSnapshot

if TYPE_CHECKING:
    from accounts.models import User

SECONDS_PER_HOUR = Decimal(3600)
CSV_COLUMNS = (
    "group",
    "entities",
    "tier",
    "custody",
    "issuer",
    "overlap",
    "total",
    "share",
    "warn",
    "breach",
    "status",
    "move_to_comply",
    "not_current",
)


@overload
def decimal_text(value: Decimal) -> str: ...
@overload
def decimal_text(value: None) -> None: ...
@overload
def decimal_text(value: Decimal | None) -> str | None: ...
def decimal_text(value: Decimal | None) -> str | None:
    """Fixed-point text without trailing zeros, exactly the value (no rounding, no exponent)."""
    if value is None:
        return None
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def to_json(item: Any) -> Any:
    """Dataclasses, tuples, Decimals and datetimes as JSON-ready values."""
    if is_dataclass(item) and not isinstance(item, type):
        return {f.name: to_json(getattr(item, f.name)) for f in fields(item)}
    if isinstance(item, tuple | list):
        return [to_json(part) for part in item]
    if isinstance(item, Decimal):
        return decimal_text(item)
    if isinstance(item, datetime):
        return item.isoformat()
    return item


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_json(kind: Any, data: Any) -> Any:
    """The inverse of :func:`to_json`, guided by the dataclasses' type hints."""
    if data is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (types.UnionType, typing.Union):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        # int | str (a location id): JSON kept which one it was.
        return from_json(options[0], data) if len(options) == 1 else data
    if origin is tuple:
        return tuple(from_json(typing.get_args(kind)[0], part) for part in data)
    if kind is Decimal:
        return Decimal(data)
    if kind is datetime:
        return datetime.fromisoformat(data)
    if isinstance(kind, type) and is_dataclass(kind):
        hints = _hints(kind)
        # A field added since the report was stored takes its default.
        return kind(
            **{
                f.name: from_json(hints[f.name], data[f.name])
                for f in fields(kind)
                if f.name in data
            }
        )
    return data


def load_report(snapshot: ExposureSnapshot) -> Report:
    """The engine Report stored in a snapshot."""
    return from_json(Report, snapshot.report)


def _hours(seconds: float | Decimal) -> str | None:
    return decimal_text((Decimal(seconds) / SECONDS_PER_HOUR).quantize(HOURS_QUANTUM))


def live_alerts_at(snapshot: ExposureSnapshot) -> dict[tuple[str, str], Alert]:
    """The portfolio's alerts that were live when the snapshot was computed, by rule and subject."""
    at = snapshot.computed_at
    alerts = Alert.objects.filter(portfolio_id=snapshot.portfolio_id, first_seen__lte=at).exclude(
        state=AlertState.RESOLVED, resolved_at__lte=at
    )
    return {(a.rule, a.subject): a for a in alerts}


def _alert_rows(report: Report, alerts: dict[tuple[str, str], Alert]) -> list[AlertRow]:
    """Every finding at warn or breach, with its alert's state, age and cause when known."""
    rows: list[AlertRow] = []
    for finding in report.findings:
        if finding.level == "ok":
            continue
        alert = alerts.get((finding.rule, finding.subject))
        over_for = None if alert is None else (report.as_of - alert.first_seen).total_seconds()
        rows.append(
            {
                "rule": finding.rule,
                "subject": finding.subject,
                "value": decimal_text(finding.value),
                "warn": decimal_text(finding.warn),
                "breach": decimal_text(finding.breach),
                "level": finding.level,
                "amount": decimal_text(finding.amount),
                "state": None if alert is None else alert.state,
                "first_seen": None if alert is None else alert.first_seen.isoformat(),
                "over_limit_hours": None if over_for is None else _hours(max(over_for, 0)),
                "cause": None if alert is None else (alert.cause or None),
            }
        )
    return rows


def _exposure_rows(report: Report) -> list[ExposureRow]:
    limits = {f.subject: f for f in report.findings_for(Rule.GROUP)}
    moves = {m.group: m.amount for m in report.moves}
    rows: list[ExposureRow] = []
    for e in report.exposures:
        finding = limits.get(e.group)
        rows.append(
            {
                "group": e.group,
                "entities": list(e.entities),
                "tier": e.tier,
                "custody": decimal_text(e.custody),
                "issuer": decimal_text(e.issuer),
                "overlap": decimal_text(e.overlap),
                "total": decimal_text(e.total),
                "share": decimal_text(e.share),
                "warn": decimal_text(finding.warn) if finding else None,
                "breach": decimal_text(finding.breach) if finding else None,
                "status": finding.level if finding else "ok",
                "move_to_comply": decimal_text(moves.get(e.group)),
            }
        )
    return rows


def _metrics(report: Report) -> Metrics:
    c = report.concentration
    return {
        "hhi": decimal_text(c.hhi),
        "hhi_third_party": decimal_text(c.hhi_third_party),
        "effective_n": decimal_text(c.effective_n),
        "top1": decimal_text(c.top1_share),
        "top3": decimal_text(c.top3_share),
        "large_sum": decimal_text(c.large_exposure_total),
        "exchange_custody": decimal_text(report.exchange_custody.value),
    }


def render_report(
    report: Report, *, snapshot: ExposureSnapshot, alerts: dict[tuple[str, str], Alert]
) -> ExposureReport:
    """The documented exposure report (README, "Exposure report")."""
    return {
        "nav": decimal_text(report.nav),
        "generated_at": snapshot.computed_at.isoformat(),
        "data_as_of": None if snapshot.data_as_of is None else snapshot.data_as_of.isoformat(),
        "allocation": [
            {"bucket": b.bucket, "value": decimal_text(b.value), "share": decimal_text(b.share)}
            for b in report.allocation
        ],
        "exposures": _exposure_rows(report),
        "metrics": _metrics(report),
        "alerts": _alert_rows(report, alerts),
        "stress": [
            {
                "scenario": s.name,
                "loss": decimal_text(s.loss),
                "loss_share": decimal_text(s.loss_share),
            }
            for s in report.scenarios
        ],
        "locked": [
            {
                "group": row.group,
                "beyond_7d": decimal_text(row.beyond_7d),
                "beyond_30d": decimal_text(row.beyond_30d),
                "unpriced": row.unpriced,
            }
            for row in report.locked
        ],
    }


def render_csv(document: ExposureReport, not_current: Mapping[str, str] | None = None) -> str:
    """One row per exposure, the columns of ``CSV_COLUMNS``; entities joined with ";";
    `not_current` says, per group, which of its locations' figures are not current."""
    marks = not_current or {}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in document["exposures"]:
        cells: dict[str, object] = {
            **row,
            "entities": ";".join(row["entities"]),
            "not_current": marks.get(row["group"], ""),
        }
        writer.writerow(["" if cells[c] is None else cells[c] for c in CSV_COLUMNS])
    return out.getvalue()


def snapshot_report(snapshot: ExposureSnapshot, stake: Decimal | None = None) -> ExposureReport:
    """A snapshot's exposure report, whole or as seen through an investor's stake."""
    report = load_report(snapshot)
    if stake is not None:
        report = investor_view(report, stake)
    return render_report(report, snapshot=snapshot, alerts=live_alerts_at(snapshot))


def report_for_user(user: User, snapshot: ExposureSnapshot) -> ExposureReport:
    """The report ``user`` may see: stake × every money figure for an investor with a stake.

    The caller fetched ``snapshot`` through accounts.access.get_exposure_for_user.
    """
    return snapshot_report(snapshot, investor_share(user, snapshot.portfolio))

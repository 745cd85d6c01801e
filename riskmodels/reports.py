"""The engine's Report as stored JSON, and the documented exposure report built from it.

Stored form (``ExposureSnapshot.report``): every field of the engine's Report, dataclasses as
objects, tuples as lists, Decimals as fixed-point strings (exact: "0.1" stays "0.1", never a
float), datetimes as ISO 8601. It loads back into the same frozen Report, so an investor's view
is the engine's own ``investor_view`` of the stored figures.

Exposure report (``render_report``): the documented JSON of the README's "Exposure report".
"""

from __future__ import annotations

import io
import types
import typing
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from django.db.models import OuterRef, Subquery

from accounts.access import investor_share
from portfolio.models import Asset, Counterparty, CustodyLocation, Price
from riskmodels import presenter
from riskmodels.csv_cells import SafeWriter
from riskmodels.documents import ExposureReport
from riskmodels.engine import Report, investor_view
from riskmodels.models import Alert, AlertState, ExposureSnapshot
from riskmodels.presenter import Labels, decimal_text, display_name

if TYPE_CHECKING:
    from accounts.models import User

SECONDS_PER_HOUR = Decimal(3600)
CSV_COLUMNS = (
    "group",
    "name",
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
    "convert_to_comply",
    "blocked",
    "not_current",
)


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


def live_alerts_at(snapshot: ExposureSnapshot) -> dict[tuple[str, str], Alert]:
    """The portfolio's alerts that were live when the snapshot was computed, by rule and subject."""
    at = snapshot.computed_at
    alerts = Alert.objects.filter(portfolio_id=snapshot.portfolio_id, first_seen__lte=at).exclude(
        state=AlertState.RESOLVED, resolved_at__lte=at
    )
    return {(a.rule, a.subject): a for a in alerts}


def counterparty_names() -> dict[str, str]:
    """Every counterparty's display name by slug (one query)."""
    rows = Counterparty.objects.values_list("slug", "name", "legal_name")
    return {slug: display_name(slug, name, legal) for slug, name, legal in rows}


def report_labels(portfolio_id: int, report: Report, *, investor: bool) -> Labels:
    """The names the presenter shows: counterparties, the portfolio's locations, and why each
    unpriced asset has no price (three queries)."""
    counterparties = counterparty_names()
    rows = CustodyLocation.objects.filter(portfolio_id=portfolio_id).values_list(
        "pk", "name", "custodian__slug"
    )
    locations = {str(pk): name for pk, name, _ in rows}
    custodians = {str(pk): slug for pk, _, slug in rows}
    return Labels(
        counterparties=counterparties,
        locations=locations,
        location_custodians=custodians,
        unpriced_reasons=unpriced_reasons({h.asset for h in report.unpriced}),
        investor=investor,
    )


def unpriced_reasons(codes: set[str]) -> dict[str, str]:
    """Why each asset has no price: its latest price was refused (and why), or none was ever
    fetched (one query)."""
    if not codes:
        return {}
    latest = Price.objects.filter(asset=OuterRef("pk")).order_by("-as_of", "-pk")
    rows = (
        Asset.objects.filter(code__in=sorted(codes))
        .annotate(reason=Subquery(latest.values("refused_reason")[:1]))
        .values_list("code", "reason")
    )
    return {
        code: f"price refused: {reason}" if reason else "no price has been fetched"
        for code, reason in rows
    }


def render_report(
    report: Report,
    *,
    snapshot: ExposureSnapshot,
    alerts: dict[tuple[str, str], Alert],
    labels: Labels | None = None,
) -> ExposureReport:
    """The documented exposure report (README, "Exposure report"), through the presenter."""
    labels = labels or Labels()
    since = {key: alert.first_seen for key, alert in alerts.items()}
    return {
        "nav": decimal_text(report.nav),
        "generated_at": snapshot.computed_at.isoformat(),
        "data_as_of": None if snapshot.data_as_of is None else snapshot.data_as_of.isoformat(),
        "status": presenter.worst(f.level for f in report.findings),
        "actions": presenter.action_rows(report, labels, since),
        "accounting": presenter.accounting(report, labels),
        "allocation": [
            {"bucket": b.bucket, "value": decimal_text(b.value), "share": decimal_text(b.share)}
            for b in report.allocation
        ],
        "exposures": presenter.exposure_rows(report, labels),
        "metrics": presenter.metrics(report, labels),
        "alerts": presenter.alert_rows(report, alerts, labels),
        "unpriced": presenter.unpriced_rows(report, labels),
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
    writer = SafeWriter(out)
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
    labels = report_labels(snapshot.portfolio_id, report, investor=stake is not None)
    return render_report(report, snapshot=snapshot, alerts=live_alerts_at(snapshot), labels=labels)


def report_for_user(user: User, snapshot: ExposureSnapshot) -> ExposureReport:
    """The report ``user`` may see: stake × every money figure for an investor with a stake.

    The caller fetched ``snapshot`` through accounts.access.get_exposure_for_user.
    """
    return snapshot_report(snapshot, investor_share(user, snapshot.portfolio))

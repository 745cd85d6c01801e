"""What the stress page shows: every scenario with its assumptions, the positions it hits and
its loss, computed by the engine from the portfolio's current holdings.

The report stores one loss per scenario at each compute; this page runs the same scenarios on
the holdings as they are now, so a custom scenario shows at once. The page says when its
figures are from and which custom scenarios the stored report does not have yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Q

from portfolio.models import AssetKind, Portfolio
from riskmodels.alert_pages import counterparty_names
from riskmodels.engine.arith import ONE
from riskmodels.engine.stress import Shock
from riskmodels.engine.stress_detail import PositionHit, ScenarioDetail, stress_details
from riskmodels.models import StressScenario
from riskmodels.policies import Subject, limit_rows, resolve_policy
from riskmodels.selectors import exposure_at, load_inputs, load_registry, load_scenarios

KIND_LABELS = dict(AssetKind.choices)


@dataclass(frozen=True, slots=True)
class StressPage:
    scenarios: list[dict[str, Any]]
    data_as_of: datetime | None
    report_at: datetime | None


def percent_text(fraction: Decimal) -> str:
    """0.135 → "13.5": a fraction as an exact percentage, without trailing zeros."""
    text = format((fraction * 100).normalize(), "f")
    return text


def shock_words(shock: Shock, names: dict[str, str]) -> str:
    """One assumption in words: "Loss given default 60% on what Kraken (Payward) holds"."""
    if shock.custody_group and not (shock.issuer_group or shock.asset or shock.asset_kind):
        holder = _name(shock.custody_group, names)
        return f"Loss given default {percent_text(shock.fraction)}% on what {holder} holds"
    what = shock.asset or (
        f"every {KIND_LABELS.get(shock.asset_kind, shock.asset_kind).lower()}"
        if shock.asset_kind
        else "every asset"
    )
    if shock.asset and shock.asset_kind:
        what += f" ({KIND_LABELS.get(shock.asset_kind, shock.asset_kind).lower()})"
    if shock.issuer_group:
        what += f" issued by {_name(shock.issuer_group, names)}"
    if shock.custody_group:
        what += f" held at {_name(shock.custody_group, names)}"
    label = "Loss" if shock.custody_group else "Price shock"
    return f"{label} −{percent_text(shock.fraction)}% on {what}"


def _name(slug: str, names: dict[str, str]) -> str:
    return names.get(slug, slug)


def _hit_row(hit: PositionHit, names: dict[str, str]) -> dict[str, Any]:
    return {
        "held_at": "Self-custody" if hit.custody_group is None else _name(hit.custody_group, names),
        "issuer": "" if hit.issuer_group is None else _name(hit.issuer_group, names),
        "asset": hit.asset,
        "kind": KIND_LABELS.get(hit.asset_kind, hit.asset_kind),
        "value": hit.value,
        "loss_pct": percent_text(hit.loss_fraction),
        "loss": hit.loss,
    }


def _slugs(details: tuple[ScenarioDetail, ...]) -> set[str]:
    found: set[str] = set()
    for detail in details:
        for shock in detail.scenario.shocks:
            found.update(s for s in (shock.custody_group, shock.issuer_group) if s)
        for hit in detail.hits:
            found.update(s for s in (hit.custody_group, hit.issuer_group) if s)
    return found


def _customs(portfolio: Portfolio) -> dict[str, StressScenario]:
    rows = StressScenario.objects.filter(
        Q(portfolio=portfolio) | Q(portfolio__isnull=True)
    ).select_related("created_by")
    return {row.name: row for row in rows}


def stress_page(*, portfolio: Portfolio, stake: Decimal | None) -> StressPage:
    """Every scenario (custom ones first, then the presets) as the page shows it.

    1. Load the current holdings, the resolved policy and the custom scenarios, as a compute does.
    2. Let the engine run every scenario and list its hits (scaled by the stake, if any).
    3. Name counterparties, word the shocks, and mark custom scenarios the report lacks.
    """
    registry = load_registry()
    inputs = load_inputs(portfolio.pk, registry)
    subjects = [Subject(c.slug, c.tier) for c in registry.counterparties]
    details = stress_details(
        inputs.positions(),
        registry.counterparties,
        scenarios=load_scenarios(portfolio.pk, registry),
        policy=resolve_policy(limit_rows(portfolio.pk), subjects),
        stake=ONE if stake is None else stake,
    )
    names = counterparty_names(_slugs(details))
    snapshot = exposure_at(portfolio.pk)
    stored = {s["name"] for s in snapshot.report.get("scenarios", [])} if snapshot else set()
    customs = _customs(portfolio)
    rows = [_scenario_row(d, names, customs.get(d.scenario.name), stored) for d in details]
    rows.sort(key=lambda row: row["preset"])  # stable: custom first, each in engine order
    return StressPage(rows, inputs.data_as_of, snapshot.computed_at if snapshot else None)


def _title(detail: ScenarioDetail, names: dict[str, str]) -> str:
    """A preset's name with its group's display name: "Kraken (Payward) default (base)"."""
    first, _, rest = detail.scenario.name.partition(" ")
    if detail.preset and rest and first in names:
        return f"{names[first]} {rest}"
    return detail.scenario.name


def _scenario_row(
    detail: ScenarioDetail,
    names: dict[str, str],
    custom: StressScenario | None,
    stored: set[str],
) -> dict[str, Any]:
    result = detail.result
    return {
        "name": detail.scenario.name,
        "title": _title(detail, names),
        "preset": detail.preset,
        "custom": None if detail.preset else custom,
        "in_report": detail.scenario.name in stored,
        "assumptions": [shock_words(shock, names) for shock in detail.scenario.shocks],
        "loss": result.loss,
        "loss_pct": None if result.loss_share is None else result.loss_share * 100,
        "exposed": result.exposed,
        "hits": [_hit_row(hit, names) for hit in detail.hits],
    }

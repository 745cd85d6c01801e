"""Stress scenarios in detail: each scenario's shocks, the positions it hits and their losses.

The report keeps one figure per scenario (``ScenarioResult``); the stress page also shows where
each loss comes from. A position here is one stress aggregate (custody group, issuer group,
asset, asset kind), the finest key the shocks select on. The losses of a scenario's hits add up
exactly to its ``ScenarioResult.loss``: both compound the same shocks, v * (1 - Π (1 - f)).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from riskmodels.engine.arith import ONE, ZERO, exact
from riskmodels.engine.book import build_book, build_registry
from riskmodels.engine.exposure import StressKey, build_rollup, group_exposures
from riskmodels.engine.inputs import Counterparty, Position
from riskmodels.engine.investor import investor_view_of
from riskmodels.engine.outputs import MONEY, ScenarioResult
from riskmodels.engine.policy import DEFAULT_POLICY, Policy
from riskmodels.engine.report import presets_for
from riskmodels.engine.stress import Scenario, StressBook


@dataclass(frozen=True, slots=True)
class PositionHit:
    """One stress aggregate a scenario touches: its value, the fraction lost and the loss."""

    custody_group: str | None
    issuer_group: str | None
    asset: str
    asset_kind: str
    loss_fraction: Decimal
    value: Decimal = field(metadata=MONEY)
    loss: Decimal = field(metadata=MONEY)


@dataclass(frozen=True, slots=True)
class ScenarioDetail:
    """A scenario (preset or custom), its result and the positions it hits, largest loss first."""

    scenario: Scenario
    preset: bool
    result: ScenarioResult
    hits: tuple[PositionHit, ...]


def _survival(key: StressKey, scenario: Scenario) -> Decimal | None:
    """Π (1 - f) over the shocks matching ``key``; None when no shock matches it."""
    survival: Decimal | None = None
    for shock in scenario.shocks:
        if all(key[i] == v for i, v in shock.selectors):
            survival = (ONE if survival is None else survival) * (ONE - shock.fraction)
    return survival


@exact
def scenario_hits(
    values: Mapping[StressKey, Decimal], scenario: Scenario
) -> tuple[PositionHit, ...]:
    """Every positive aggregate at least one shock of ``scenario`` matches, largest loss first."""
    hits = []
    for key, value in values.items():
        survival = _survival(key, scenario)
        if survival is None or value <= ZERO:
            continue
        lost = ONE - survival
        custody, issuer, asset, kind = key
        hits.append(PositionHit(custody, issuer, asset, kind, lost, value, value * lost))
    hits.sort(key=lambda h: (-h.loss, -h.value, h.custody_group or "", h.asset))
    return tuple(hits)


@exact
def stress_details(
    positions: Iterable[Position],
    counterparties: Iterable[Counterparty],
    *,
    scenarios: Iterable[Scenario] = (),
    policy: Policy = DEFAULT_POLICY,
    stake: Decimal = ONE,
) -> tuple[ScenarioDetail, ...]:
    """The presets (as ``build_report`` makes them) then ``scenarios``, each with its hits.

    1. Aggregate the positions and roll them up, as ``build_report`` does.
    2. Run every scenario on the stress aggregates; list the aggregates each one hits.
    3. Seen through a stake, every money figure is scaled by the engine's investor view.
    """
    registry = build_registry(counterparties)
    rollup = build_rollup(build_book(positions, registry, policy.earn_products))
    presets = presets_for(rollup, group_exposures(rollup))
    book = StressBook(rollup.stress)
    details = tuple(
        ScenarioDetail(
            scenario,
            preset,
            book.run(scenario, rollup.nav),
            scenario_hits(rollup.stress, scenario),
        )
        for preset, group in ((True, presets), (False, tuple(scenarios)))
        for scenario in group
    )
    return details if stake == ONE else investor_view_of(details, stake)

"""The engine's entry point: positions and counterparties in, one frozen Report out."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from riskmodels.engine.actions import cure_actions
from riskmodels.engine.arith import ONE, exact, share
from riskmodels.engine.book import Book, build_book, build_registry
from riskmodels.engine.exposure import (
    Rollup,
    allocation,
    build_rollup,
    categories,
    concentration,
    earn_by_group,
    group_exposures,
)
from riskmodels.engine.inputs import Counterparty, Position
from riskmodels.engine.limits import findings, moves, stale_locations
from riskmodels.engine.liquidity import LockedAmount, locked_by_group
from riskmodels.engine.outputs import CategoryExposure, GroupExposure, Holding, Report
from riskmodels.engine.policy import DEFAULT_POLICY, Policy
from riskmodels.engine.stress import Scenario, StressBook, preset_scenarios, run_scenarios

ALL = "all"


@exact
def build_report(
    positions: Iterable[Position],
    counterparties: Iterable[Counterparty],
    *,
    as_of: datetime,
    policy: Policy = DEFAULT_POLICY,
    scenarios: Iterable[Scenario] = (),
    presets: bool = True,
    locks: Iterable[LockedAmount] = (),
) -> Report:
    """Compute the whole report.

    1. Aggregate positions per key (one pass) and check them against the registry.
    2. Roll the aggregates up into buckets, groups and categories.
    3. Derive allocation, look-through exposures and concentration.
    4. Evaluate limits, what to move and what would cure each finding (move, convert or
       blocked), then the preset and the given stress scenarios.
    """
    if as_of.utcoffset() is None:
        raise ValueError("as_of must be timezone-aware")
    registry = build_registry(counterparties)
    book = build_book(positions, registry, policy.earn_products)
    rollup = build_rollup(book)
    exposures = group_exposures(rollup)
    nav = rollup.nav
    all_scenarios = (*(_presets(rollup, exposures) if presets else ()), *scenarios)
    found = findings(rollup, exposures, book, policy, as_of)
    return Report(
        as_of=as_of,
        stake=ONE,
        allocation=allocation(rollup),
        exposures=exposures,
        concentration=concentration(rollup, exposures, policy.large_exposure),
        exchange_custody=CategoryExposure(
            ALL, rollup.exchange_custody, share(rollup.exchange_custody, nav)
        ),
        earn=earn_by_group(rollup),
        stablecoin_issuers=categories(rollup.stablecoins, nav),
        algo_stablecoins=CategoryExposure(ALL, rollup.algo, share(rollup.algo, nav)),
        exchange_tokens=categories(rollup.tokens, nav),
        wrong_way=_wrong_way(book),
        stale=stale_locations(book, as_of, policy),
        unpriced=tuple(_holding(book, p, None) for p in book.unpriced),
        unclassified=tuple(_holding(book, p, _value(p)) for p in book.unclassified),
        findings=found,
        moves=moves(exposures, policy, nav),
        scenarios=run_scenarios(StressBook(rollup.stress), all_scenarios, nav),
        nav=nav,
        gross_assets=rollup.gross,
        debts=rollup.debts,
        locked=locked_by_group(locks, registry, as_of),
        actions=cure_actions(rollup, exposures, found),
    )


def _presets(rollup: Rollup, exposures: tuple[GroupExposure, ...]) -> tuple[Scenario, ...]:
    """Presets for the groups and stablecoin issuers this portfolio holds assets with."""
    groups = [e.group for e in exposures if e.total > 0]
    # Depeg presets are for fiat-backed coins; crypto-backed ones (DAI) count in the issuer
    # limit but need a custom scenario.
    issuers = sorted(
        {ig for (_, ig, _, kind) in rollup.stress if kind == "fiat_stablecoin" and ig is not None}
    )
    unissued = sorted(
        {
            asset
            for (_, ig, asset, kind) in rollup.stress
            if kind == "fiat_stablecoin" and ig is None
        }
    )
    return preset_scenarios(groups, issuers, unissued)


def presets_for(rollup: Rollup, exposures: tuple[GroupExposure, ...]) -> tuple[Scenario, ...]:
    """The preset scenarios build_report runs for this rollup (the stress page lists them)."""
    return _presets(rollup, exposures)


def _value(position: Position) -> Decimal | None:
    return None if position.price_usd is None else position.amount * position.price_usd


def _holding(book: Book, position: Position, value: Decimal | None) -> Holding:
    custodian = position.custodian
    return Holding(
        location_id=position.location_id,
        custody_group=None if custodian is None else book.registry.group_of(custodian),
        custodian=custodian,
        asset=position.asset,
        issuer=position.issuer,
        product=position.product,
        amount=position.amount,
        value=value,
    )


def _wrong_way(book: Book) -> tuple[Holding, ...]:
    """Holdings issued by their custodian's own group, largest first."""
    listed = [(v, _holding(book, p, v)) for p, v in book.wrong_way]
    listed.sort(key=lambda pair: (-pair[0], pair[1].custody_group, pair[1].asset))
    return tuple(holding for _, holding in listed)

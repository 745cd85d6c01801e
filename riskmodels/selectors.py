"""Reads that feed the engine: a portfolio's current holdings, prices, counterparties, scenarios.

Every read is one query over plain values (values_list, no model instances), so the number of
queries does not grow with the number of holdings and rows cost tuples, not objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import OuterRef, Q, Subquery

from portfolio.models import Asset, Counterparty, CustodyLocation, Holding, HoldingSnapshot, Price
from riskmodels import engine
from riskmodels.models import ExposureSnapshot, StressShock

# (location id, asset id, product, amount): one current holding.
HoldingRow = tuple[int, int, str, Decimal]


@dataclass(frozen=True, slots=True)
class LocationRow:
    kind: str
    custodian: str | None
    snapshot_id: int
    taken_at: datetime


@dataclass(frozen=True, slots=True)
class AssetRow:
    code: str
    kind: str
    issuer: str | None
    # The latest price; None when the asset has none (unpriced, never zero).
    price: Decimal | None


@dataclass(frozen=True, slots=True)
class Registry:
    """Every counterparty as the engine sees it, plus slugs and groups by database id."""

    counterparties: tuple[engine.Counterparty, ...]
    slugs: dict[int, str]
    groups: dict[int, str]


@dataclass(frozen=True, slots=True)
class PortfolioInputs:
    """A portfolio's current holdings as plain rows, with what the engine needs to value them."""

    locations: dict[int, LocationRow]
    assets: dict[int, AssetRow]
    holdings: list[HoldingRow]

    @property
    def data_as_of(self) -> datetime | None:
        """The oldest current snapshot: the report is no fresher than its stalest location."""
        return min((loc.taken_at for loc in self.locations.values()), default=None)

    def positions(self) -> Iterator[engine.Position]:
        """One engine Position per holding."""
        locations, assets = self.locations, self.assets
        for location_id, asset_id, product, amount in self.holdings:
            loc, asset = locations[location_id], assets[asset_id]
            yield engine.Position(
                location_id,
                loc.kind,
                loc.custodian,
                asset.code,
                asset.kind,
                asset.issuer,
                product,
                amount,
                asset.price,
                loc.taken_at,
            )


def top_groups(parents: dict[int, int | None]) -> dict[int, int]:
    """Each counterparty's top-level ancestor, however deep, walking each chain once."""
    found: dict[int, int] = {}
    for start in parents:
        chain, node = [], start
        while node not in found and parents.get(node) is not None:
            if node in chain:
                raise ValueError(f"counterparty {node} is its own ancestor")
            chain.append(node)
            node = parents[node]
        top = found.get(node, node)
        for member in (*chain, node):
            found[member] = top
    return found


def load_registry() -> Registry:
    """Every counterparty in ONE query; groups are resolved in Python."""
    rows = list(
        Counterparty.objects.values_list("pk", "slug", "parent_id", "kind", "rating_tier", "status")
    )
    slugs = {pk: slug for pk, slug, *_ in rows}
    top = top_groups({pk: parent for pk, _, parent, *_ in rows})
    groups = {pk: slugs[top[pk]] for pk in slugs}
    counterparties = tuple(
        engine.Counterparty(slug, groups[pk], kind, tier, status)
        for pk, slug, _, kind, tier, status in rows
    )
    return Registry(counterparties, slugs, groups)


def load_locations(portfolio_id: int, slugs: dict[int, str]) -> dict[int, LocationRow]:
    """The portfolio's locations that have a snapshot, each with its latest one."""
    latest = HoldingSnapshot.objects.filter(location=OuterRef("pk")).order_by("-taken_at", "-pk")
    rows = (
        CustodyLocation.objects.filter(portfolio_id=portfolio_id)
        .annotate(
            snapshot_id=Subquery(latest.values("pk")[:1]),
            taken_at=Subquery(latest.values("taken_at")[:1]),
        )
        .exclude(snapshot_id=None)
        .values_list("pk", "kind", "custodian_id", "snapshot_id", "taken_at")
    )
    return {
        pk: LocationRow(kind, None if custodian is None else slugs[custodian], snapshot, taken)
        for pk, kind, custodian, snapshot, taken in rows
    }


def load_holdings(locations: dict[int, LocationRow]) -> list[HoldingRow]:
    """The holdings of those latest snapshots, keyed by location instead of snapshot."""
    location_of = {loc.snapshot_id: pk for pk, loc in locations.items()}
    rows = Holding.objects.filter(snapshot_id__in=list(location_of)).values_list(
        "snapshot_id", "asset_id", "product", "amount"
    )
    return [
        (location_of[snapshot], asset, product, amount) for snapshot, asset, product, amount in rows
    ]


def load_assets(asset_ids: Iterable[int], slugs: dict[int, str]) -> dict[int, AssetRow]:
    """The assets held, each with its latest price (by time, then by row for equal times)."""
    latest = Price.objects.filter(asset=OuterRef("pk")).order_by("-as_of", "-pk")
    rows = (
        Asset.objects.filter(pk__in=sorted(set(asset_ids)))
        .annotate(price=Subquery(latest.values("price_usd")[:1]))
        .values_list("pk", "code", "kind", "issuer_id", "price")
    )
    return {
        pk: AssetRow(code, kind, None if issuer is None else slugs[issuer], price)
        for pk, code, kind, issuer, price in rows
    }


def load_inputs(portfolio_id: int, registry: Registry) -> PortfolioInputs:
    """Current holdings, their locations and their assets: three queries whatever the size."""
    locations = load_locations(portfolio_id, registry.slugs)
    holdings = load_holdings(locations)
    assets = load_assets((asset for _, asset, _, _ in holdings), registry.slugs)
    return PortfolioInputs(locations, assets, holdings)


def load_scenarios(portfolio_id: int, registry: Registry) -> tuple[engine.Scenario, ...]:
    """The global and the portfolio's custom stress scenarios as engine Scenarios, by name."""
    rows = (
        StressShock.objects.filter(
            Q(scenario__portfolio__isnull=True) | Q(scenario__portfolio_id=portfolio_id)
        )
        .order_by("scenario__name", "scenario_id", "pk")
        .values_list(
            "scenario_id",
            "scenario__name",
            "fraction",
            "custody_group_id",
            "issuer_group_id",
            "asset__code",
            "asset_kind",
        )
    )
    scenarios: dict[int, tuple[str, list[engine.Shock]]] = {}
    for scenario_id, name, fraction, custody, issuer, asset, kind in rows:
        shock = engine.Shock(
            fraction,
            # A shock names groups; mapping through the group keeps an entity from missing.
            custody_group=None if custody is None else registry.groups[custody],
            issuer_group=None if issuer is None else registry.groups[issuer],
            asset=asset,
            asset_kind=kind or None,
        )
        scenarios.setdefault(scenario_id, (name, []))[1].append(shock)
    return tuple(engine.Scenario(name, tuple(shocks)) for name, shocks in scenarios.values())


def latest_exposure(portfolio_id: int) -> ExposureSnapshot | None:
    """The portfolio's latest stored exposure snapshot, without its (large) report."""
    return (
        ExposureSnapshot.objects.filter(portfolio_id=portfolio_id)
        .order_by("-computed_at", "-pk")
        .only("pk", "computed_at", "inputs_digest", "holdings_digest")
        .first()
    )


def exposure_at(portfolio_id: int, at: datetime | None = None) -> ExposureSnapshot | None:
    """The latest snapshot computed at or before ``at`` (the latest of all without it)."""
    snapshots = ExposureSnapshot.objects.filter(portfolio_id=portfolio_id)
    if at is not None:
        snapshots = snapshots.filter(computed_at__lte=at)
    return snapshots.select_related("portfolio").order_by("-computed_at", "-pk").first()

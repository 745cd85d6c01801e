"""First pass: positions aggregated per key, so that everything after works on a few thousand
aggregates instead of every position.

The key of an aggregate is (custodian entity, issuer entity, asset, asset kind, is-earn): all that
exposures, limits and stress need. Location-level facts (snapshot time, gross value) are kept per
location; the few holdings that must be listed one by one (unpriced, unclassified, wrong-way) are
collected in the same pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType

from riskmodels.engine.arith import ZERO
from riskmodels.engine.inputs import Counterparty, LocationId, Position

# (custodian slug or None, issuer slug or None, asset code, asset kind, product is earn/lending)
HoldingKey = tuple[str | None, str | None, str, str, bool]


class EngineInputError(ValueError):
    """The positions and the counterparty registry do not fit together."""


@dataclass(frozen=True, slots=True)
class Registry:
    """Counterparties by slug, each resolvable to its top-level group's own row."""

    by_slug: Mapping[str, Counterparty]

    def group_of(self, slug: str) -> str:
        return self.by_slug[slug].group

    def group_row(self, group: str) -> Counterparty:
        return self.by_slug[group]

    def kind_of(self, slug: str) -> str:
        return self.by_slug[slug].kind

    def same_group_pairs(self) -> frozenset[tuple[str, str]]:
        """Every (custodian, issuer) pair of entities in one group: the wrong-way pairs."""
        members: dict[str, list[str]] = {}
        for slug, row in self.by_slug.items():
            members.setdefault(row.group, []).append(slug)
        return frozenset((a, b) for group in members.values() for a in group for b in group)


def build_registry(counterparties: Iterable[Counterparty]) -> Registry:
    """Index counterparties and check that every group is a top-level row of the registry."""
    by_slug: dict[str, Counterparty] = {}
    for row in counterparties:
        if row.slug in by_slug:
            raise EngineInputError(f"duplicate counterparty slug {row.slug!r}")
        by_slug[row.slug] = row
    for row in by_slug.values():
        group_row = by_slug.get(row.group)
        if group_row is None or group_row.group != group_row.slug:
            raise EngineInputError(f"{row.slug!r}: group {row.group!r} is not a top-level row")
    return Registry(MappingProxyType(by_slug))


@dataclass(slots=True)
class LocationFacts:
    """Per location: its oldest snapshot time, gross (positive) value, kind and custodian."""

    as_of: datetime
    value: Decimal
    kind: str
    custodian: str | None


@dataclass(frozen=True, slots=True)
class Book:
    """The aggregated portfolio: the only thing the later stages read."""

    registry: Registry
    assets: Mapping[HoldingKey, Decimal]
    debts: Mapping[HoldingKey, Decimal]
    locations: Mapping[LocationId, LocationFacts]
    unpriced: tuple[Position, ...]
    unclassified: tuple[Position, ...]
    wrong_way: tuple[tuple[Position, Decimal], ...]


def build_book(
    positions: Iterable[Position], registry: Registry, earn_products: frozenset[str]
) -> Book:
    """Aggregate positions, then check every slug they name against the registry."""
    book = _accumulate(positions, registry, earn_products)
    _check_slugs(book)
    return book


# The hot loop stays inline in one function: a call per position would cost a third more time.
def _accumulate(
    positions: Iterable[Position], registry: Registry, earn_products: frozenset[str]
) -> Book:
    """One pass over the positions.

    1. Record the location's oldest snapshot time (all of a snapshot's positions share it).
    2. List unclassified holdings (priced or not) and unpriced ones; unpriced stop here: a missing
       price is an alert, never a zero, so they stay out of every money figure.
    3. Value v = amount * price, added to the key's asset sum (v > 0) or debt sum (v < 0).
    4. Positive holdings issued by their custodian's group are listed as wrong-way.
    """
    assets: dict[HoldingKey, Decimal] = {}
    debts: dict[HoldingKey, Decimal] = {}
    locations: dict[LocationId, LocationFacts] = {}
    unpriced: list[Position] = []
    unclassified: list[Position] = []
    wrong_way: list[tuple[Position, Decimal]] = []
    wrong_pairs = registry.same_group_pairs()
    for p in positions:
        facts = locations.get(p.location_id)
        if facts is None:
            locations[p.location_id] = facts = LocationFacts(
                p.data_as_of, ZERO, p.location_kind, p.custodian
            )
        elif p.data_as_of < facts.as_of:
            facts.as_of = p.data_as_of
        if p.asset_kind == "unclassified" and p.amount:
            unclassified.append(p)
        if p.price_usd is None:
            if p.amount:
                unpriced.append(p)
            continue
        v = p.amount * p.price_usd
        key = (p.custodian, p.issuer, p.asset, p.asset_kind, p.product in earn_products)
        if v > 0:
            assets[key] = assets.get(key, ZERO) + v
            facts.value += v
            if p.issuer is not None and (p.custodian, p.issuer) in wrong_pairs:
                wrong_way.append((p, v))
        elif v < 0:
            debts[key] = debts.get(key, ZERO) + v
    return Book(
        registry,
        MappingProxyType(assets),
        MappingProxyType(debts),
        MappingProxyType(locations),
        tuple(unpriced),
        tuple(unclassified),
        tuple(wrong_way),
    )


def _check_slugs(book: Book) -> None:
    """Every custodian and issuer named by a position must be in the registry.

    An unknown counterparty is an error, not an "unrated" guess: a registry gap would otherwise
    silently pick a limit for it.
    """
    named = {slug for key in (*book.assets, *book.debts) for slug in key[:2] if slug is not None}
    named |= {p.custodian for p in book.unpriced if p.custodian is not None}
    named |= {p.issuer for p in book.unpriced if p.issuer is not None}
    missing = sorted(named - set(book.registry.by_slug))
    if missing:
        raise EngineInputError(f"counterparties missing from the registry: {missing}")

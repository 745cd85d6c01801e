"""Second pass: from aggregates to allocation, look-through exposures and concentration.

Counterparty figures count assets only (v > 0). A debt reduces NAV, and is shown beside the
bucket or group it is owed to, but it never offsets an exposure: set-off against a failed venue is
a question for its insolvency court, and a loan must not be a way to make a concentration vanish.
This also keeps the allocation summing to gross assets and each look-through exposure between its
custody part and custody + issuer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from riskmodels.engine.arith import (
    COUNT_QUANTUM,
    HHI_QUANTUM,
    TEN_THOUSAND,
    ZERO,
    ratio,
    share,
)
from riskmodels.engine.book import Book, HoldingKey, Registry
from riskmodels.engine.inputs import SELF_CUSTODY
from riskmodels.engine.outputs import (
    AllocationBucket,
    CategoryExposure,
    Concentration,
    GroupExposure,
)

# (custody group or None, issuer group or None, asset, asset kind): the stress aggregates.
StressKey = tuple[str | None, str | None, str, str]
NO_ISSUER = "(no issuer)"


@dataclass(slots=True)
class GroupParts:
    """Running look-through parts of one group."""

    custody: Decimal = ZERO
    issuer: Decimal = ZERO
    overlap: Decimal = ZERO
    earn: Decimal = ZERO
    debts: Decimal = ZERO
    entities: set[str] = field(default_factory=set)

    @property
    def total(self) -> Decimal:
        """A position named by both layers counts once."""
        return self.custody + self.issuer - self.overlap


@dataclass(slots=True)
class Rollup:
    """Everything summed once over the aggregates (internal, mutable while built)."""

    registry: Registry
    gross: Decimal = ZERO
    debts: Decimal = ZERO
    buckets: dict[str, Decimal] = field(default_factory=dict)
    bucket_debts: dict[str, Decimal] = field(default_factory=dict)
    groups: dict[str, GroupParts] = field(default_factory=dict)
    entities: dict[str, Decimal] = field(default_factory=dict)
    # Assets each custodian entity holds (the custody part of ``entities``).
    entity_custody: dict[str, Decimal] = field(default_factory=dict)
    exchange_custody: Decimal = ZERO
    stablecoins: dict[str, Decimal] = field(default_factory=dict)
    algo: Decimal = ZERO
    tokens: dict[str, Decimal] = field(default_factory=dict)
    stress: dict[StressKey, Decimal] = field(default_factory=dict)

    @property
    def nav(self) -> Decimal:
        return self.gross + self.debts

    def parts(self, group: str) -> GroupParts:
        found = self.groups.get(group)
        if found is None:
            found = self.groups[group] = GroupParts()
        return found


K = TypeVar("K")


def _add(into: dict[K, Decimal], key: K, value: Decimal) -> None:
    into[key] = into.get(key, ZERO) + value


def build_rollup(book: Book) -> Rollup:
    """Sum assets and debts of every aggregate into the report's dimensions."""
    rollup = Rollup(book.registry)
    for key, value in book.assets.items():
        _add_asset(rollup, key, value)
    for key, value in book.debts.items():
        _add_debt(rollup, key, value)
    return rollup


def _add_asset(rollup: Rollup, key: HoldingKey, value: Decimal) -> None:
    """One aggregate of assets: custody layer, issuer layer, categories, stress key."""
    custodian, issuer, asset, kind, earn = key
    registry = rollup.registry
    custody_group = None if custodian is None else registry.group_of(custodian)
    issuer_group = None if issuer is None else registry.group_of(issuer)
    rollup.gross += value
    _add(rollup.buckets, custody_group or SELF_CUSTODY, value)
    if custodian is not None and custody_group is not None:
        _add_custody(rollup, custodian, custody_group, earn, value)
    if issuer is not None and issuer_group is not None:
        parts = rollup.parts(issuer_group)
        parts.issuer += value
        parts.entities.add(issuer)
        if issuer != custodian:
            _add(rollup.entities, issuer, value)
        if issuer_group == custody_group:
            parts.overlap += value
    _add_category(rollup, kind, issuer_group, asset, value)
    _add(rollup.stress, (custody_group, issuer_group, asset, kind), value)


def _add_custody(rollup: Rollup, custodian: str, group: str, earn: bool, value: Decimal) -> None:
    """The custody layer of a held aggregate."""
    parts = rollup.parts(group)
    parts.custody += value
    parts.entities.add(custodian)
    _add(rollup.entities, custodian, value)
    _add(rollup.entity_custody, custodian, value)
    if earn:
        parts.earn += value
    # Exchange custody follows the legal entity that holds the assets, not the account type:
    # under off-exchange settlement the account is on an exchange but a custodian holds them.
    if rollup.registry.kind_of(custodian) == "exchange":
        rollup.exchange_custody += value


def _add_category(
    rollup: Rollup, kind: str, issuer_group: str | None, asset: str, value: Decimal
) -> None:
    """Asset-kind limits: stablecoin issuers, algorithmic stablecoins, exchange tokens."""
    # Crypto-collateralised stablecoins (DAI) count towards their issuer like fiat-backed ones.
    if kind in ("fiat_stablecoin", "crypto_stablecoin"):
        _add(rollup.stablecoins, issuer_group or NO_ISSUER, value)
    elif kind == "algo_stablecoin":
        rollup.algo += value
    elif kind == "exchange_token":
        _add(rollup.tokens, asset, value)


def _add_debt(rollup: Rollup, key: HoldingKey, value: Decimal) -> None:
    """A debt lowers NAV and is shown at its custody bucket and group, never netted."""
    custodian = key[0]
    group = None if custodian is None else rollup.registry.group_of(custodian)
    rollup.debts += value
    _add(rollup.bucket_debts, group or SELF_CUSTODY, value)
    if group is not None:
        rollup.parts(group).debts += value


def _by_value(items: dict[str, Decimal]) -> list[tuple[str, Decimal]]:
    """Largest first, ties by name, so that reports are deterministic."""
    return sorted(items.items(), key=lambda item: (-item[1], item[0]))


def allocation(rollup: Rollup) -> tuple[AllocationBucket, ...]:
    """Primary allocation: one bucket per custodian group plus self-custody."""
    names = set(rollup.buckets) | set(rollup.bucket_debts)
    values = {name: rollup.buckets.get(name, ZERO) for name in names}
    return tuple(
        AllocationBucket(
            bucket=name,
            value=value,
            debts=rollup.bucket_debts.get(name, ZERO),
            share=share(value, rollup.nav),
        )
        for name, value in _by_value(values)
    )


def group_exposures(rollup: Rollup) -> tuple[GroupExposure, ...]:
    """Look-through exposure of every group the portfolio touches, largest first."""
    totals = {group: parts.total for group, parts in rollup.groups.items()}
    return tuple(_group_exposure(rollup, group) for group, _ in _by_value(totals))


def _group_exposure(rollup: Rollup, group: str) -> GroupExposure:
    parts = rollup.groups[group]
    row = rollup.registry.group_row(group)
    return GroupExposure(
        group=group,
        tier=row.tier,
        status=row.status,
        custody=parts.custody,
        issuer=parts.issuer,
        overlap=parts.overlap,
        total=parts.total,
        earn=parts.earn,
        debts=parts.debts,
        share=share(parts.total, rollup.nav),
        entities=tuple(sorted(parts.entities)),
    )


def hhi_fraction(values: list[Decimal]) -> tuple[Decimal, Decimal]:
    """HHI as an exact fraction (numerator, denominator) of bucket values.

    Shares are re-based over the buckets' own total T: HHI = 10,000 * Σ b² / T². Over all buckets
    T is gross assets (so the index stays within 0..10,000 even with debts); without self-custody
    T is the third-party total, which the design's worked check (2,889) requires.
    """
    total = sum(values, ZERO)
    return TEN_THOUSAND * sum((v * v for v in values), ZERO), total * total


def _hhi_figures(values: list[Decimal]) -> tuple[Decimal, Decimal | None]:
    """(HHI rounded to 0.01 point, effective N = 10,000 / HHI from the exact HHI, to 0.01)."""
    num, den = hhi_fraction(values)
    if num == 0:
        return ZERO, None
    return ratio(num, den, HHI_QUANTUM), ratio(TEN_THOUSAND * den, num, COUNT_QUANTUM)


def third_party_values(rollup: Rollup) -> list[Decimal]:
    return [v for name, v in rollup.buckets.items() if name != SELF_CUSTODY]


def concentration(
    rollup: Rollup, exposures: tuple[GroupExposure, ...], large: Decimal
) -> Concentration:
    """HHI with and without self-custody, top-N third-party buckets, large exposures."""
    hhi, effective = _hhi_figures(list(rollup.buckets.values()))
    hhi_tp, effective_tp = _hhi_figures(third_party_values(rollup))
    ranked = _by_value({k: v for k, v in rollup.buckets.items() if k != SELF_CUSTODY})
    large_groups = _large_groups(exposures, rollup.nav, large)
    large_total = _union_value(rollup, set(large_groups))
    return Concentration(
        hhi=hhi,
        hhi_third_party=hhi_tp,
        effective_n=effective,
        effective_n_third_party=effective_tp,
        top_groups=tuple(name for name, _ in ranked[:3]),
        top1_share=share(sum((v for _, v in ranked[:1]), ZERO), rollup.nav),
        top3_share=share(sum((v for _, v in ranked[:3]), ZERO), rollup.nav),
        large_groups=large_groups,
        large_exposure_total=large_total,
        large_exposure_share=share(large_total, rollup.nav),
    )


def _large_groups(
    exposures: tuple[GroupExposure, ...], nav: Decimal, large: Decimal
) -> tuple[str, ...]:
    """Groups at or above the large-exposure line (every exposed group when NAV ≤ 0)."""
    if nav <= 0:
        return tuple(e.group for e in exposures if e.total > 0)
    return tuple(e.group for e in exposures if e.total >= large * nav)


def _union_value(rollup: Rollup, groups: set[str]) -> Decimal:
    """Value that depends on at least one of ``groups``, each position counted once.

    Look-through totals are never added across groups (USDT held on Binance is in both Binance's
    and Tether's); the union is what "the sum of the large exposures" can honestly mean.
    """
    return sum(
        (v for (cg, ig, _, _), v in rollup.stress.items() if cg in groups or ig in groups), ZERO
    )


def categories(items: dict[str, Decimal], nav: Decimal) -> tuple[CategoryExposure, ...]:
    """One CategoryExposure per subject, largest first."""
    return tuple(CategoryExposure(name, v, share(v, nav)) for name, v in _by_value(items))


def earn_by_group(rollup: Rollup) -> tuple[CategoryExposure, ...]:
    """Earn/lending (and custodial staking) value held at each group."""
    earn = {group: parts.earn for group, parts in rollup.groups.items() if parts.earn > 0}
    return categories(earn, rollup.nav)

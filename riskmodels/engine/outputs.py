"""Engine outputs: the frozen Report and its parts.

Every field that an investor's stake scales (USD figures and amounts of assets) is declared with
``field(metadata=MONEY)``; the investor view multiplies exactly those and leaves shares, HHI, ages
and thresholds alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType

from riskmodels.engine.inputs import LocationId

SCALED = "scaled"
# Metadata of a field that is money (or an amount of an asset) owned pro rata by investors.
MONEY = MappingProxyType({SCALED: True})


@dataclass(frozen=True, slots=True)
class AllocationBucket:
    """One primary-allocation (custody view) bucket: a custodian group or self-custody.

    ``value`` counts assets only, so that the buckets sum to gross assets; debts owed at the same
    bucket are shown beside it, never netted into it.
    """

    bucket: str
    value: Decimal = field(metadata=MONEY)
    debts: Decimal = field(metadata=MONEY)
    share: Decimal | None = None


@dataclass(frozen=True, slots=True)
class GroupExposure:
    """Look-through exposure to one counterparty group: E = custody + issuer - overlap."""

    group: str
    tier: str
    status: str
    custody: Decimal = field(metadata=MONEY)
    issuer: Decimal = field(metadata=MONEY)
    overlap: Decimal = field(metadata=MONEY)
    total: Decimal = field(metadata=MONEY)
    earn: Decimal = field(metadata=MONEY)
    debts: Decimal = field(metadata=MONEY)
    share: Decimal | None = None
    entities: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Concentration:
    """Concentration of the primary allocation and the large look-through exposures."""

    hhi: Decimal
    hhi_third_party: Decimal
    effective_n: Decimal | None
    effective_n_third_party: Decimal | None
    top_groups: tuple[str, ...]
    top1_share: Decimal | None
    top3_share: Decimal | None
    large_groups: tuple[str, ...]
    large_exposure_total: Decimal = field(metadata=MONEY)
    large_exposure_share: Decimal | None = None


@dataclass(frozen=True, slots=True)
class CategoryExposure:
    """Value of one category (exchange custody, one group's earn, one issuer, one token...)."""

    subject: str
    value: Decimal = field(metadata=MONEY)
    share: Decimal | None = None


@dataclass(frozen=True, slots=True)
class LockedGroup:
    """Value locked at one custody group (earn, staking) that a withdrawal asked for now would
    still not release after 7 days, and after 30; `unpriced` counts locked amounts beyond 7 days
    that have no price (not in the figures)."""

    group: str
    beyond_7d: Decimal = field(metadata=MONEY)
    beyond_30d: Decimal = field(metadata=MONEY)
    unpriced: int = 0


@dataclass(frozen=True, slots=True)
class Holding:
    """One listed holding (wrong-way, unpriced or unclassified); ``value`` None when unpriced."""

    location_id: LocationId
    custody_group: str | None
    custodian: str | None
    asset: str
    issuer: str | None
    product: str
    amount: Decimal = field(metadata=MONEY)
    value: Decimal | None = field(metadata=MONEY)


@dataclass(frozen=True, slots=True)
class StaleLocation:
    """A location whose holdings snapshot is older than the stale-data warn level."""

    location_id: LocationId
    location_kind: str
    custodian: str | None
    data_as_of: datetime
    age_hours: Decimal
    value: Decimal = field(metadata=MONEY)


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule evaluated on one subject; ``value`` is in the rule's unit (share, points...)."""

    rule: str
    subject: str
    value: Decimal | None
    warn: Decimal | None
    breach: Decimal | None
    level: str
    amount: Decimal | None = field(metadata=MONEY)


@dataclass(frozen=True, slots=True)
class MoveSuggestion:
    """What to move to self-custody to bring a group back to its warn level.

    ``amount`` = E(X) - warn * NAV; moving to self-custody leaves NAV unchanged. Only the part held
    by the group and not issued by it (``movable`` = custody - overlap) can be moved: its own
    tokens stay an issuer exposure wherever they sit, and a halted or insolvent venue moves
    nothing. ``sufficient`` says whether moving alone can
    do it; ``share_after`` is the share once min(amount, movable) is moved.
    """

    group: str
    target_share: Decimal
    sufficient: bool
    share_after: Decimal | None
    exposure: Decimal = field(metadata=MONEY)
    amount: Decimal = field(metadata=MONEY)
    movable: Decimal = field(metadata=MONEY)


@dataclass(frozen=True, slots=True)
class CureAction:
    """What would bring one finding over a share-of-NAV limit back to its target share.

    ``amount`` = value - target * NAV (the target is the warn level, else the breach level),
    split into ``move`` (held by the subject, issued by another, at a venue that pays out: to
    self-custody or another custodian), ``convert`` (issued by the subject: sell or swap it)
    and ``blocked`` (held where withdrawals are halted or the venue is insolvent: a claim).
    move + convert + blocked = amount, each part >= 0.
    """

    rule: str
    subject: str
    level: str
    target_share: Decimal
    amount: Decimal = field(metadata=MONEY)
    move: Decimal = field(metadata=MONEY)
    convert: Decimal = field(metadata=MONEY)
    blocked: Decimal = field(metadata=MONEY)


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    """Loss of one stress scenario; ``exposed`` is the gross value its shocks touch."""

    name: str
    loss_share: Decimal | None
    loss: Decimal = field(metadata=MONEY)
    exposed: Decimal = field(metadata=MONEY)


@dataclass(frozen=True, slots=True)
class Report:
    """Everything the engine says about one portfolio (or one investor's stake in it)."""

    as_of: datetime
    stake: Decimal
    allocation: tuple[AllocationBucket, ...]
    exposures: tuple[GroupExposure, ...]
    concentration: Concentration
    exchange_custody: CategoryExposure
    earn: tuple[CategoryExposure, ...]
    stablecoin_issuers: tuple[CategoryExposure, ...]
    algo_stablecoins: CategoryExposure
    exchange_tokens: tuple[CategoryExposure, ...]
    wrong_way: tuple[Holding, ...]
    stale: tuple[StaleLocation, ...]
    unpriced: tuple[Holding, ...]
    unclassified: tuple[Holding, ...]
    findings: tuple[Finding, ...]
    moves: tuple[MoveSuggestion, ...]
    scenarios: tuple[ScenarioResult, ...]
    nav: Decimal = field(metadata=MONEY)
    gross_assets: Decimal = field(metadata=MONEY)
    debts: Decimal = field(metadata=MONEY)
    # Locked earn and staking per custody group (reports stored before it existed: none).
    locked: tuple[LockedGroup, ...] = ()
    # What would cure each share finding over its limit (reports stored before it: none).
    actions: tuple[CureAction, ...] = ()

    def exposure(self, group: str) -> GroupExposure | None:
        """The look-through exposure of one group, if the portfolio has any."""
        return next((e for e in self.exposures if e.group == group), None)

    def findings_for(self, rule: str) -> tuple[Finding, ...]:
        """All findings of one rule."""
        return tuple(f for f in self.findings if f.rule == rule)

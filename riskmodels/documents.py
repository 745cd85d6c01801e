"""The exposure report document (README, "Exposure report"), typed once.

``riskmodels.reports.render_report`` builds it; ``exposure_report`` prints it, the API returns it
(its serializers mirror these types, a test holds them together), the report page renders it and
the exports write it. Every number is exact decimal text (``decimal_text``), money in USD, shares of
NAV as fractions; ``None`` where a figure has no meaning.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, TypedDict

if TYPE_CHECKING:
    from portfolio.models import CustodyLocation
    from portfolio.selectors import NotCurrent, PriceNote
    from riskmodels.models import Alert, ExposureSnapshot

Level = Literal["ok", "warn", "breach"]


class AllocationRow(TypedDict):
    """One primary-allocation bucket: a custodian group or ``self-custody``."""

    bucket: str
    value: str | None
    share: str | None


class ExposureRow(TypedDict):
    """Look-through exposure to one counterparty group, with its limit."""

    group: str
    entities: list[str]
    tier: str
    custody: str | None
    issuer: str | None
    overlap: str | None
    total: str | None
    share: str | None
    warn: str | None
    breach: str | None
    status: str
    move_to_comply: str | None


class Metrics(TypedDict):
    """Concentration figures: HHI in points, shares as fractions, sums in USD."""

    hhi: str | None
    hhi_third_party: str | None
    effective_n: str | None
    top1: str | None
    top3: str | None
    large_sum: str | None
    exchange_custody: str | None


class AlertRow(TypedDict):
    """A finding at warn or breach, with its alert's state, age and cause when one is live."""

    rule: str
    subject: str
    value: str | None
    warn: str | None
    breach: str | None
    level: str
    amount: str | None
    state: str | None
    first_seen: str | None
    over_limit_hours: str | None
    cause: str | None


class StressRow(TypedDict):
    """One stress scenario's loss, in USD and as a share of NAV."""

    scenario: str
    loss: str | None
    loss_share: str | None


class LockedRow(TypedDict):
    """Value at one custody group locked (earn, staking) beyond 7 and beyond 30 days, in USD;
    `unpriced`: locked amounts beyond 7 days without a price, not in the figures."""

    group: str
    beyond_7d: str | None
    beyond_30d: str | None
    unpriced: int


class ExposureReport(TypedDict):
    """The whole documented report of one exposure snapshot."""

    nav: str | None
    generated_at: str
    data_as_of: str | None
    allocation: list[AllocationRow]
    exposures: list[ExposureRow]
    metrics: Metrics
    alerts: list[AlertRow]
    stress: list[StressRow]
    locked: list[LockedRow]


class ExposureData(TypedDict):
    """What the API returns for one snapshot: its report as the caller may see it."""

    id: int
    portfolio: str
    computed_at: datetime
    data_as_of: datetime | None
    stake: Decimal | None
    report: ExposureReport


# What the report page (and the PDF, which prints it) shows beside the document.


class LimitRow(ExposureRow):
    """An exposure row with its figures as percentages and what may still be added."""

    share_pct: Decimal | None
    warn_pct: Decimal | None
    breach_pct: Decimal | None
    headroom: Decimal | None


class LiveAlertRow(TypedDict):
    """A live alert with its value and threshold in the rule's unit (shares as percentages)."""

    alert: Alert
    value: Decimal
    threshold: Decimal
    unit: str


class Sections(TypedDict):
    """The report's lists, from the stored engine Report (JSON), with percentages added."""

    stress: list[dict[str, Any]]
    wrong_way: list[dict[str, Any]]
    stablecoins: list[dict[str, Any]]
    algo_stablecoins: dict[str, Any]
    algo_pct: Decimal | None
    exchange_tokens: list[dict[str, Any]]
    earn: list[dict[str, Any]]
    locked: list[dict[str, Any]]
    stale: list[dict[str, Any]]
    unpriced: list[dict[str, Any]]
    unclassified: list[dict[str, Any]]


class StaticPage(Sections):
    """Everything of the page that follows from one snapshot, its holdings and a stake."""

    document: ExposureReport
    stake_pct: Decimal | None
    limits: list[LimitRow]
    allocation: list[dict[str, Any]]
    metrics: dict[str, object]
    charts: dict[str, Any]


class ReportPage(StaticPage):
    """The whole report page: the static part, its cache version, the snapshot, live alerts."""

    version: str
    snapshot: ExposureSnapshot
    alerts: list[LiveAlertRow]
    # Live, never cached: locations showing their last confirmed figures, and held assets
    # whose price was refused or is older than allowed.
    not_current: list[NotCurrent]
    # Exchange locations the generic adapter reads: spot only, earn and staking not read.
    partially_read: list[CustodyLocation]
    price_notes: list[PriceNote]

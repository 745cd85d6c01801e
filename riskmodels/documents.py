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
    from riskmodels.presenter import Labels

Level = Literal["ok", "warn", "breach"]


class AllocationRow(TypedDict):
    """One primary-allocation bucket: a custodian group or ``self-custody``."""

    bucket: str
    value: str | None
    share: str | None


class ExposureRow(TypedDict):
    """Look-through exposure to one counterparty group, with its limit."""

    group: str
    name: str
    entities: list[str]
    tier: str
    custody: str | None
    issuer: str | None
    overlap: str | None
    total: str | None
    share: str | None
    warn: str | None
    breach: str | None
    # The worst finding, over every rule, on the group or one of its entities.
    status: str
    # The cure of the group limit, split: what can move (custody part), what must be sold or
    # swapped (issuer part), what is blocked at a venue that halted withdrawals or is insolvent.
    move_to_comply: str | None
    convert_to_comply: str | None
    blocked: str | None


class Metrics(TypedDict):
    """Concentration figures: HHI in points, shares as fractions, sums in USD."""

    hhi: str | None
    hhi_third_party: str | None
    effective_n: str | None
    top1: str | None
    top3: str | None
    large_sum: str | None
    exchange_custody: str | None
    exchange_custody_share: str | None
    # The largest look-through exposure: its group, display name and share of NAV.
    largest_group: str | None
    largest_name: str | None
    largest_share: str | None


class AlertRow(TypedDict):
    """A finding at warn or breach, with its alert's state, age and cause when one is live."""

    rule: str
    subject: str
    value: str | None
    warn: str | None
    breach: str | None
    name: str
    level: str
    amount: str | None
    state: str | None
    first_seen: str | None
    over_limit_hours: str | None
    cause: str | None


class ActionRow(TypedDict):
    """A finding that needs action, worst first: what, against which limit, since when, and the
    action that would cure it. ``unit``: share (of NAV), points, hours or holdings. ``amount``
    (to cure, USD) = ``move`` + ``convert`` + ``blocked`` for share rules; null otherwise."""

    rule: str
    rule_label: str
    subject: str
    name: str
    level: str
    unit: str
    value: str | None
    warn: str | None
    breach: str | None
    since: str | None
    amount: str | None
    move: str | None
    convert: str | None
    blocked: str | None
    action: str


class LiabilityRow(TypedDict):
    """Debts (negative margin, futures, loans) owed at one custody bucket, as a positive USD."""

    bucket: str
    name: str
    value: str | None


class Accounting(TypedDict):
    """Every dollar: gross_assets - liabilities_total = nav, exactly."""

    gross_assets: str | None
    liabilities: list[LiabilityRow]
    liabilities_total: str | None
    nav: str | None


class UnpricedRow(TypedDict):
    """A holding with no price: it counts as zero in every figure until priced."""

    asset: str
    amount: str | None
    product: str
    location: str
    custodian: str | None
    reason: str


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
    # The worst finding of the portfolio over every rule.
    status: str
    actions: list[ActionRow]
    accounting: Accounting
    allocation: list[AllocationRow]
    exposures: list[ExposureRow]
    metrics: Metrics
    alerts: list[AlertRow]
    unpriced: list[UnpricedRow]
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
    name: str  # the subject in words


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
    # The action list, worst first, with value and limit in the rule's unit.
    actions: list[dict[str, Any]]
    # The names shown for counterparties and locations (the live alerts use them too).
    labels: Labels
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

"""The exposure report document (README, "Exposure report"), typed once.

``riskmodels.reports.render_report`` builds it; ``exposure_report`` prints it, the API returns it
(its serializers mirror these types, a test holds them together), the report page renders it and
the exports write it. Every number is exact decimal text (``decimal_text``), money in USD, shares of
NAV as fractions; ``None`` where a figure has no meaning.
"""

from __future__ import annotations

from typing import Literal, TypedDict

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

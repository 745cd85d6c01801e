"""Risk policies with their limits, the engine's stored results, and the alerts they raise."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce

from portfolio.fields import ExactDecimalField
from portfolio.models import AMOUNT, Counterparty, Portfolio, RatingTier


class RiskPolicy(models.Model):
    """The global default (no portfolio) or one portfolio's overrides of it."""

    portfolio = models.OneToOneField(
        Portfolio, null=True, blank=True, on_delete=models.CASCADE, related_name="risk_policy"
    )
    name = models.CharField(max_length=120)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "risk policies"
        constraints = [
            # portfolio is one-to-one already; mapping "no portfolio" to 0 allows one global.
            models.UniqueConstraint(Coalesce("portfolio", 0), name="one_global_policy"),
        ]

    def __str__(self) -> str:
        return self.name


class Rule(models.TextChoices):
    GROUP = "group", "One counterparty group (look-through)"
    EXCHANGE_CUSTODY = "exchange_custody", "All exchange custody together"
    EARN_PER_GROUP = "earn_per_group", "Earn / lending at one group"
    HHI_THIRD_PARTY = "hhi_third_party", "Third-party HHI"
    STABLECOIN_ISSUER = "stablecoin_issuer", "One stablecoin issuer"
    ALGO_STABLECOINS = "algo_stablecoins", "Algorithmic stablecoins together"
    EXCHANGE_TOKEN = "exchange_token", "Any one exchange token"
    WRONG_WAY = "wrong_way", "Own token held at its own exchange"
    DISTRESSED = "distressed_counterparty", "Counterparty halted or insolvent"
    STALE_DATA = "stale_data", "Holdings data older than (hours)"
    UNPRICED = "unpriced_asset", "Unpriced asset"
    UNCLASSIFIED = "unclassified_asset", "Unclassified asset"


class Limit(models.Model):
    """A warn and a breach level for one rule, for all subjects, one rating tier or one group."""

    policy = models.ForeignKey(RiskPolicy, on_delete=models.CASCADE, related_name="limits")
    rule = models.CharField(max_length=32, choices=Rule.choices)
    rating_tier = models.CharField(max_length=8, choices=RatingTier.choices, blank=True)
    counterparty = models.ForeignKey(
        Counterparty, null=True, blank=True, on_delete=models.CASCADE, related_name="limits"
    )
    # Shares of NAV as fractions (0.25 = 25%), HHI in points, staleness in hours.
    warn = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    breach = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(rule__in=Rule.values), name="limit_rule_valid"),
            models.CheckConstraint(
                condition=Q(warn__isnull=True) | Q(breach__isnull=True) | Q(warn__lte=F("breach")),
                name="limit_warn_not_above_breach",
            ),
            models.CheckConstraint(
                condition=Q(warn__isnull=False) | Q(breach__isnull=False),
                name="limit_has_a_level",
            ),
            models.CheckConstraint(
                condition=Q(warn__isnull=True) | Q(warn__gte=0), name="limit_warn_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(rating_tier="") | Q(counterparty__isnull=True),
                name="limit_scope_tier_or_counterparty",
            ),
            models.UniqueConstraint(
                fields=["policy", "rule"],
                condition=Q(rating_tier="") & Q(counterparty__isnull=True),
                name="limit_unique_general",
            ),
            models.UniqueConstraint(
                fields=["policy", "rule", "rating_tier"],
                condition=~Q(rating_tier=""),
                name="limit_unique_per_tier",
            ),
            models.UniqueConstraint(
                fields=["policy", "rule", "counterparty"],
                condition=Q(counterparty__isnull=False),
                name="limit_unique_per_counterparty",
            ),
        ]

    def __str__(self) -> str:
        scope = self.counterparty or self.rating_tier or "all"
        return f"{self.rule} ({scope}): warn {self.warn}, breach {self.breach}"


class ExposureSnapshot(models.Model):
    """One run of the engine over a portfolio, kept as history; `report` holds every figure."""

    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="exposures")
    computed_at = models.DateTimeField()
    data_as_of = models.DateTimeField(null=True, blank=True)
    nav = ExactDecimalField(**AMOUNT)
    # Digest of the inputs: the same holdings, prices and policy make no second snapshot.
    inputs_digest = models.CharField(max_length=64)
    report = models.JSONField()

    class Meta:
        get_latest_by = "computed_at"
        indexes = [models.Index(fields=["portfolio", "-computed_at"], name="exposure_latest")]

    def __str__(self) -> str:
        return f"{self.portfolio} at {self.computed_at:%Y-%m-%d %H:%M}"


class AlertLevel(models.TextChoices):
    WARN = "warn", "Warning"
    BREACH = "breach", "Breach"


class AlertState(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class AlertCause(models.TextChoices):
    PASSIVE = "passive", "Price moves alone"
    ACTIVE = "active", "Change of holdings"


class Alert(models.Model):
    """A rule over its limit for one subject of one portfolio, from first seen until resolved."""

    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="alerts")
    rule = models.CharField(max_length=32, choices=Rule.choices)
    subject = models.CharField(max_length=120)
    level = models.CharField(max_length=8, choices=AlertLevel.choices)
    value = ExactDecimalField(**AMOUNT)
    threshold = ExactDecimalField(**AMOUNT)
    cause = models.CharField(max_length=8, choices=AlertCause.choices, blank=True)
    state = models.CharField(max_length=16, choices=AlertState.choices, default=AlertState.OPEN)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledge_reason = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["portfolio", "state"], name="alert_by_state")]
        constraints = [
            models.UniqueConstraint(
                fields=["portfolio", "rule", "subject"],
                condition=~Q(state=AlertState.RESOLVED),
                name="one_live_alert_per_subject",
            ),
            models.CheckConstraint(
                condition=Q(level__in=AlertLevel.values), name="alert_level_valid"
            ),
            models.CheckConstraint(
                condition=Q(state__in=AlertState.values), name="alert_state_valid"
            ),
            models.CheckConstraint(
                condition=~Q(state=AlertState.ACKNOWLEDGED) | ~Q(acknowledge_reason=""),
                name="alert_acknowledged_with_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.level} {self.rule} {self.subject} ({self.state})"

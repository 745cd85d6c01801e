"""Risk policies with their limits, the engine's stored results, and the alerts they raise."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from portfolio.fields import ExactDecimalField
from portfolio.models import AMOUNT, Asset, AssetKind, Counterparty, Portfolio, RatingTier
from riskmodels.engine.rules import RULE_LABELS, SCOPED_RULES, SHARE_RULES, Rule


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


# The engine names every rule once; the database's choices are built from that list.
RULE_CHOICES = [(rule.value, RULE_LABELS[rule]) for rule in Rule]
RULE_VALUES = [rule.value for rule in Rule]
# Alerts also follow syncs: a location whose sync failed or awaits confirmation of a drop.
# Not a limit rule (no policy sets it), so it is not one of the engine's rules.
SYNC_RULE = "sync_problem"
ALERT_RULE_CHOICES = [*RULE_CHOICES, (SYNC_RULE, "Location sync failing or unconfirmed")]


def _values_of(rules: frozenset[Rule]) -> tuple[str, ...]:
    """Plain names in the engine's order, as the migrations spell them in constraints."""
    return tuple(rule.value for rule in Rule if rule in rules)


HHI_MAX = Decimal(10_000)


def limit_bounds(rule: str) -> tuple[Decimal, Decimal | None, str]:
    """(lowest, highest or None, unit) of a rule's levels."""
    if rule in SHARE_RULES:
        return Decimal(0), Decimal(1), "A share of NAV (0 to 1)"
    if rule == Rule.HHI_THIRD_PARTY:
        return Decimal(0), HHI_MAX, "An HHI (0 to 10,000 points)"
    if rule == Rule.STALE_DATA:
        return Decimal(0), None, "An age in hours"
    return Decimal(0), None, "A number of holdings"


class Limit(models.Model):
    """A warn and a breach level for one rule, for all subjects, one rating tier or one group."""

    policy = models.ForeignKey(RiskPolicy, on_delete=models.CASCADE, related_name="limits")
    rule = models.CharField(max_length=32, choices=RULE_CHOICES)
    rating_tier = models.CharField(max_length=8, choices=RatingTier.choices, blank=True)
    counterparty = models.ForeignKey(
        Counterparty, null=True, blank=True, on_delete=models.CASCADE, related_name="limits"
    )
    # Shares of NAV as fractions (0.25 = 25%), HHI in points, staleness in hours.
    warn = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    breach = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(rule__in=RULE_VALUES), name="limit_rule_valid"),
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
            models.CheckConstraint(
                condition=Q(breach__isnull=True) | Q(breach__gte=0),
                name="limit_breach_not_negative",
            ),
            models.CheckConstraint(
                condition=~Q(rule__in=_values_of(SHARE_RULES))
                | (
                    (Q(warn__isnull=True) | Q(warn__lte=1))
                    & (Q(breach__isnull=True) | Q(breach__lte=1))
                ),
                name="limit_share_at_most_one",
            ),
            models.CheckConstraint(
                condition=~Q(rule=Rule.HHI_THIRD_PARTY)
                | (
                    (Q(warn__isnull=True) | Q(warn__lte=HHI_MAX))
                    & (Q(breach__isnull=True) | Q(breach__lte=HHI_MAX))
                ),
                name="limit_hhi_at_most_10000",
            ),
            models.CheckConstraint(
                condition=~Q(rule=Rule.STALE_DATA)
                | (
                    (Q(warn__isnull=True) | Q(warn__gt=0))
                    & (Q(breach__isnull=True) | Q(breach__gt=0))
                ),
                name="limit_staleness_positive",
            ),
            models.CheckConstraint(
                condition=Q(rule__in=_values_of(SCOPED_RULES))
                | (Q(rating_tier="") & Q(counterparty__isnull=True)),
                name="limit_scope_only_for_counterparty_rules",
            ),
        ]

    def __str__(self) -> str:
        # Levels are left out: their raw form (0.200000) reads wrongly beside percentages, and
        # every page and the audit trail show them in their unit.
        return f"{self.rule} ({self.scope})"

    @property
    def scope(self) -> str:
        """Who the limit applies to, in words: all subjects, one tier, or one counterparty."""
        if self.counterparty is not None:
            return f"counterparty {self.counterparty.slug}"
        if self.rating_tier:
            return f"tier {self.rating_tier}"
        return "all"

    def clean(self) -> None:
        """The same rules as the constraints, with messages an admin can act on."""
        errors: dict[str, str] = {}
        if self.warn is None and self.breach is None:
            errors["warn"] = "Set a warn level, a breach level, or both."
        elif self.warn is not None and self.breach is not None and self.warn > self.breach:
            errors["warn"] = "The warn level must not be above the breach level."
        errors.update(self._unit_errors())
        errors.update(self._scope_errors())
        if errors:
            raise ValidationError(errors)

    def _unit_errors(self) -> dict[str, str]:
        low, high, unit = limit_bounds(self.rule)
        # Zero hours would call every snapshot stale: staleness needs a positive age.
        strict = self.rule == Rule.STALE_DATA
        errors = {}
        for name in ("warn", "breach"):
            value = getattr(self, name)
            if value is None:
                continue
            if value < low or (strict and value == low):
                errors[name] = f"{unit} must be {'above' if strict else 'at least'} {low}."
            elif high is not None and value > high:
                errors[name] = f"{unit} must be at most {high}."
        return errors

    def _scope_errors(self) -> dict[str, str]:
        if self.rating_tier and self.counterparty_id is not None:
            return {"rating_tier": "Scope a limit to a rating tier or a counterparty, not both."}
        scoped = bool(self.rating_tier) or self.counterparty_id is not None
        if scoped and self.rule not in SCOPED_RULES:
            return {"rule": "This rule has no counterparty subject: it applies to all only."}
        counterparty = None if self.counterparty_id is None else self.counterparty
        if (
            counterparty is not None
            and self.rule != Rule.DISTRESSED
            and counterparty.parent_id is not None
        ):
            # The engine measures these rules per top-level group; an entity's limit would
            # never match a subject and would silently do nothing.
            return {"counterparty": f"Choose the group ({counterparty.group.slug})."}
        return {}


class ExposureSnapshot(models.Model):
    """One run of the engine over a portfolio, kept as history; `report` holds every figure."""

    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="exposures")
    computed_at = models.DateTimeField()
    data_as_of = models.DateTimeField(null=True, blank=True)
    nav = ExactDecimalField(**AMOUNT)
    # Digest of the inputs: the same holdings, prices and policy make no second snapshot.
    inputs_digest = models.CharField(max_length=64)
    # Digest of the holdings alone (location, asset, product, amount): equal to the previous
    # snapshot's when only prices moved, which makes an alert's cause "passive".
    holdings_digest = models.CharField(max_length=64, blank=True)
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
    rule = models.CharField(max_length=32, choices=ALERT_RULE_CHOICES)
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

    @property
    def is_live(self) -> bool:
        return self.state != AlertState.RESOLVED

    def over_limit_for(self, now: datetime | None = None) -> timedelta:
        """How long the subject has been over its limit: from first seen to resolved (or now)."""
        end = self.resolved_at or now or timezone.now()
        return end - self.first_seen


class PolicyAction(models.TextChoices):
    CREATED = "created", "Created"
    CHANGED = "changed", "Changed"
    DELETED = "deleted", "Deleted"


class PolicyChange(models.Model):
    """One change of one limit, kept even when the limit or its policy is deleted."""

    policy = models.ForeignKey(
        RiskPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes"
    )
    policy_name = models.CharField(max_length=120)
    limit_id = models.BigIntegerField(null=True, blank=True)
    rule = models.CharField(max_length=32, choices=RULE_CHOICES)
    scope = models.CharField(max_length=120)
    action = models.CharField(max_length=8, choices=PolicyAction.choices)
    old_warn = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    old_breach = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    new_warn = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    new_breach = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # The username as it was, so the record outlives the account.
    changed_by_name = models.CharField(max_length=150, blank=True)
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["-changed_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=PolicyAction.values), name="policy_change_action_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.changed_at:%Y-%m-%d %H:%M} {self.action} {self.rule} ({self.scope})"


class StressScenario(models.Model):
    """A custom stress scenario: global (no portfolio) or one portfolio's own."""

    portfolio = models.ForeignKey(
        Portfolio, null=True, blank=True, on_delete=models.CASCADE, related_name="scenarios"
    )
    name = models.CharField(max_length=120)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Coalesce("portfolio", 0), "name", name="stress_scenario_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class StressShock(models.Model):
    """Loss fraction on the positions that every given selector matches (at least one)."""

    scenario = models.ForeignKey(StressScenario, on_delete=models.CASCADE, related_name="shocks")
    fraction = models.DecimalField(max_digits=7, decimal_places=6)
    custody_group = models.ForeignKey(
        Counterparty, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    issuer_group = models.ForeignKey(
        Counterparty, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    asset = models.ForeignKey(
        Asset, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    asset_kind = models.CharField(max_length=24, choices=AssetKind.choices, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(fraction__gte=0) & Q(fraction__lte=1), name="shock_fraction_0_to_1"
            ),
            models.CheckConstraint(
                condition=Q(custody_group__isnull=False)
                | Q(issuer_group__isnull=False)
                | Q(asset__isnull=False)
                | ~Q(asset_kind=""),
                name="shock_has_a_selector",
            ),
            models.CheckConstraint(
                condition=Q(asset_kind="") | Q(asset_kind__in=AssetKind.values),
                name="shock_asset_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scenario}: -{self.fraction}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.fraction is not None and not Decimal(0) <= self.fraction <= Decimal(1):
            errors["fraction"] = "A loss fraction is between 0 and 1."
        if not (self.custody_group_id or self.issuer_group_id or self.asset_id or self.asset_kind):
            errors["custody_group"] = "Select positions by at least one of the four selectors."
        for name in ("custody_group", "issuer_group"):
            row = getattr(self, name)
            if row is not None and row.parent_id is not None:
                errors[name] = f"Choose the group ({row.group.slug})."
        if errors:
            raise ValidationError(errors)


# --- Webhooks ---
# A manager's endpoint per portfolio; an event per alert change (an outbox, written in the
# alert's transaction); one delivery row per attempt to POST an event to an endpoint.


class WebhookEndpoint(models.Model):
    """Where a portfolio's alert events are POSTed, signed with a secret made here.

    The secret is kept Fernet-encrypted (settings.CREDENTIALS_KEYS): signing needs it back,
    so a digest would not do. Its owner sees it once, when the endpoint is registered.
    """

    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    secret_encrypted = models.TextField(editable=False)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["portfolio", "pk"]

    def __str__(self) -> str:
        return f"{self.portfolio.slug} → {self.url}"


class WebhookEventType(models.TextChoices):
    ALERT_OPENED = "alert.opened", "Alert opened"
    ALERT_ESCALATED = "alert.escalated", "Alert escalated"
    ALERT_RESOLVED = "alert.resolved", "Alert resolved"


class WebhookEvent(models.Model):
    """One alert change as sent to every active endpoint; its uuid lets receivers deduplicate."""

    uuid = models.UUIDField(unique=True, editable=False)
    portfolio = models.ForeignKey(
        Portfolio, on_delete=models.CASCADE, related_name="webhook_events"
    )
    type = models.CharField(max_length=24, choices=WebhookEventType.choices)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.type} {self.uuid}"


class WebhookDelivery(models.Model):
    """One attempt to POST an event to an endpoint: the delivery log."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    attempt = models.PositiveSmallIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    delivered_at = models.DateTimeField()
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["-delivered_at", "-pk"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["endpoint", "event"], name="webhook_delivery_lookup")]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint} #{self.attempt}: {self.status_code or self.error}"


class ChangeKind(models.TextChoices):
    HOLDINGS = "holdings", "Holdings"
    PRICES = "prices", "Prices"
    POLICY = "policy", "Policy"
    CUSTODY = "custody", "Custody"


class PendingChange(models.Model):
    """A change to a portfolio's inputs that its latest exposure report does not reflect yet.

    Written in the same transaction as the change; the computation that sees it deletes it.
    Until then the report says what changed, when and by whom, and that it is recomputing.
    """

    portfolio = models.ForeignKey(
        Portfolio, on_delete=models.CASCADE, related_name="pending_changes"
    )
    kind = models.CharField(max_length=8, choices=ChangeKind.choices)
    summary = models.CharField(max_length=300)
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    changed_by_name = models.CharField(max_length=150, blank=True)

    class Meta:
        indexes = [models.Index(fields=["portfolio", "changed_at"], name="pending_change_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} changed at {self.changed_at:%Y-%m-%d %H:%M}"


class ExportState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Being prepared"
    DONE = "done", "Ready"
    FAILED = "failed", "Failed"


class PdfExport(models.Model):
    """One PDF of a portfolio's report, prepared by a worker for the user who asked for it
    (riskmodels.pdf_jobs): never in the web request, and at most so many at once."""

    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    state = models.CharField(max_length=8, choices=ExportState.choices, default=ExportState.QUEUED)
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    filename = models.CharField(max_length=200, blank=True)
    pdf = models.BinaryField(null=True, blank=True, editable=False)

    class Meta:
        indexes = [models.Index(fields=["requested_by", "state"], name="pdf_export_user_state")]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=ExportState.values), name="pdf_export_state_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"PDF of {self.portfolio} for {self.requested_by} ({self.state})"


class FirmAlert(models.Model):
    """A firm-level finding (the whole firm's exposure to one group, over every portfolio) at
    warn or breach, from first seen until resolved (riskmodels.firm_alerts)."""

    rule = models.CharField(max_length=32)
    subject = models.CharField(max_length=120)
    level = models.CharField(max_length=8, choices=AlertLevel.choices)
    value = ExactDecimalField(**AMOUNT)
    threshold = ExactDecimalField(**AMOUNT)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject"],
                condition=Q(resolved_at__isnull=True),
                name="one_live_firm_alert_per_subject",
            ),
            models.CheckConstraint(
                condition=Q(level__in=AlertLevel.values), name="firm_alert_level_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"firm {self.level} {self.rule} {self.subject}"

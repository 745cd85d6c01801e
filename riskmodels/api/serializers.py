"""What the API shows. No serializer has a credential field; investors with a stake see
stake × every money figure (the views pass `stake`), and no location's sync errors."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import User
from portfolio.models import Counterparty, CustodyLocation, Portfolio
from portfolio.selectors import not_current_reasons
from riskmodels.api.fields import ExactDecimalField
from riskmodels.engine.investor import scale_money
from riskmodels.models import (
    Alert,
    ExposureSnapshot,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)


class PortfolioSerializer(serializers.ModelSerializer):
    stake = serializers.SerializerMethodField(help_text="An investor's share (0 to 1), or null.")
    can_manage = serializers.SerializerMethodField()

    class Meta:
        model = Portfolio
        fields = ["slug", "name", "base_currency", "description", "created_at"]
        fields += ["stake", "can_manage"]

    def get_stake(self, portfolio: Portfolio) -> str | None:
        share = self.context["stakes"].get(portfolio.pk)
        return None if share is None else ExactDecimalField().to_representation(share)

    def get_can_manage(self, portfolio: Portfolio) -> bool:
        return portfolio.pk in self.context["managed"]


class LocationSerializer(serializers.ModelSerializer):
    """A location as an investor with a stake sees it: where, and with whom."""

    portfolio: serializers.SlugRelatedField[Portfolio] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    custodian: serializers.SlugRelatedField[Counterparty] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = CustodyLocation
        fields = ["id", "portfolio", "name", "kind", "custodian", "wallet_type"]


class LocationHealthSerializer(LocationSerializer):
    """A location with its freshness and sync health, for managers and admins (and investors
    granted the whole portfolio), as the portfolio page shows it. Never its credentials."""

    exchange_id = serializers.SerializerMethodField()
    data_as_of = serializers.DateTimeField(read_only=True, allow_null=True)
    last_outcome = serializers.CharField(read_only=True, allow_null=True)
    last_run_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_error = serializers.CharField(read_only=True, allow_null=True)
    not_current = serializers.SerializerMethodField(
        help_text="Why the figures are the last confirmed ones and not what the exchange last "
        "answered (a failed sync, a drop awaiting confirmation, a rejected key); null when "
        "they are current."
    )

    class Meta(LocationSerializer.Meta):
        fields = [*LocationSerializer.Meta.fields, "exchange_id", "data_as_of"]
        fields += ["last_outcome", "last_run_at", "last_error", "not_current"]

    def get_not_current(self, location: CustodyLocation) -> str | None:
        reasons = self.context.get("not_current")
        if reasons is None:  # one location: read its portfolio's marks here
            reasons = not_current_reasons(location.portfolio)
        return reasons.get(location.pk)

    def get_exchange_id(self, location: CustodyLocation) -> str | None:
        account = getattr(location, "exchange_account", None)
        return None if account is None else account.exchange_id


class HoldingSerializer(serializers.Serializer):
    """One current holding (riskmodels.selectors.HoldingLine), already × stake."""

    location = serializers.CharField()
    kind = serializers.CharField()
    custodian = serializers.CharField(allow_null=True)
    group = serializers.CharField(allow_null=True)
    asset = serializers.CharField()
    product = serializers.CharField()
    amount = ExactDecimalField()
    price = ExactDecimalField(allow_null=True, help_text="USD; null when unpriced.")
    value = ExactDecimalField(allow_null=True, help_text="USD; null when unpriced.")


class ExposureSummarySerializer(serializers.ModelSerializer):
    """One snapshot in the history: NAV × stake for an investor with a stake."""

    portfolio: serializers.SlugRelatedField[Portfolio] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    nav = serializers.SerializerMethodField()

    class Meta:
        model = ExposureSnapshot
        fields = ["id", "portfolio", "computed_at", "data_as_of", "nav"]

    def get_nav(self, snapshot: ExposureSnapshot) -> str:
        nav = scale_money(snapshot.nav, self.context["stake"])
        return ExactDecimalField().to_representation(nav)


def _text(help_text: str = "") -> serializers.CharField:
    """Exact decimal text or words, as the document writes them; null where meaningless."""
    return serializers.CharField(allow_null=True, help_text=help_text)


# The document's parts (riskmodels.documents), field for field: a test holds the two together.
class AllocationRowSerializer(serializers.Serializer):
    bucket = serializers.CharField()
    value = _text("USD")
    share = _text("A share of NAV (0 to 1).")


class ExposureRowSerializer(serializers.Serializer):
    group = serializers.CharField()
    name = serializers.CharField(help_text="The group's display name, e.g. Kraken (Payward).")
    entities = serializers.ListField(child=serializers.CharField())
    tier = serializers.CharField()
    custody = _text("USD")
    issuer = _text("USD")
    overlap = _text("USD (wrong-way: held and issued by the group)")
    total = _text("USD")
    share = _text("A share of NAV (0 to 1).")
    warn = _text()
    breach = _text()
    status = serializers.CharField(
        help_text="ok, warn or breach: the worst finding, over every rule, on the group or one "
        "of its entities"
    )
    move_to_comply = _text(
        "USD held by the group (not issued by it) to move to self-custody or another custodian "
        "to be back at warn"
    )
    convert_to_comply = _text("USD of assets the group issued to sell or swap to be back at warn")
    blocked = _text("USD that cannot leave: withdrawals halted or insolvent (a claim)")


class MetricsSerializer(serializers.Serializer):
    hhi = _text("HHI points (0 to 10,000)")
    hhi_third_party = _text("HHI points without self-custody")
    effective_n = _text()
    top1 = _text()
    top3 = _text()
    large_sum = _text("USD")
    exchange_custody = _text("USD")
    exchange_custody_share = _text("A share of NAV (0 to 1).")
    largest_group = _text("The group with the largest look-through exposure")
    largest_name = _text("Its display name")
    largest_share = _text("Its share of NAV (0 to 1).")


class AlertRowSerializer(serializers.Serializer):
    rule = serializers.CharField()
    subject = serializers.CharField()
    value = _text("In the rule's unit")
    warn = _text()
    breach = _text()
    name = serializers.CharField(help_text="The subject in words (display name).")
    level = serializers.CharField()
    amount = _text("USD")
    state = _text()
    first_seen = _text()
    over_limit_hours = _text()
    cause = _text()


class ActionRowSerializer(serializers.Serializer):
    rule = serializers.CharField()
    rule_label = serializers.CharField(help_text="The rule in words.")
    subject = serializers.CharField()
    name = serializers.CharField(help_text="The subject in words (display name).")
    level = serializers.CharField(help_text="warn or breach")
    unit = serializers.CharField(help_text="share (of NAV), points, hours or holdings")
    value = _text("In the rule's unit")
    warn = _text()
    breach = _text()
    since = _text("When its alert was opened (ISO 8601)")
    amount = _text("USD to cure (to the warn level) = move + convert + blocked")
    move = _text("USD to move to self-custody or another custodian")
    convert = _text("USD to sell or swap (issuer exposure)")
    blocked = _text("USD blocked at a venue that halted withdrawals or is insolvent")
    action = serializers.CharField(help_text="The action that would cure it, in words.")


class LiabilityRowSerializer(serializers.Serializer):
    bucket = serializers.CharField()
    name = serializers.CharField()
    value = _text("USD owed (positive)")


class AccountingSerializer(serializers.Serializer):
    gross_assets = _text("USD")
    liabilities = LiabilityRowSerializer(many=True)
    liabilities_total = _text("USD; gross_assets - liabilities_total = nav")
    nav = _text("USD")


class UnpricedRowSerializer(serializers.Serializer):
    asset = serializers.CharField()
    amount = _text("Units of the asset")
    product = serializers.CharField()
    location = serializers.CharField()
    custodian = _text()
    reason = serializers.CharField()


class StressRowSerializer(serializers.Serializer):
    scenario = serializers.CharField()
    loss = _text("USD")
    loss_share = _text("A share of NAV (0 to 1).")


class LockedRowSerializer(serializers.Serializer):
    group = serializers.CharField()
    beyond_7d = _text("USD locked at the group beyond 7 days from the report's time.")
    beyond_30d = _text("USD locked at the group beyond 30 days from the report's time.")
    unpriced = serializers.IntegerField(help_text="Locked amounts without a price (not counted).")


class ExposureDocumentSerializer(serializers.Serializer):
    """The documented exposure report (README, "Exposure report"), money × stake."""

    nav = _text("USD")
    generated_at = serializers.CharField()
    data_as_of = _text()
    status = serializers.CharField(help_text="The worst finding over every rule")
    actions = ActionRowSerializer(many=True)
    accounting = AccountingSerializer()
    allocation = AllocationRowSerializer(many=True)
    exposures = ExposureRowSerializer(many=True)
    metrics = MetricsSerializer()
    alerts = AlertRowSerializer(many=True)
    unpriced = UnpricedRowSerializer(many=True)
    stress = StressRowSerializer(many=True)
    locked = LockedRowSerializer(many=True)


class ExposureReportSerializer(serializers.Serializer):
    """A snapshot with its exposure report (README, "Exposure report"), as the user may see it."""

    id = serializers.IntegerField()
    portfolio = serializers.CharField()
    computed_at = serializers.DateTimeField()
    data_as_of = serializers.DateTimeField(allow_null=True)
    stake = ExactDecimalField(allow_null=True)
    report = ExposureDocumentSerializer()


class StressResultSerializer(serializers.Serializer):
    scenario = serializers.CharField()
    loss = ExactDecimalField(help_text="USD, × stake for an investor with a stake.")
    loss_share = ExactDecimalField(allow_null=True, help_text="A share of NAV (0 to 1).")


class StressSerializer(serializers.Serializer):
    exposure = serializers.IntegerField(help_text="The snapshot the results come from.")
    computed_at = serializers.DateTimeField()
    nav = ExactDecimalField()
    results = StressResultSerializer(many=True)


class AlertSerializer(serializers.ModelSerializer):
    """An alert: shares, HHI points, hours or counts (no money figure). Who acknowledged it,
    and why, only for those who see the portfolio whole (not an investor's stake view)."""

    portfolio: serializers.SlugRelatedField[Portfolio] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    value = ExactDecimalField()
    threshold = ExactDecimalField()
    acknowledged_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Alert
        fields = ["id", "portfolio", "rule", "subject", "level", "value", "threshold", "cause"]
        fields += ["state", "first_seen", "last_seen", "acknowledged_at", "resolved_at"]
        fields += ["acknowledged_by", "acknowledge_reason"]
        read_only_fields = fields

    def to_representation(self, alert: Alert) -> dict:
        data = super().to_representation(alert)
        if alert.portfolio_id in self.context.get("stakes", {}):
            data["acknowledged_by"], data["acknowledge_reason"] = None, ""
        return data


class AcknowledgeSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, trim_whitespace=True)


class WebhookSerializer(serializers.ModelSerializer):
    portfolio: serializers.SlugRelatedField[Portfolio] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "portfolio", "url", "active", "created_at"]
        read_only_fields = ["id", "portfolio", "active", "created_at"]


class NewWebhookSerializer(WebhookSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="Shown once: sign-check deliveries with it (README, API)."
    )

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event: serializers.SlugRelatedField[WebhookEvent] = serializers.SlugRelatedField(
        slug_field="uuid", read_only=True
    )
    event_type = serializers.CharField(source="event.type", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = ["id", "event", "event_type", "attempt", "status_code", "error"]
        fields += ["duration_ms", "delivered_at", "succeeded"]
        read_only_fields = fields

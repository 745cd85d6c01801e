"""Admin (admins only): policies, their history, exposures and alerts read-only (limits are
edited on the Risk policy page, riskmodels.policy_views); custom stress scenarios."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin_site import ReadOnlyAdmin, ReadOnlyInline, admin_user
from riskmodels.models import (
    Alert,
    ExposureSnapshot,
    Limit,
    PolicyChange,
    RiskPolicy,
    StressScenario,
    StressShock,
)
from riskmodels.policy_forms import limits_text, with_unit

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class LimitTotal(TypedDict):
    """What the policy list annotates on each policy (get_queryset)."""

    limit_total: int


class LimitInline(ReadOnlyInline):
    model = Limit
    fields = ["rule", "applies_to", "warn_level", "breach_level"]
    readonly_fields = ["rule", "applies_to", "warn_level", "breach_level"]
    verbose_name_plural = "limits (edited on the Risk policy page, in percent)"

    @admin.display(description="Applies to")
    def applies_to(self, obj: Limit) -> str:
        return obj.scope

    @admin.display(description="Warn above")
    def warn_level(self, obj: Limit) -> str:
        return with_unit(obj.warn, obj.rule)

    @admin.display(description="Breach above")
    def breach_level(self, obj: Limit) -> str:
        return with_unit(obj.breach, obj.rule)


@admin.register(RiskPolicy)
class RiskPolicyAdmin(ReadOnlyAdmin):
    """Read-only: the Risk policy page edits limits in their units, with a preview, and
    records every change (PolicyChange, the audit trail)."""

    list_display = ["name", "scope", "limit_count", "updated_at", "edit_link"]
    list_select_related = ["portfolio"]
    search_fields = ["name", "portfolio__name"]
    fields = ["name", "portfolio", "edit_link"]
    readonly_fields = ["name", "portfolio", "edit_link"]
    inlines = [LimitInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RiskPolicy]:
        return super().get_queryset(request).annotate(limit_total=Count("limits"))

    @admin.display(description="Applies to", ordering="portfolio__name")
    def scope(self, obj: RiskPolicy) -> str:
        return obj.portfolio.name if obj.portfolio else "every portfolio (default)"

    @admin.display(description="Limits", ordering="limit_total")
    def limit_count(self, obj: WithAnnotations[RiskPolicy, LimitTotal]) -> int:
        return obj.limit_total

    @admin.display(description="Edit")
    def edit_link(self, obj: RiskPolicy) -> str:
        url = (
            reverse("riskmodels:policy")
            if obj.portfolio is None
            else reverse("riskmodels:portfolio_policy", args=[obj.portfolio.slug])
        )
        return format_html('<a href="{}">Edit on the Risk policy page</a>', url)


@admin.register(PolicyChange)
class PolicyChangeAdmin(ReadOnlyAdmin):
    list_display = [
        "changed_at",
        "changed_by_name",
        "policy_name",
        "rule",
        "scope",
        "action",
        "before",
        "after",
    ]
    list_filter = ["action", "rule", "policy_name"]
    date_hierarchy = "changed_at"

    @admin.display(description="Before")
    def before(self, obj: PolicyChange) -> str:
        return limits_text(obj.old_warn, obj.old_breach, obj.rule)

    @admin.display(description="After")
    def after(self, obj: PolicyChange) -> str:
        return limits_text(obj.new_warn, obj.new_breach, obj.rule)


@admin.register(ExposureSnapshot)
class ExposureSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["portfolio", "computed_at", "data_as_of", "nav"]
    list_filter = ["portfolio"]
    date_hierarchy = "computed_at"


# Alerts are raised and resolved by the engine and acknowledged on the app's pages (audited).
@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = [
        "portfolio",
        "rule",
        "subject",
        "level",
        "state",
        "cause",
        "first_seen",
        "last_seen",
        "acknowledged_by",
    ]
    list_filter = ["state", "level", "rule", "cause", "portfolio"]
    list_select_related = ["portfolio", "acknowledged_by"]


class StressShockInline(admin.TabularInline):
    model = StressShock
    extra = 1
    autocomplete_fields = ["custody_group", "issuer_group", "asset"]


@admin.register(StressScenario)
class StressScenarioAdmin(admin.ModelAdmin):
    list_display = ["name", "portfolio", "created_by", "created_at"]
    list_filter = ["portfolio"]
    readonly_fields = ["created_by", "created_at"]
    inlines = [StressShockInline]

    def save_model(
        self, request: HttpRequest, obj: StressScenario, form: Any, change: bool
    ) -> None:
        if obj.created_by_id is None:
            obj.created_by = admin_user(request)
        super().save_model(request, obj, form, change)


# Webhooks (riskmodels.api.admin): registered here so that admin autodiscovery finds them.
from riskmodels.api import admin as _webhook_admin  # noqa: E402, F401

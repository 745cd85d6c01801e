"""Admin (admins only): limits are saved through services that record every change."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest

from accounts.admin_site import ReadOnlyAdmin, admin_user
from riskmodels.models import (
    Alert,
    ExposureSnapshot,
    Limit,
    PolicyChange,
    RiskPolicy,
    StressScenario,
    StressShock,
)
from riskmodels.services import delete_limit, delete_policy, save_limit

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class LimitTotal(TypedDict):
    """What the policy list annotates on each policy (get_queryset)."""

    limit_total: int


class LimitInline(admin.TabularInline):
    model = Limit
    extra = 0
    fields = ["rule", "rating_tier", "counterparty", "warn", "breach"]
    autocomplete_fields = ["counterparty"]
    verbose_name_plural = (
        "limits (shares of NAV as fractions: 0.25 is 25%; HHI in points; staleness in hours; "
        "a tier or a counterparty narrows a rule to it)"
    )


@admin.register(RiskPolicy)
class RiskPolicyAdmin(admin.ModelAdmin):
    """The global default (no portfolio) and per-portfolio overrides, with their limits."""

    list_display = ["name", "scope", "limit_count", "updated_at"]
    list_select_related = ["portfolio"]
    search_fields = ["name", "portfolio__name"]
    autocomplete_fields = ["portfolio"]
    fieldsets = (
        (
            None,
            {
                "fields": ("name", "portfolio"),
                "description": "Without a portfolio this is the global default. A portfolio's "
                "policy overrides only the limits it lists; every change is recorded.",
            },
        ),
    )
    inlines = [LimitInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RiskPolicy]:
        return super().get_queryset(request).annotate(limit_total=Count("limits"))

    @admin.display(description="Applies to", ordering="portfolio__name")
    def scope(self, obj: RiskPolicy) -> str:
        return obj.portfolio.name if obj.portfolio else "every portfolio (default)"

    @admin.display(description="Limits", ordering="limit_total")
    def limit_count(self, obj: WithAnnotations[RiskPolicy, LimitTotal]) -> int:
        return obj.limit_total

    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: BaseInlineFormSet, change: bool
    ) -> None:
        """Limits edited inline go through the same services as on their own page."""
        if formset.model is not Limit:
            super().save_formset(request, form, formset, change)
            return
        limits = formset.save(commit=False)
        for limit in formset.deleted_objects:
            delete_limit(limit=limit, user=admin_user(request))
        for limit in limits:
            save_limit(limit=limit, user=admin_user(request))

    def delete_model(self, request: HttpRequest, obj: RiskPolicy) -> None:
        delete_policy(policy=obj, user=admin_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[RiskPolicy]) -> None:
        for policy in queryset:
            delete_policy(policy=policy, user=admin_user(request))


@admin.register(Limit)
class LimitAdmin(admin.ModelAdmin):
    list_display = ["policy", "rule", "rating_tier", "counterparty", "warn", "breach"]
    list_filter = ["policy", "rule", "rating_tier"]
    list_select_related = ["policy", "counterparty"]
    search_fields = ["policy__name", "counterparty__name", "rule"]
    autocomplete_fields = ["policy", "counterparty"]

    def save_model(self, request: HttpRequest, obj: Limit, form: ModelForm, change: bool) -> None:
        save_limit(limit=obj, user=admin_user(request))

    def delete_model(self, request: HttpRequest, obj: Limit) -> None:
        delete_limit(limit=obj, user=admin_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Limit]) -> None:
        for limit in queryset.select_related("policy", "counterparty"):
            delete_limit(limit=limit, user=admin_user(request))


@admin.register(PolicyChange)
class PolicyChangeAdmin(ReadOnlyAdmin):
    list_display = [
        "changed_at",
        "changed_by_name",
        "policy_name",
        "rule",
        "scope",
        "action",
        "old_warn",
        "old_breach",
        "new_warn",
        "new_breach",
    ]
    list_filter = ["action", "rule", "policy_name"]
    date_hierarchy = "changed_at"


@admin.register(ExposureSnapshot)
class ExposureSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["portfolio", "computed_at", "data_as_of", "nav"]
    list_filter = ["portfolio"]
    date_hierarchy = "computed_at"


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = [
        "portfolio",
        "rule",
        "subject",
        "level",
        "state",
        "cause",
        "first_seen",
        "last_seen",
    ]
    list_filter = ["state", "level", "rule", "cause", "portfolio"]
    readonly_fields = ["first_seen", "last_seen", "acknowledged_at", "resolved_at"]


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


@admin.register(StressShock)
class StressShockAdmin(admin.ModelAdmin):
    list_display = ["scenario", "fraction", "custody_group", "issuer_group", "asset", "asset_kind"]
    list_filter = ["asset_kind"]
    autocomplete_fields = ["custody_group", "issuer_group", "asset"]


# Webhooks (riskmodels.api.admin): registered here so that admin autodiscovery finds them.
from riskmodels.api import admin as _webhook_admin  # noqa: E402, F401

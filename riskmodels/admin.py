from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from riskmodels.models import Alert, ExposureSnapshot, Limit, RiskPolicy


class LimitInline(admin.TabularInline):
    model = Limit
    extra = 0
    autocomplete_fields = ["counterparty"]


@admin.register(RiskPolicy)
class RiskPolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "portfolio", "updated_at"]
    inlines = [LimitInline]


@admin.register(Limit)
class LimitAdmin(admin.ModelAdmin):
    list_display = ["policy", "rule", "rating_tier", "counterparty", "warn", "breach"]
    list_filter = ["policy", "rule", "rating_tier"]
    autocomplete_fields = ["counterparty"]


@admin.register(ExposureSnapshot)
class ExposureSnapshotAdmin(admin.ModelAdmin):
    """The engine's history is evidence: admins read it, nobody edits it."""

    list_display = ["portfolio", "computed_at", "data_as_of", "nav"]
    list_filter = ["portfolio"]
    date_hierarchy = "computed_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["portfolio", "rule", "subject", "level", "state", "first_seen", "last_seen"]
    list_filter = ["state", "level", "rule", "portfolio"]
    readonly_fields = ["first_seen", "last_seen", "acknowledged_at", "resolved_at"]

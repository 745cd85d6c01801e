"""Webhooks in the Django admin: read-only. Endpoints are registered through the API (where
the secret is shown once); an admin may disable them, through the audited service."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.admin_site import ReadOnlyAdmin, admin_user
from riskmodels.models import WebhookEndpoint
from riskmodels.webhooks import disable_webhook_endpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ["portfolio", "url", "active", "created_by", "created_at"]
    list_filter = ["active", "portfolio"]
    list_select_related = ["portfolio", "created_by"]
    fields = ["portfolio", "url", "active", "created_by", "created_at"]  # never the secret
    actions = ["disable"]

    @admin.action(description="Disable the selected endpoints")
    def disable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        endpoints = list(queryset.filter(active=True).select_related("portfolio"))
        for endpoint in endpoints:
            disable_webhook_endpoint(user=admin_user(request), endpoint=endpoint)
        self.message_user(request, f"{len(endpoints)} endpoint(s) disabled.", messages.SUCCESS)


# Events and their delivery attempts are the webhook sender's own bookkeeping: not registered.

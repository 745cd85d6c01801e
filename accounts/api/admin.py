"""API tokens in the Django admin: an admin makes one for any user (shown once) or revokes it.

Tokens are never edited or deleted here: revoking keeps the row for the audit trail.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from accounts.admin_site import admin_user
from accounts.api.tokens import create_api_token, revoke_api_token
from accounts.models import ApiToken

NEW_TOKEN_ATTRIBUTE = "_new_api_token"  # noqa: S105 - an attribute name, not a secret


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "user", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "name", "prefix"]
    autocomplete_fields = ["user"]
    fields = ["user", "name"]
    actions = ["revoke"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # a token is made or revoked, never edited

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # The list has no delete: the only bulk action is revoke.
        return {n: a for n, a in super().get_actions(request).items() if n != "delete_selected"}

    def save_model(
        self, request: HttpRequest, obj: ApiToken, form: ModelForm, change: bool
    ) -> None:
        created = create_api_token(actor=admin_user(request), owner=obj.user, name=obj.name)
        obj.pk, obj.prefix = created.token.pk, created.token.prefix
        setattr(request, NEW_TOKEN_ATTRIBUTE, created)

    def response_add(
        self, request: HttpRequest, obj: ApiToken, post_url: str | None = None
    ) -> HttpResponse:
        """The one time the token is shown: rendered now, never put in a message or session."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "created": getattr(request, NEW_TOKEN_ATTRIBUTE),
            "title": "API token created",
        }
        response = TemplateResponse(request, "admin/accounts/apitoken/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        tokens = list(queryset.filter(revoked_at=None).select_related("user"))
        for token in tokens:
            revoke_api_token(actor=admin_user(request), token=token)
        self.message_user(request, f"{len(tokens)} token(s) revoked.", messages.SUCCESS)

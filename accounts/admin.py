from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.db.models import ForeignKey
from django.forms import BaseModelFormSet, ModelChoiceField, ModelForm
from django.http import HttpRequest

from accounts.admin_site import ReadOnlyAdmin, admin_user
from accounts.models import AccessGrant, AuditEvent, InvestorStake, User
from accounts.services import apply_role, delete_access, save_access


class AuditedAccessMixin(admin.ModelAdmin):
    """Grants and stakes, edited here or inline, are saved through the audited services.

    A ModelAdmin itself so that `super()` reaches the next admin (UserAdmin or ModelAdmin);
    `obj` is Any as in ModelAdmin: whichever model the admin that mixes this in edits.
    """

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        if isinstance(obj, AccessGrant | InvestorStake):
            save_access(obj=obj, actor=admin_user(request))
        else:
            super().save_model(request, obj, form, change)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        if isinstance(obj, AccessGrant | InvestorStake):
            delete_access(obj=obj, actor=admin_user(request))
        else:
            super().delete_model(request, obj)

    def save_formset(
        self,
        request: HttpRequest,
        form: ModelForm,
        formset: BaseModelFormSet[Any, Any],
        change: bool,
    ) -> None:
        if formset.model not in (AccessGrant, InvestorStake):
            super().save_formset(request, form, formset, change)
            return
        for obj in formset.save(commit=False):
            save_access(obj=obj, actor=admin_user(request))
        for obj in formset.deleted_objects:
            delete_access(obj=obj, actor=admin_user(request))


class AccessGrantInline(admin.TabularInline):
    model = AccessGrant
    extra = 0
    autocomplete_fields = ["portfolio"]
    verbose_name = "access grant"
    verbose_name_plural = "access grants (view: see the portfolio; manage: managers only)"


class InvestorStakeInline(admin.TabularInline):
    model = InvestorStake
    extra = 0
    autocomplete_fields = ["portfolio"]
    verbose_name = "investor stake"
    verbose_name_plural = (
        "investor stakes (share between 0 and 1: the investor sees share × figures)"
    )


class PasswordChangeForm(AdminPasswordChangeForm):
    """A new password revokes the user's API tokens (accounts.models.User.save), unless the
    admin keeps them here: e.g. a password reset for a user whose tokens are known safe."""

    keep_api_tokens = forms.BooleanField(
        required=False,
        label="Keep this user's API tokens",
        help_text="Unticked, every API token of the user is revoked with the new password.",
    )

    def save(self, commit: bool = True) -> User:
        self.user.keep_api_tokens = self.cleaned_data.get("keep_api_tokens", False)
        return super().save(commit)


@admin.register(User)
class CounterweightUserAdmin(AuditedAccessMixin, UserAdmin):
    change_password_form = PasswordChangeForm
    list_display = ["username", "full_name", "email", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active"]
    search_fields = ["username", "email", "first_name", "last_name"]
    ordering = ["username"]
    fieldsets = (
        (
            None,
            {
                "fields": ("username", "password", "role"),
                "description": "The role decides what the user may do: admins run this site, "
                "fund managers the portfolios they manage, investors only read. Admins and "
                "managers must use two-factor login.",
            },
        ),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Status", {"fields": ("is_active", "last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "role", "password1", "password2")}),
    )
    readonly_fields = ["last_login", "date_joined"]
    inlines = [AccessGrantInline, InvestorStakeInline]

    @admin.display(description="Name", ordering="last_name")
    def full_name(self, obj: User) -> str:
        return obj.get_full_name() or "—"

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm, change: bool) -> None:
        apply_role(obj)
        super().save_model(request, obj, form, change)


@admin.register(AccessGrant)
class AccessGrantAdmin(AuditedAccessMixin, admin.ModelAdmin):
    list_display = ["user", "portfolio", "level", "granted_at"]
    list_filter = ["level", "portfolio"]
    list_select_related = ["user", "portfolio"]
    search_fields = ["user__username", "portfolio__name"]
    autocomplete_fields = ["user", "portfolio"]


@admin.register(InvestorStake)
class InvestorStakeAdmin(AuditedAccessMixin, admin.ModelAdmin):
    list_display = ["investor", "portfolio", "share_percent", "since"]
    list_filter = ["portfolio"]
    list_select_related = ["investor", "portfolio"]
    search_fields = ["investor__username", "portfolio__name"]
    autocomplete_fields = ["investor", "portfolio"]

    @admin.display(description="Share", ordering="share")
    def share_percent(self, obj: InvestorStake) -> str:
        return f"{obj.share * 100:.4f}".rstrip("0").rstrip(".") + " %"

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField[Any] | None:
        if db_field.name == "investor":
            kwargs["queryset"] = User.objects.filter(role="investor")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit trail: read by admins, written only by the services it records."""

    list_display = ["at", "actor", "action", "target", "portfolio"]
    list_filter = ["action", "portfolio"]
    search_fields = ["target", "actor__username"]
    date_hierarchy = "at"
    readonly_fields = ["at", "actor", "action", "target", "portfolio", "changes"]


# API tokens (accounts.api.admin): registered here so that admin autodiscovery finds them.
from accounts.api import admin as _api_token_admin  # noqa: E402, F401

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.forms import ModelForm
from django.http import HttpRequest

from accounts.models import AccessGrant, InvestorStake, User
from accounts.services import apply_role


class AccessGrantInline(admin.TabularInline):
    model = AccessGrant
    extra = 0
    autocomplete_fields = ["portfolio"]


class InvestorStakeInline(admin.TabularInline):
    model = InvestorStake
    extra = 0
    autocomplete_fields = ["portfolio"]


@admin.register(User)
class CounterweightUserAdmin(UserAdmin):
    list_display = ["username", "email", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active"]
    fieldsets = (
        (None, {"fields": ("username", "password", "role")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Status", {"fields": ("is_active", "last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "role", "password1", "password2")}),
    )
    readonly_fields = ["last_login", "date_joined"]
    inlines = [AccessGrantInline, InvestorStakeInline]

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm, change: bool) -> None:
        apply_role(obj)
        super().save_model(request, obj, form, change)


@admin.register(AccessGrant)
class AccessGrantAdmin(admin.ModelAdmin):
    list_display = ["user", "portfolio", "level", "granted_at"]
    list_filter = ["level", "portfolio"]
    autocomplete_fields = ["user", "portfolio"]


@admin.register(InvestorStake)
class InvestorStakeAdmin(admin.ModelAdmin):
    list_display = ["investor", "portfolio", "share", "since"]
    list_filter = ["portfolio"]
    autocomplete_fields = ["investor", "portfolio"]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "investor":
            kwargs["queryset"] = User.objects.filter(role="investor")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

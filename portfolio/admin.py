from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from accounts.admin import AuditedAccessMixin
from accounts.admin_site import BoundedIdAdmin, ReadOnlyAdmin, ReadOnlyInline, admin_user
from accounts.models import AccessGrant, InvestorStake
from portfolio import exchanges
from portfolio.account_forms import CREDENTIAL_FIELDS, WriteOnlyCredentials
from portfolio.models import (
    Asset,
    Counterparty,
    CounterpartyKind,
    CustodyLocation,
    ExchangeAccount,
    Holding,
    HoldingSnapshot,
    Portfolio,
    Price,
)
from portfolio.registry import is_unclassified_exchange
from portfolio.services import set_exchange_credentials


def adapter_label(exchange_id: str) -> str:
    reader = exchanges.reader(exchange_id)
    if reader == "dedicated":
        return "dedicated adapter"
    if reader == "generic":
        return f"generic adapter ({exchanges.GENERIC_NOT_READ})"
    return "no adapter: enter its balances by hand"


@admin.register(Counterparty)
class CounterpartyAdmin(admin.ModelAdmin):
    """The counterparty registry: tiers and status are edited right in the list."""

    list_display = [
        "name", "kind", "group_name", "jurisdiction", "rating_tier", "status", "read_by",
    ]  # fmt: skip
    list_editable = ["rating_tier", "status"]
    list_filter = ["kind", "rating_tier", "status", "jurisdiction"]
    list_select_related = ["parent"]
    search_fields = ["name", "slug", "legal_name", "jurisdiction"]
    autocomplete_fields = ["parent"]
    prepopulated_fields = {"slug": ["name"]}
    list_per_page = 50
    fieldsets = (
        (None, {"fields": ("name", "slug", "legal_name", "kind", "jurisdiction")}),
        (
            "Group",
            {
                "fields": ("parent",),
                "description": "Limits apply to the top-level group unless a limit names "
                "this entity: link every entity to its group.",
            },
        ),
        (
            "Rating and status",
            {
                "fields": ("rating_tier", "rating_note", "status"),
                "description": "The tier picks the group limits; a halted or insolvent "
                "counterparty breaches at any exposure.",
            },
        ),
        ("Notes", {"fields": ("notes",), "classes": ("collapse",)}),
    )

    @admin.display(description="Group", ordering="parent__name")
    def group_name(self, obj: Counterparty) -> str:
        return obj.parent.name if obj.parent else "—"

    @admin.display(description="Synced by")
    def read_by(self, obj: Counterparty) -> str:
        """Which adapter reads an exchange (its slug is the ccxt id), and whether it still
        waits for an admin to classify it."""
        if obj.kind != CounterpartyKind.EXCHANGE:
            return "—"
        text = adapter_label(obj.slug)
        return f"{text}; not classified yet" if is_unclassified_exchange(obj) else text


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "issuer", "underlying"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["issuer", "underlying"]


class ExchangeAccountInline(admin.StackedInline):
    model = ExchangeAccount
    extra = 0
    fields = ["exchange_id", "wallets", "credentials_updated_at", "credentials_broken_at"]
    readonly_fields = ["credentials_updated_at", "credentials_broken_at"]


class GrantInline(admin.TabularInline):
    model = AccessGrant
    extra = 0
    autocomplete_fields = ["user"]
    verbose_name = "access grant"


class StakeInline(admin.TabularInline):
    model = InvestorStake
    extra = 0
    autocomplete_fields = ["investor"]
    verbose_name = "investor stake"


@admin.register(Portfolio)
class PortfolioAdmin(AuditedAccessMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "base_currency", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [GrantInline, StakeInline]


@admin.register(CustodyLocation)
class CustodyLocationAdmin(admin.ModelAdmin):
    list_display = ["name", "portfolio", "kind", "custodian"]
    list_filter = ["kind", "portfolio"]
    search_fields = ["name", "portfolio__name"]
    autocomplete_fields = ["custodian"]
    inlines = [ExchangeAccountInline]


class ExchangeAccountForm(forms.ModelForm, WriteOnlyCredentials):
    """Credentials are write-only: the fields start empty and are never sent back."""

    class Meta:
        model = ExchangeAccount
        fields = ["location", "exchange_id", "wallets"]

    def exchange_id(self) -> str:
        return str(self.cleaned_data.get("exchange_id") or "")


@admin.register(ExchangeAccount)
class ExchangeAccountAdmin(BoundedIdAdmin):
    form = ExchangeAccountForm
    list_display = ["location", "exchange_id", "credentials_updated_at", "credentials_broken_at"]
    list_filter = ["exchange_id"]
    list_select_related = ["location__portfolio"]
    search_fields = ["location__name", "location__portfolio__name", "exchange_id"]
    fieldsets = (
        (None, {"fields": ("location", "exchange_id", "wallets")}),
        (
            "Credentials (write-only)",
            {
                "fields": CREDENTIAL_FIELDS,
                "description": "Stored encrypted and never shown again. Fill in those the "
                "exchange requires (ccxt's requiredCredentials); leave all empty to keep the "
                "stored ones.",
            },
        ),
        (
            "State",
            {"fields": ("credentials_updated_at", "credentials_broken_at", "credentials_error")},
        ),
    )
    readonly_fields = ["credentials_updated_at", "credentials_broken_at", "credentials_error"]

    # Masked in Django's error reports (the 500 mail to ADMINS quotes the POST otherwise).
    @method_decorator(sensitive_post_parameters(*CREDENTIAL_FIELDS))
    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(
        self, request: HttpRequest, obj: ExchangeAccount, form: ExchangeAccountForm, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        credentials = form.credentials()
        if credentials:
            set_exchange_credentials(
                account=obj, credentials=credentials, actor=admin_user(request)
            )


class HoldingInline(ReadOnlyInline):
    model = Holding
    fields = ["asset", "product", "amount"]


# Holdings history, read-only: snapshots are written by the sync service and the audited
# manual-holdings page; a change here would rewrite history without an audit.
@admin.register(HoldingSnapshot)
class HoldingSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["location", "taken_at", "source"]
    list_filter = ["source"]
    list_select_related = ["location__portfolio"]
    date_hierarchy = "taken_at"
    inlines = [HoldingInline]


@admin.register(Holding)
class HoldingAdmin(ReadOnlyAdmin):
    list_display = ["snapshot", "asset", "product", "amount"]
    list_filter = ["product"]
    list_select_related = ["snapshot__location__portfolio", "asset"]


# Prices come from the price sync and `import_prices` (labelled manual); read-only here.
@admin.register(Price)
class PriceAdmin(ReadOnlyAdmin):
    list_display = ["asset", "price_usd", "source", "is_manual", "as_of", "refused_reason"]
    list_filter = ["source", "is_manual"]
    list_select_related = ["asset"]
    date_hierarchy = "as_of"


# Not registered, as internals of the sync an admin never edits: settlements (set on the
# exchange account's page), locks, sync runs and rounds, held drops (settled on the location
# page); their state shows on the app's location and portfolio pages.

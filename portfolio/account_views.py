"""Pages where managers (manage level) and admins add and edit exchange accounts.

Credentials are write-only: the forms never render them back, and "test connection" fetches
the account once through a service that stores nothing.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts.access import get_exchange_account_for_user, get_portfolio_for_user
from accounts.models import User
from accounts.types import AuthenticatedRequest
from portfolio.account_forms import (
    CREDENTIAL_FIELDS,
    TEST_ACTION,
    AddExchangeAccountForm,
    EditExchangeAccountForm,
    SettlementForm,
)
from portfolio.models import (
    ExchangeAccount,
    OffExchangeSettlement,
    Portfolio,
    SyncRound,
    SyncRun,
)
from portfolio.registry import is_unclassified_exchange
from portfolio.selectors import sync_round_progress
from portfolio.services import (
    ConnectionResult,
    create_exchange_account,
    delete_off_exchange_settlement,
    save_off_exchange_settlement,
    test_account_connection,
    test_connection,
    update_exchange_account,
)

RECENT_RUNS = 5


@sensitive_post_parameters(*CREDENTIAL_FIELDS)
@login_required
def add_exchange_account(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    portfolio = get_portfolio_for_user(request.user, slug, manage=True)
    # ?exchange=kucoin opens the form asking for that exchange's credentials.
    initial = {"exchange": request.GET.get("exchange", "")}
    form = AddExchangeAccountForm(request.POST or None, portfolio=portfolio, initial=initial)
    result = None
    if request.method == "POST" and form.is_valid():
        if TEST_ACTION in request.POST:
            result = _test_new(form)
        elif account := _create(form, portfolio, request.user):
            messages.success(request, f"Added {account.location.name}. Sync it to read it now.")
            _warn_unclassified(request, account)
            return redirect("sources:edit_exchange_account", pk=account.pk)
    context = {"portfolio": portfolio, "form": form, "result": result}
    return render(request, "portfolio/account_add.html", context)


@sensitive_post_parameters(*CREDENTIAL_FIELDS)
@login_required
def edit_exchange_account(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    account = get_exchange_account_for_user(request.user, pk, manage=True)
    form = EditExchangeAccountForm(request.POST or None, account=account)
    result = None
    if request.method == "POST" and form.is_valid():
        credentials = form.credentials()
        wallets = form.cleaned_data["wallets"]
        if TEST_ACTION in request.POST:
            result = test_account_connection(
                account=account, wallets=wallets, credentials=credentials
            )
        elif _update(form, account, request.user):
            messages.success(request, _saved_message(credentials))
            return redirect("sources:edit_exchange_account", pk=account.pk)
    return render(
        request, "portfolio/account_edit.html", _edit_context(request, account, form, result)
    )


@login_required
@require_POST
def save_settlement(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    account = get_exchange_account_for_user(request.user, pk, manage=True)
    instance = OffExchangeSettlement.objects.filter(pk=account.pk).first()
    form = SettlementForm(request.POST, instance=instance)
    if form.is_valid():
        data = form.cleaned_data
        save_off_exchange_settlement(
            account=account,
            network=data["network"],
            custodian=data["custodian"],
            interval_hours=data["interval_hours"],
            settled_at=data["settled_at"],
            actor=request.user,
        )
        messages.success(request, "Saved the off-exchange settlement; the report is recomputed.")
        return redirect("sources:edit_exchange_account", pk=account.pk)
    edit = EditExchangeAccountForm(account=account)
    context = _edit_context(request, account, edit, None, settlement_form=form)
    return render(request, "portfolio/account_edit.html", context, status=400)


@login_required
@require_POST
def delete_settlement(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    account = get_exchange_account_for_user(request.user, pk, manage=True)
    delete_off_exchange_settlement(account=account, actor=request.user)
    messages.success(
        request, "Removed the off-exchange settlement: all of it counts against the exchange."
    )
    return redirect("sources:edit_exchange_account", pk=account.pk)


def _warn_unclassified(request: HttpRequest, account: ExchangeAccount) -> None:
    custodian = account.location.custodian
    if custodian is not None and is_unclassified_exchange(custodian):
        messages.warning(
            request,
            f"{custodian.name} is not in the counterparty registry: it was added unrated, so "
            "the unrated limits apply. An admin should classify it (tier, group, jurisdiction).",
        )


def _test_new(form: AddExchangeAccountForm) -> ConnectionResult:
    credentials = form.credentials()
    if credentials is None:
        return ConnectionResult(ok=False, message="Enter the credentials to test them.")
    exchange_id, wallets = form.cleaned_data["exchange"], form.cleaned_data["wallets"]
    return test_connection(exchange_id=exchange_id, credentials=credentials, wallets=wallets)


def _create(
    form: AddExchangeAccountForm, portfolio: Portfolio, actor: User
) -> ExchangeAccount | None:
    """The new account, or None with the reason added to the form."""
    data = form.cleaned_data
    try:
        return create_exchange_account(
            portfolio=portfolio,
            name=data["name"],
            exchange_id=data["exchange"],
            custodian_slug=form.custodian_slug(),
            credentials=form.credentials(),
            wallets=data["wallets"],
            actor=actor,
            include_subaccounts=data.get("include_subaccounts", False),
        )
    except ValidationError as error:
        form.add_error(None, error)
        return None


def _update(form: EditExchangeAccountForm, account: ExchangeAccount, actor: User) -> bool:
    """Saved, or False with the reason (a key stored elsewhere) added to the form."""
    try:
        update_exchange_account(
            account=account,
            wallets=form.cleaned_data["wallets"],
            credentials=form.credentials(),
            actor=actor,
            include_subaccounts=form.cleaned_data.get("include_subaccounts"),
        )
    except ValidationError as error:
        form.add_error(None, error)
        return False
    return True


def _saved_message(credentials: dict[str, str] | None) -> str:
    if credentials is None:
        return "Saved the wallets; the stored credentials are kept."
    return "Saved the wallets and replaced the credentials."


def _edit_context(
    request: HttpRequest,
    account: ExchangeAccount,
    form: EditExchangeAccountForm,
    result: ConnectionResult | None,
    settlement_form: SettlementForm | None = None,
) -> dict[str, Any]:
    runs = SyncRun.objects.filter(location=account.location).order_by("-started_at", "-pk")
    settlement = OffExchangeSettlement.objects.filter(pk=account.pk).first()
    return {
        "settlement": settlement,
        "settlement_form": settlement_form or SettlementForm(instance=settlement),
        "account": account,
        "location": account.location,
        "portfolio": account.location.portfolio,
        "form": form,
        "result": result,
        "runs": runs[:RECENT_RUNS],
        "sync": sync_progress_for(request, account.location.portfolio),
    }


def sync_progress_for(request: HttpRequest, portfolio: Portfolio) -> dict[str, Any] | None:
    """The progress of the last sync round this session started on `portfolio`, if any.

    Rendered as it stands (what a page without JavaScript shows); sync_progress.js polls
    the status URL while the round is still running.
    """
    round_id = request.session.get("last_sync_round")
    if round_id is None:
        return None
    sync_round = SyncRound.objects.filter(pk=round_id, portfolio=portfolio).first()
    if sync_round is None:
        return None
    url = reverse("portfolio:sync_round_status", args=[portfolio.slug, sync_round.pk])
    return {"status_url": url, **sync_round_progress(sync_round)}

"""The risk policy page (admins only): limits in their units, a preview over every portfolio,
then save through the audited services."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect, render

from accounts.access import get_portfolio_for_user
from accounts.types import AuthenticatedRequest
from portfolio.models import Counterparty, CustodyLocation, Portfolio
from riskmodels.models import PolicyChange, RiskPolicy
from riskmodels.policy_edit import (
    ProposedLimit,
    current_limits,
    global_policy,
    preview_policy,
    proposal_fingerprint,
    save_policy,
    standard_keys,
)
from riskmodels.policy_forms import (
    BaseLimitFormSet,
    LimitFormSet,
    initial_row,
    limits_text,
    present_previews,
    row_labels,
    rule_label,
    scope_choices,
)

HISTORY_ROWS = 15
SAVE = "save"


def _admin_only(request: AuthenticatedRequest) -> None:
    """Managers and investors never edit the firm's limits: refused outright."""
    if not request.user.is_admin:
        raise PermissionDenied


@login_required
def policy(request: AuthenticatedRequest, slug: str | None = None) -> HttpResponse:
    """GET: the limits. POST: validate them, then preview them; save only what was previewed
    (a save of other numbers than the preview showed previews those first)."""
    _admin_only(request)
    portfolio = None if slug is None else get_portfolio_for_user(request.user, slug)
    edited = _policy_of(portfolio)
    names = dict(Counterparty.objects.values_list("slug", "name"))
    formset = _formset(request, edited, names, portfolio)
    context: dict[str, Any] = {"portfolio": portfolio, "edited": edited, "previews": None}
    if request.method == "POST" and formset.is_valid():
        proposed = formset.proposed()
        fingerprint = proposal_fingerprint(proposed)
        if request.POST.get("action") == SAVE and request.POST.get("previewed") == fingerprint:
            try:
                changed = save_policy(portfolio=portfolio, proposed=proposed, user=request.user)
            except ValidationError as error:  # a rule the form does not know of, or a race
                context["save_error"] = " ".join(error.messages)
            else:
                return _saved(request, portfolio, changed)
        else:
            context |= _preview(request, portfolio, proposed, names) | {"previewed": fingerprint}
    return render(request, "riskmodels/policy.html", context | _page(formset, edited, names))


def _formset(
    request: AuthenticatedRequest,
    edited: RiskPolicy | None,
    names: dict[str, str],
    portfolio: Portfolio | None,
) -> BaseLimitFormSet:
    """The policy's limits as forms, bound to the POST when there is one."""
    required = standard_keys() if portfolio is None else frozenset()
    initial = [initial_row(item) for item in current_limits(edited, required=required)]
    kwargs = {
        "scopes": scope_choices(names),
        "groups": Counterparty.objects.filter(parent=None).values_list("slug", flat=True),
        "required_keys": required,
        "any_new_rule": portfolio is not None,
    }
    data = request.POST if request.method == "POST" else None
    return cast(BaseLimitFormSet, LimitFormSet(data, initial=initial, form_kwargs=kwargs))


def _preview(
    request: AuthenticatedRequest,
    portfolio: Portfolio | None,
    proposed: list[ProposedLimit],
    names: dict[str, str],
) -> dict[str, Any]:
    previews = preview_policy(portfolio=portfolio, proposed=proposed)
    locations = {str(pk): name for pk, name in CustodyLocation.objects.values_list("pk", "name")}
    return {
        "previews": present_previews(previews, names, locations),
        # Asked to save numbers that were not previewed: this preview comes first.
        "unpreviewed_save": request.POST.get("action") == SAVE,
    }


def _policy_of(portfolio: Portfolio | None) -> RiskPolicy | None:
    if portfolio is None:
        return global_policy()
    return RiskPolicy.objects.filter(portfolio=portfolio).first()


def _saved(
    request: AuthenticatedRequest, portfolio: Portfolio | None, changed: int
) -> HttpResponse:
    if changed:
        messages.success(
            request,
            f"Policy saved: {changed} limit{'s' if changed != 1 else ''} changed. "
            "The exposure reports are being recomputed.",
        )
    else:
        messages.info(request, "Nothing changed: the limits were already these.")
    if portfolio is None:
        return redirect("riskmodels:policy")
    return redirect("riskmodels:portfolio_policy", slug=portfolio.slug)


def _page(formset: Any, edited: RiskPolicy | None, names: dict[str, str]) -> dict[str, Any]:
    """The rows with their labels, the other policies, and the latest recorded changes."""
    initial_count = formset.initial_form_count()
    rows = [
        {"form": form, "listed": index < initial_count, **row_labels(form, names)}
        for index, form in enumerate(formset.forms)
    ]
    return {
        "formset": formset,
        "rows": rows,
        "portfolios": Portfolio.objects.order_by("name").annotate(
            limit_count=Count("risk_policy__limits")
        ),
        "history": _history(edited),
    }


def _history(edited: RiskPolicy | None) -> list[dict[str, Any]]:
    if edited is None:
        return []
    changes = PolicyChange.objects.filter(policy=edited).order_by("-changed_at", "-pk")
    return [
        {
            "change": change,
            "rule": rule_label(change.rule),
            "before": limits_text(change.old_warn, change.old_breach, change.rule),
            "after": limits_text(change.new_warn, change.new_breach, change.rule),
        }
        for change in changes[:HISTORY_ROWS]
    ]

"""The stress page of a portfolio, and the form where its managers add a custom scenario.

Whoever may see the portfolio sees its stress page (an investor through a stake sees stake ×
every money figure, as on the report); only its managers and admins add scenarios. Anything
outside the user's reach answers 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.access import (
    can_manage,
    get_portfolio_for_user,
    get_scenario_for_user,
    investor_share,
)
from accounts.types import AuthenticatedRequest
from riskmodels import tasks
from riskmodels.services import create_stress_scenario, delete_stress_scenario
from riskmodels.stress_forms import CustomScenarioForm
from riskmodels.stress_pages import stress_page


@login_required
def stress(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    portfolio = get_portfolio_for_user(request.user, slug)
    stake = investor_share(request.user, portfolio)
    context = {
        "portfolio": portfolio,
        "investor": stake is not None,
        "can_manage": can_manage(request.user, portfolio),
        "page": stress_page(portfolio=portfolio, stake=stake),
    }
    return render(request, "riskmodels/stress.html", context)


@login_required
def new_scenario(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    portfolio = get_portfolio_for_user(request.user, slug, manage=True)
    form = CustomScenarioForm(request.POST or None, portfolio=portfolio)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                scenario = create_stress_scenario(
                    user=request.user,
                    name=form.cleaned_data["name"],
                    shocks=form.shocks,
                    portfolio=portfolio,
                )
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            # After the commit, so that the worker finds the new scenario.
            transaction.on_commit(lambda: tasks.compute_exposure.delay(portfolio.pk))
            messages.success(
                request,
                f"Scenario “{scenario.name}” saved; the report is being recomputed with it.",
            )
            return redirect("riskmodels:stress", slug=portfolio.slug)
    return render(request, "riskmodels/stress_new.html", {"portfolio": portfolio, "form": form})


@login_required
@require_POST
def delete_scenario(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    scenario = get_scenario_for_user(request.user, pk, manage=True)
    portfolio = scenario.portfolio
    assert portfolio is not None  # noqa: S101 - get_scenario_for_user finds portfolios' own only
    delete_stress_scenario(scenario=scenario, user=request.user)
    transaction.on_commit(lambda: tasks.compute_exposure.delay(portfolio.pk))
    messages.success(request, f"Scenario “{scenario.name}” deleted; the report is recomputed.")
    return redirect("riskmodels:stress", slug=portfolio.slug)

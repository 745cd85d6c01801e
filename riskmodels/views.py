"""Alert actions. Fetch through accounts.access (404 outside reach), call one service."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.access import get_alert_for_user
from riskmodels.services import acknowledge_alert


class AcknowledgeForm(forms.Form):
    reason = forms.CharField(max_length=2000, strip=True)


@login_required
@require_POST
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_alert_for_user(request.user, pk, manage=True)
    form = AcknowledgeForm(request.POST)
    if not form.is_valid():
        return HttpResponse("Say why the alert is acknowledged.", status=400)
    try:
        acknowledge_alert(alert=alert, user=request.user, reason=form.cleaned_data["reason"])
    except ValidationError as error:
        return HttpResponse(" ".join(error.messages), status=400)
    messages.success(request, f"Alert acknowledged: {alert.get_rule_display()} {alert.subject}.")
    return redirect("portfolio:portfolio_detail", slug=alert.portfolio.slug)

"""The firm-wide exposure page: admins over every portfolio, managers over those they see.

Investors get 404 (accounts.access.firm_portfolios_for): the firm's figures are not theirs.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.access import firm_portfolios_for
from accounts.models import Role
from accounts.types import AuthenticatedRequest
from riskmodels.firm import exposure_rows, finding_rows, firm_page
from riskmodels.firm_alerts import live_firm_alert_rows


@login_required
def firm(request: AuthenticatedRequest) -> HttpResponse:
    page = firm_page(firm_portfolios_for(request.user), now=timezone.now())
    context = {"page": page, "findings": finding_rows(page), "exposures": exposure_rows(page)}
    if request.user.role == Role.ADMIN:  # over every portfolio: admins' alone
        context["firm_alerts"] = live_firm_alert_rows(page.names)
    return render(request, "riskmodels/firm.html", context)

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.access import portfolios_for
from accounts.models import Role, User
from portfolio.models import Counterparty

HOME_TEMPLATES = {
    Role.ADMIN: "accounts/home_admin.html",
    Role.MANAGER: "accounts/home_manager.html",
    Role.INVESTOR: "accounts/home_investor.html",
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    context: dict[str, object] = {"portfolios": portfolios_for(user).order_by("name")}
    if user.role == Role.ADMIN:
        context["user_count"] = User.objects.count()
        context["counterparty_count"] = Counterparty.objects.count()
    return render(request, HOME_TEMPLATES[Role(user.role)], context)

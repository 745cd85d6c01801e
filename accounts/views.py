from __future__ import annotations

from decimal import Decimal
from math import ceil

from axes.helpers import get_cool_off
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.access import portfolios_for
from accounts.forms import TokenForm
from accounts.models import InvestorStake, Role, User
from accounts.services import confirm_totp_device, start_totp_setup
from accounts.signin import SignInForm
from accounts.two_factor import (
    VERIFY_URL_NAME,
    base32_secret,
    confirmed_device,
    is_required,
    next_url,
    qr_code_svg,
)
from accounts.types import AuthenticatedRequest
from portfolio.models import Counterparty
from riskmodels.selectors import dashboard

# The pending authenticator this session is enrolling (accounts.services.start_totp_setup).
PENDING_DEVICE_SESSION_KEY = "pending_totp_device"

HOME_TEMPLATES = {
    Role.ADMIN: "accounts/home_admin.html",
    Role.MANAGER: "accounts/home_manager.html",
    Role.INVESTOR: "accounts/home_investor.html",
}


@login_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    portfolios = portfolios_for(user).order_by("name")
    context: dict[str, object] = {"portfolios": portfolios}
    if user.role == Role.ADMIN:
        context["user_count"] = User.objects.count()
        context["counterparty_count"] = Counterparty.objects.count()
    if user.role == Role.INVESTOR:
        context["two_factor_on"] = confirmed_device(user) is not None
    context["dashboard"] = dashboard(portfolios, now=timezone.now(), stakes=_stakes_of(user))
    return render(request, HOME_TEMPLATES[Role(user.role)], context)


def _stakes_of(user: User) -> dict[int, Decimal] | None:
    """An investor's stakes by portfolio id (their dashboard shows their share); None otherwise."""
    if user.role != Role.INVESTOR:
        return None
    return dict(InvestorStake.objects.filter(investor=user).values_list("portfolio_id", "share"))


def _mark_verified(request: HttpRequest, device: TOTPDevice) -> HttpResponse:
    # A new session key for the now stronger session, as Django does at password login.
    request.session.cycle_key()
    otp_login(request, device)
    return redirect(next_url(request))


@login_required
def two_factor_setup(request: AuthenticatedRequest) -> HttpResponse:
    """Enrol an authenticator app: scan or type the secret, then prove it with one code."""
    if confirmed_device(request.user) is not None:
        # Never a second device from this page: a password alone must not replace the first.
        return redirect(VERIFY_URL_NAME if not request.user.is_verified() else "home")
    device = start_totp_setup(
        user=request.user, pending_id=request.session.get(PENDING_DEVICE_SESSION_KEY)
    )
    request.session[PENDING_DEVICE_SESSION_KEY] = device.pk
    form = TokenForm(device, request.POST or None)
    if form.is_valid():
        confirm_totp_device(device=device)
        messages.success(request, "Two-factor authentication is on.")
        return _mark_verified(request, device)
    context = {
        "form": form,
        "qr_code_svg": qr_code_svg(device),
        "secret": base32_secret(device),
        "required": is_required(request.user),
        "next": request.POST.get("next") or request.GET.get("next", ""),
    }
    return render(request, "accounts/two_factor_setup.html", context)


@login_required
def two_factor_verify(request: AuthenticatedRequest) -> HttpResponse:
    """The second step of login for anyone with an authenticator app."""
    device = confirmed_device(request.user)
    if device is None or request.user.is_verified():
        return redirect("home")  # home, or the middleware's way to setup for required roles
    form = TokenForm(device, request.POST or None)
    if form.is_valid():
        return _mark_verified(request, device)
    context = {"form": form, "next": request.POST.get("next") or request.GET.get("next", "")}
    return render(request, "accounts/two_factor_verify.html", context)


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """django-axes' answer to a locked-out login: the login page, saying why, how long, and
    that the password with an authenticator code still signs in (accounts.signin)."""
    cool_off = get_cool_off(request)
    minutes = ceil(cool_off.total_seconds() / 60) if cool_off else None
    username = (credentials or {}).get("username", "")
    form = SignInForm(request, initial={"username": username})
    context = {"form": form, "locked_out_minutes": minutes}
    return render(request, "registration/login.html", context, status=429)

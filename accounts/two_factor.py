"""Reads for two-factor login: who must verify, where they go next, and the setup QR code.

Admins and managers must use TOTP: they reach exchange API keys and every investor's figures,
so a stolen password alone must not be enough. Investors may turn it on; once they have, it
is asked of them at every login like anyone else.
"""

from __future__ import annotations

from base64 import b32encode
from typing import TYPE_CHECKING

import segno
from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Role

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

REQUIRED_ROLES = frozenset({Role.ADMIN, Role.MANAGER})
SETUP_URL_NAME = "accounts:two_factor_setup"
VERIFY_URL_NAME = "accounts:two_factor_verify"


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def is_required(user: User) -> bool:
    return user.role in REQUIRED_ROLES


def pending_step(user: User | AnonymousUser) -> str | None:
    """The URL name of the step a signed-in user still owes before any other page, if any."""
    if not user.is_authenticated or user.is_verified():
        return None
    if confirmed_device(user) is not None:
        return VERIFY_URL_NAME
    if is_required(user):
        return SETUP_URL_NAME
    return None


def next_url(request: HttpRequest) -> str:
    """Where to go once verified: `next` if it stays on this site, home otherwise."""
    target = request.POST.get("next") or request.GET.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if safe else resolve_url(settings.LOGIN_REDIRECT_URL)


def base32_secret(device: TOTPDevice) -> str:
    """The key as authenticator apps take it when typed in rather than scanned."""
    return b32encode(device.bin_key).decode()


def qr_code_svg(device: TOTPDevice) -> str:
    """The otpauth:// URI as an inline SVG made here: the secret never leaves the server."""
    return segno.make(device.config_url, error="m").svg_inline(scale=5, light="#fff")

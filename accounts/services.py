"""Writes on users: roles (which decide Django admin access) and two-factor devices."""

from __future__ import annotations

from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Role, User


def apply_role(user: User) -> None:
    """Admins get the Django admin; nobody else does, whatever flags were set by hand."""
    user.is_staff = user.role == Role.ADMIN
    user.is_superuser = user.role == Role.ADMIN


def create_user(*, username: str, password: str, role: str, email: str = "") -> User:
    user = User(username=username, email=email, role=role)
    user.set_password(password)
    apply_role(user)
    user.full_clean()
    user.save()
    return user


def start_totp_setup(*, user: User) -> TOTPDevice:
    """The user's pending (unconfirmed) TOTP device, made on first use.

    Kept across page loads so that a code already scanned keeps working until confirmed.
    """
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


@transaction.atomic
def confirm_totp_device(*, device: TOTPDevice) -> None:
    """Make a device the user's one authenticator, dropping any other pending one."""
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user_id=device.user_id).exclude(pk=device.pk).delete()

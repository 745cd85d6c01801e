"""Writes on users: roles (which decide Django admin access), two-factor devices, and the
access grants and stakes that say what each user may see (audited)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.audit import diff, record_audit
from accounts.models import AccessGrant, AuditAction, InvestorStake, Role, User


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


ACCESS_AUDIT = {
    AccessGrant: (AuditAction.GRANT_SAVED, AuditAction.GRANT_DELETED, ("user", "level")),
    InvestorStake: (AuditAction.STAKE_SAVED, AuditAction.STAKE_DELETED, ("investor", "share")),
}


def _access_values(obj: AccessGrant | InvestorStake, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in names}


@transaction.atomic
def save_access(*, obj: AccessGrant | InvestorStake, actor: User | None) -> None:
    """Save a grant or a stake, validated, and record what changed on the audit trail."""
    saved, _, names = ACCESS_AUDIT[type(obj)]
    before = type(obj).objects.filter(pk=obj.pk).first() if obj.pk else None
    obj.full_clean()
    obj.save()
    old = _access_values(before, names) if before else {}
    changes = diff(old, _access_values(obj, names))
    if changes:
        record_audit(
            actor=actor, action=saved, target=obj, portfolio_id=obj.portfolio_id, changes=changes
        )


@transaction.atomic
def delete_access(*, obj: AccessGrant | InvestorStake, actor: User | None) -> None:
    _, deleted, names = ACCESS_AUDIT[type(obj)]
    changes = {name: (value, None) for name, value in _access_values(obj, names).items()}
    record_audit(
        actor=actor, action=deleted, target=obj, portfolio_id=obj.portfolio_id, changes=changes
    )
    obj.delete()

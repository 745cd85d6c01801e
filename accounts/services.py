"""Writes on users: roles (which decide Django admin access), two-factor devices, and the
access grants and stakes that say what each user may see (audited)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
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


PENDING_DEVICE_MAX_AGE = timedelta(days=1)


def start_totp_setup(*, user: User, pending_id: int | None) -> TOTPDevice:
    """The pending (unconfirmed) TOTP device of this enrolment, made on its first page.

    `pending_id` is the device this session started (kept in the session), so that a code
    already scanned keeps working on reload; another session, such as one that guessed or
    stole the password, never sees that secret: it gets a device of its own. Pending devices
    older than a day are dropped.
    """
    pending = TOTPDevice.objects.filter(user=user, confirmed=False)
    pending.filter(created_at__lt=timezone.now() - PENDING_DEVICE_MAX_AGE).delete()
    device = pending.filter(pk=pending_id).first() if pending_id is not None else None
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

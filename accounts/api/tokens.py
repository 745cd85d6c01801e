"""Personal API tokens: made, revoked and checked here, and audited.

A token is `cw_` and 43 URL-safe characters (256 random bits). Only its SHA-256 digest is
stored: a high-entropy token needs no slow hash, and a leaked table yields no usable token.
The first characters (`prefix`) are kept in clear so that its owner can tell tokens apart.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from accounts.audit import record_audit
from accounts.models import ApiToken, AuditAction, User

TOKEN_MARK = "cw_"  # noqa: S105 - the public mark that starts every token
PREFIX_LENGTH = 10  # "cw_" and 7 characters: enough to recognise, far too few to guess
# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token just made: `raw` is shown to its owner once and stored nowhere."""

    token: ApiToken
    raw: str


def digest_of(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def may_manage_tokens_of(actor: User, owner: User) -> bool:
    """Users manage their own tokens; admins manage everyone's."""
    return actor.is_active and (actor.pk == owner.pk or actor.is_admin)


@transaction.atomic
def create_api_token(*, actor: User, owner: User, name: str) -> NewToken:
    """Make a token for `owner`, recording who made it (never the token) on the audit trail."""
    if not may_manage_tokens_of(actor, owner):
        raise PermissionDenied
    raw = TOKEN_MARK + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=owner,
        name=name.strip()[:80] or "API token",
        prefix=raw[:PREFIX_LENGTH],
        digest=digest_of(raw),
        created_by=actor,
    )
    record_audit(
        actor=actor,
        action=AuditAction.API_TOKEN_CREATED,
        target=token,
        changes={"name": (None, token.name), "prefix": (None, token.prefix)},
    )
    return NewToken(token=token, raw=raw)


@transaction.atomic
def revoke_api_token(*, actor: User, token: ApiToken) -> ApiToken:
    """Revoke a token for good. Revoking a revoked token changes nothing and records nothing."""
    if not may_manage_tokens_of(actor, token.user):
        raise PermissionDenied
    now = timezone.now()
    # A conditional UPDATE, so that two revocations at once record one event.
    if ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(revoked_at=now):
        record_audit(
            actor=actor,
            action=AuditAction.API_TOKEN_REVOKED,
            target=token,
            changes={"revoked_at": (None, now.isoformat())},
        )
    token.refresh_from_db()
    return token


@transaction.atomic
def revoke_tokens_after_password_change(*, user: User) -> int:
    """A new password ends every API token of the user (a stolen password may have made
    one); each revocation is audited with the reason. How many were revoked."""
    now = timezone.now()
    tokens = list(ApiToken.objects.select_for_update().filter(user=user, revoked_at=None))
    ApiToken.objects.filter(pk__in=[token.pk for token in tokens]).update(revoked_at=now)
    for token in tokens:
        record_audit(
            actor=None,
            action=AuditAction.API_TOKEN_REVOKED,
            target=token,
            changes={"revoked_at": (None, now.isoformat()), "reason": (None, "password changed")},
        )
    return len(tokens)


def user_for_token(raw: str) -> tuple[User, ApiToken] | None:
    """The active user a live token belongs to, or None; notes when the token was used."""
    if not raw.startswith(TOKEN_MARK):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=digest_of(raw), revoked_at=None, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    _note_use(token)
    return token.user, token


def _note_use(token: ApiToken) -> None:
    now = timezone.now()
    recent = token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION
    if not recent:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now

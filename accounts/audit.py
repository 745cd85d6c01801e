"""The audit trail: one function that every audited service calls."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models

from accounts.models import AuditEvent, User

# What the trail says of a credential: that it was replaced, never its value.
REPLACED = "replaced (values are never recorded)"


def record_audit(
    *,
    actor: User | None,
    action: str,
    target: models.Model,
    portfolio_id: int | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Record one change. `changes` maps a field to (old, new); unchanged fields are left out
    and values become text."""
    as_text = {name: [_text(old), _text(new)] for name, (old, new) in (changes or {}).items()}
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        target=describe(target),
        portfolio_id=portfolio_id,
        changes={name: pair for name, pair in as_text.items() if pair[0] != pair[1]},
    )


def describe(target: models.Model) -> str:
    meta = target._meta
    return f"{meta.app_label}.{meta.model_name} #{target.pk}: {target}"[:200]


def diff(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The fields whose values differ; everything is new when there was no `before`."""
    before = before or {}
    return {
        name: (before.get(name), value)
        for name, value in after.items()
        if before.get(name) != value
    }


def _text(value: Any) -> str | None:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # 0.300000 and 0.3 are one level
    return None if value is None else str(value)

"""Users, their role, and what each user may see: access grants and investor stakes."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Fund manager"
    INVESTOR = "investor", "Investor"


class User(AbstractUser):
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.INVESTOR)
    # Set on each request's user by django-otp's OTPMiddleware: True once a device was verified.
    is_verified: Callable[[], bool]
    # An admin who sets a password may keep the user's API tokens (the admin's password form).
    keep_api_tokens = False

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="user_role_valid"),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        # set_password() leaves the new password in _password until the save.
        password_changed = self._password is not None and not self._state.adding  # type: ignore[attr-defined]
        super().save(*args, **kwargs)
        if password_changed and not self.keep_api_tokens:
            from accounts.api.tokens import revoke_tokens_after_password_change

            revoke_tokens_after_password_change(user=self)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER

    @property
    def is_investor(self) -> bool:
        return self.role == Role.INVESTOR


class AccessLevel(models.TextChoices):
    VIEW = "view", "View"
    MANAGE = "manage", "Manage"


class AccessGrant(models.Model):
    """A user may see (view) or run (manage) one portfolio. Investors only ever view."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="grants")
    portfolio = models.ForeignKey(
        "portfolio.Portfolio", on_delete=models.CASCADE, related_name="grants"
    )
    level = models.CharField(max_length=8, choices=AccessLevel.choices, default=AccessLevel.VIEW)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "portfolio"], name="one_grant_per_user"),
            models.CheckConstraint(
                condition=Q(level__in=AccessLevel.values), name="grant_level_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.level} {self.portfolio}"

    def clean(self) -> None:
        if self.level == AccessLevel.MANAGE and self.user.role != Role.MANAGER:
            raise ValidationError({"level": "Only fund managers manage portfolios."})


class InvestorStake(models.Model):
    """An investor's pro-rata share of a portfolio: they see share × every figure."""

    investor = models.ForeignKey(User, on_delete=models.CASCADE, related_name="stakes")
    portfolio = models.ForeignKey(
        "portfolio.Portfolio", on_delete=models.CASCADE, related_name="stakes"
    )
    share = models.DecimalField(max_digits=11, decimal_places=10)
    since = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["investor", "portfolio"], name="one_stake_per_investor"
            ),
            models.CheckConstraint(
                condition=Q(share__gt=Decimal(0)) & Q(share__lte=Decimal(1)),
                name="stake_share_between_0_and_1",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.investor} {self.share} of {self.portfolio}"


class AuditAction(models.TextChoices):
    CREDENTIALS_SET = "credentials_set", "Exchange credentials set"
    LIMIT_SAVED = "limit_saved", "Risk limit created or changed"
    LIMIT_DELETED = "limit_deleted", "Risk limit deleted"
    GRANT_SAVED = "grant_saved", "Access granted or changed"
    GRANT_DELETED = "grant_deleted", "Access revoked"
    STAKE_SAVED = "stake_saved", "Investor stake set"
    STAKE_DELETED = "stake_deleted", "Investor stake removed"
    ALERT_ACKNOWLEDGED = "alert_acknowledged", "Alert acknowledged"
    API_TOKEN_CREATED = "api_token_created", "API token created"
    API_TOKEN_REVOKED = "api_token_revoked", "API token revoked"
    WEBHOOK_CREATED = "webhook_created", "Webhook endpoint registered"
    WEBHOOK_DISABLED = "webhook_disabled", "Webhook endpoint disabled"
    DROP_CONFIRMED = "drop_confirmed", "Balance drop confirmed"
    DROP_REJECTED = "drop_rejected", "Balance drop rejected"
    SETTLEMENT_SAVED = "settlement_saved", "Off-exchange settlement set or changed"
    SETTLEMENT_DELETED = "settlement_deleted", "Off-exchange settlement removed"
    SCENARIO_CREATED = "scenario_created", "Stress scenario created"
    SCENARIO_DELETED = "scenario_deleted", "Stress scenario deleted"


class AuditEvent(models.Model):
    """Who changed what, when: append-only, and never holding a secret."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    action = models.CharField(max_length=24, choices=AuditAction.choices)
    target = models.CharField(max_length=200)  # e.g. "portfolio.exchangeaccount #12: Binance"
    portfolio = models.ForeignKey(
        "portfolio.Portfolio",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_events",
    )
    # {field: [old, new]}; credential fields record only that they changed.
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=AuditAction.values), name="audit_action_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.get_action_display()}: {self.target}"


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 digest is stored: the token is shown once.

    `prefix` (the first characters) lets its owner tell tokens apart; it cannot authenticate.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=16, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.user} {self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

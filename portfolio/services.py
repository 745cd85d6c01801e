"""Writes on portfolios, locations and exchange accounts."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from portfolio.crypto import encrypt_credentials
from portfolio.models import (
    Counterparty,
    CustodyLocation,
    ExchangeAccount,
    LocationKind,
    Portfolio,
)


def set_exchange_credentials(*, account: ExchangeAccount, credentials: dict[str, str]) -> None:
    """Store new credentials encrypted and forget that the old ones were broken."""
    account.credentials_encrypted = encrypt_credentials(credentials)
    account.credentials_updated_at = timezone.now()
    account.credentials_broken_at = None
    account.credentials_error = ""
    account.key_permissions = {}
    account.save(
        update_fields=[
            "credentials_encrypted",
            "credentials_updated_at",
            "credentials_broken_at",
            "credentials_error",
            "key_permissions",
        ]
    )


@transaction.atomic
def create_exchange_account(
    *,
    portfolio: Portfolio,
    name: str,
    exchange_id: str,
    custodian_slug: str | None = None,
    credentials: dict[str, str] | None = None,
    wallets: list[str] | None = None,
) -> ExchangeAccount:
    """A location on an exchange; its custodian defaults to the exchange's operating entity."""
    custodian = Counterparty.objects.get(slug=custodian_slug or exchange_id)
    location = CustodyLocation.objects.create(
        portfolio=portfolio, name=name, kind=LocationKind.EXCHANGE, custodian=custodian
    )
    account = ExchangeAccount(location=location, exchange_id=exchange_id)
    if wallets is not None:
        account.wallets = wallets
    account.full_clean(exclude=["location"])
    account.save()
    if credentials:
        set_exchange_credentials(account=account, credentials=credentials)
    return account

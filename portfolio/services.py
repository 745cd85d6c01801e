"""Writes on portfolios, locations and exchange accounts."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import REPLACED, record_audit
from accounts.models import AuditAction
from portfolio import exchanges
from portfolio.crypto import (
    CredentialsUnreadable,
    decrypt_credentials,
    encrypt_credentials,
    key_fingerprint,
)
from portfolio.models import (
    Counterparty,
    CounterpartyKind,
    CustodyLocation,
    ExchangeAccount,
    LocationKind,
    OffExchangeSettlement,
    Portfolio,
    RatingTier,
)
from portfolio.registry import UNCLASSIFIED_NOTE

if TYPE_CHECKING:
    from accounts.models import User

log = logging.getLogger(__name__)


def set_exchange_credentials(
    *, account: ExchangeAccount, credentials: dict[str, str], actor: User | None = None
) -> None:
    """Store new credentials encrypted, forget that the old ones were broken, and put the
    change (never the values) on the audit trail. A key already stored for another location
    is refused (ValidationError): the same exchange account twice counts its money twice."""
    if account.is_subaccount:
        raise ValidationError(
            "A sub-account is read with its master's key: it has none of its own."
        )
    fingerprint = key_fingerprint(account.exchange_id, credentials)
    refuse_key_in_use(account, fingerprint)
    account.credentials_encrypted = encrypt_credentials(credentials)
    account.credentials_updated_at = timezone.now()
    account.credentials_broken_at = None
    account.credentials_error = ""
    account.key_permissions = {}
    account.key_fingerprint = fingerprint
    try:
        with transaction.atomic():
            account.save(update_fields=CREDENTIAL_COLUMNS)
    except IntegrityError:  # stored elsewhere meanwhile: the same refusal
        refuse_key_in_use(account, fingerprint)
        raise
    given = ", ".join(sorted(name for name, value in credentials.items() if value))
    record_audit(
        actor=actor,
        action=AuditAction.CREDENTIALS_SET,
        target=account,
        portfolio_id=account.location.portfolio_id,
        changes={"credentials": (None, f"{given}: {REPLACED}")},
    )


CREDENTIAL_COLUMNS = [
    "credentials_encrypted",
    "credentials_updated_at",
    "credentials_broken_at",
    "credentials_error",
    "key_permissions",
    "key_fingerprint",
]


def refuse_key_in_use(account: ExchangeAccount, fingerprint: str) -> None:
    """ValidationError when another location already holds this exchange account's key. The
    other place is named only within the same portfolio: another fund's is not the user's to
    know."""
    if not fingerprint:
        return
    other = (
        ExchangeAccount.objects.filter(key_fingerprint=fingerprint)
        .exclude(pk=account.pk)
        .select_related("location")
        .first()
    )
    if other is None:
        return
    where = (
        f"the location “{other.location.name}” of this portfolio"
        if other.location.portfolio_id == account.location.portfolio_id
        else "another portfolio"
    )
    raise ValidationError(
        f"This API key is already used by {where}. The same exchange account in two places "
        "would count the same money twice in a firm-wide view; use that location, or ask an "
        "admin to move it."
    )


def get_or_create_exchange_counterparty(*, exchange_id: str) -> tuple[Counterparty, bool]:
    """The exchange's operating entity; one the registry lacks is created unrated (the unrated
    limits apply at once), with a note telling admins to classify it."""
    found = Counterparty.objects.filter(slug=exchange_id).first()
    if found is not None:
        return found, False
    name = exchanges.display_name(exchange_id)
    counterparty = Counterparty.objects.create(
        slug=exchange_id,
        name=name,
        kind=CounterpartyKind.EXCHANGE,
        rating_tier=RatingTier.UNRATED,
        rating_note=f"{UNCLASSIFIED_NOTE} An admin should set its legal name, jurisdiction, "
        "group and tier; until then the unrated limits apply.",
    )
    log.warning("exchange %s is not in the registry: created unrated, to classify", exchange_id)
    return counterparty, True


@transaction.atomic
def create_exchange_account(
    *,
    portfolio: Portfolio,
    name: str,
    exchange_id: str,
    custodian_slug: str | None = None,
    credentials: dict[str, str] | None = None,
    wallets: list[str] | None = None,
    actor: User | None = None,
    include_subaccounts: bool = False,
) -> ExchangeAccount:
    """A location on an exchange; its custodian defaults to the exchange's operating entity,
    created unrated when the registry has none (see get_or_create_exchange_counterparty)."""
    if custodian_slug:
        custodian = Counterparty.objects.get(slug=custodian_slug)
    else:
        custodian, _ = get_or_create_exchange_counterparty(exchange_id=exchange_id)
    location = CustodyLocation.objects.create(
        portfolio=portfolio, name=name, kind=LocationKind.EXCHANGE, custodian=custodian
    )
    account = ExchangeAccount(
        location=location, exchange_id=exchange_id, include_subaccounts=include_subaccounts
    )
    if wallets is not None:
        account.wallets = wallets
    account.full_clean(exclude=["location"])
    account.save()
    if credentials:
        set_exchange_credentials(account=account, credentials=credentials, actor=actor)
    return account


@transaction.atomic
def update_exchange_account(
    *,
    account: ExchangeAccount,
    wallets: list[str],
    credentials: dict[str, str] | None = None,
    actor: User | None = None,
    include_subaccounts: bool | None = None,
) -> ExchangeAccount:
    """New wallets, and new credentials when given: None keeps the stored ones (and the
    sub-account choice)."""
    account.wallets = wallets
    if include_subaccounts is not None and not account.is_subaccount:
        account.include_subaccounts = include_subaccounts
    account.full_clean(exclude=["location", "master"])
    account.save(update_fields=["wallets", "include_subaccounts"])
    if credentials:
        set_exchange_credentials(account=account, credentials=credentials, actor=actor)
    return account


@dataclass(frozen=True, slots=True)
class ConnectionResult:
    """What one trial fetch found, in words for the fund manager."""

    ok: bool
    message: str
    balance_count: int = 0
    permission_warning: str = ""


def test_connection(
    *, exchange_id: str, credentials: dict[str, str], wallets: Iterable[str] | None = None
) -> ConnectionResult:
    """Fetch the account once with these credentials and store nothing at all.

    Every failure becomes a result, never an exception: the page that asked shows it in words.
    """
    if wallets is None:
        wallets = exchanges.supported_wallets(exchange_id)
    try:
        fetched = exchanges.fetch_account(
            exchange_id,
            credentials,
            wallets,
            emulator_url=settings.EXCHANGE_EMULATOR_URL or None,
            timeout_ms=settings.SYNC_TIMEOUT_MS,
        )
    except exchanges.ExchangeFault as fault:
        return ConnectionResult(ok=False, message=fault.message)
    except Exception as error:  # a trial must answer in words, whatever broke
        # The class only: a message could quote a request, and requests carry the key.
        log.warning("connection test to %s failed: %s", exchange_id, type(error).__name__)
        return ConnectionResult(
            ok=False, message=f"The test failed unexpectedly ({type(error).__name__})."
        )
    return _connection_result(fetched)


# A service, not a test: keep pytest from collecting it. Functions take any attribute at run
# time, but mypy knows none beyond those of a callable.
test_connection.__test__ = False  # type: ignore[attr-defined]


def _connection_result(fetched: exchanges.FetchedAccount) -> ConnectionResult:
    count = len(fetched.balances)
    warning = ExchangeAccount(key_permissions=fetched.key_permissions or {}).permission_warning
    return ConnectionResult(
        ok=True,
        message=f"Connection works: {count} balance{'s' if count != 1 else ''} found.",
        balance_count=count,
        permission_warning=warning,
    )


def test_account_connection(
    *, account: ExchangeAccount, wallets: Iterable[str], credentials: dict[str, str] | None = None
) -> ConnectionResult:
    """A trial fetch with new credentials, or the stored ones when none are given."""
    if credentials is None:
        if not account.has_credentials:
            return ConnectionResult(ok=False, message="No credentials are stored: enter a key.")
        try:
            credentials = decrypt_credentials(account.credentials_encrypted)
        except CredentialsUnreadable:
            return ConnectionResult(
                ok=False, message="The stored credentials cannot be decrypted: enter them again."
            )
    return test_connection(
        exchange_id=account.exchange_id, credentials=credentials, wallets=wallets
    )


test_account_connection.__test__ = False  # type: ignore[attr-defined]  # as test_connection's


@transaction.atomic
def save_off_exchange_settlement(
    *,
    account: ExchangeAccount,
    network: str,
    custodian: Counterparty,
    interval_hours: int,
    settled_at: datetime,
    actor: User | None = None,
) -> OffExchangeSettlement:
    """Mark an exchange account as settled off exchange (or change how), audited."""
    found = OffExchangeSettlement.objects.filter(pk=account.pk).first()
    old = _settlement_fields(found)
    settlement = found or OffExchangeSettlement(account=account)
    settlement.network, settlement.custodian = network, custodian
    settlement.interval_hours, settlement.settled_at = interval_hours, settled_at
    settlement.full_clean(exclude=["account"])
    settlement.save()
    new = _settlement_fields(settlement)
    record_audit(
        actor=actor,
        action=AuditAction.SETTLEMENT_SAVED,
        target=account,
        portfolio_id=account.location.portfolio_id,
        changes={k: (old.get(k), v) for k, v in new.items() if old.get(k) != v},
    )
    _recompute_after_commit(account, "settled off exchange through " + network, actor)
    return settlement


@transaction.atomic
def delete_off_exchange_settlement(*, account: ExchangeAccount, actor: User | None = None) -> None:
    """The whole balance counts against the exchange again, audited."""
    found = OffExchangeSettlement.objects.filter(pk=account.pk).first()
    if found is None:
        return
    changes = {k: (v, None) for k, v in _settlement_fields(found).items()}
    found.delete()
    record_audit(
        actor=actor,
        action=AuditAction.SETTLEMENT_DELETED,
        target=account,
        portfolio_id=account.location.portfolio_id,
        changes=changes,
    )
    _recompute_after_commit(account, "no longer settled off exchange", actor)


def _settlement_fields(settlement: OffExchangeSettlement | None) -> dict[str, object]:
    if settlement is None:
        return {}
    return {
        "network": settlement.network,
        "custodian": settlement.custodian.slug,
        "interval_hours": settlement.interval_hours,
        "settled_at": settlement.settled_at.isoformat(),
    }


def _recompute_after_commit(account: ExchangeAccount, what: str, actor: User | None) -> None:
    """The split changes the report: it says so, and recomputes once the change is committed
    (debounced, riskmodels/freshness.py)."""
    from riskmodels.freshness import note_change  # riskmodels reads portfolio
    from riskmodels.models import ChangeKind

    note_change(
        portfolio_ids=[account.location.portfolio_id],
        kind=ChangeKind.CUSTODY,
        summary=f"{account.location.name}: {what}",
        user=actor,
    )

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from accounts.models import AccessGrant, AccessLevel, InvestorStake
from portfolio.crypto import (
    CredentialsUnreadable,
    decrypt_credentials,
    encrypt_credentials,
    reencrypt_credentials,
)
from portfolio.models import Asset, Counterparty, CustodyLocation, ExchangeAccount, LocationKind
from portfolio.services import create_exchange_account, set_exchange_credentials
from tests.factories import (
    AssetFactory,
    CounterpartyFactory,
    HoldingFactory,
    PortfolioFactory,
    SnapshotFactory,
    UserFactory,
)

CREDENTIALS = {"apiKey": "demo-key-4f2a", "secret": "demo-secret-9c1e", "password": "pass-77"}


def _fails_in_database(make: Callable[[], object]) -> bool:
    try:
        with transaction.atomic():
            make()
    except IntegrityError:
        return True
    return False


def test_self_custody_location_must_have_no_custodian(db):
    fund, custodian = PortfolioFactory.create(), CounterpartyFactory.create()
    assert _fails_in_database(
        lambda: CustodyLocation.objects.create(
            portfolio=fund, name="w", kind=LocationKind.SELF_CUSTODY, custodian=custodian
        )
    )


def test_every_other_location_needs_a_custodian(db):
    fund = PortfolioFactory.create()
    for kind in ("exchange", "custodian", "defi", "bank"):
        assert _fails_in_database(
            lambda kind=kind: CustodyLocation.objects.create(portfolio=fund, name=kind, kind=kind)
        )


def test_location_clean_explains_the_custodian_rule(db):
    location = CustodyLocation(portfolio=PortfolioFactory.create(), name="x", kind="custodian")
    with pytest.raises(ValidationError, match="Name who holds the assets"):
        location.full_clean()


@pytest.mark.parametrize("share", ["0", "-0.1", "1.0000000001"])
def test_stake_outside_zero_to_one_is_refused_by_the_database(db, share):
    investor, fund = UserFactory.create(), PortfolioFactory.create()
    assert _fails_in_database(
        lambda: InvestorStake.objects.create(
            investor=investor, portfolio=fund, share=Decimal(share)
        )
    )


def test_stake_of_one_is_allowed(db):
    stake = InvestorStake.objects.create(
        investor=UserFactory.create(), portfolio=PortfolioFactory.create(), share=Decimal("1")
    )
    assert stake.share == Decimal("1")


def test_slugs_and_codes_are_unique(db):
    CounterpartyFactory.create(slug="dup")
    AssetFactory.create(code="DUP")
    assert _fails_in_database(
        lambda: Counterparty.objects.create(slug="dup", name="x", kind="bank")
    )
    assert _fails_in_database(lambda: Asset.objects.create(code="DUP"))


def test_one_holding_per_asset_and_product_in_a_snapshot(db):
    holding = HoldingFactory.create(product="spot")
    assert _fails_in_database(
        lambda: HoldingFactory.create(
            snapshot=holding.snapshot, asset=holding.asset, product="spot"
        )
    )
    assert HoldingFactory.create(snapshot=holding.snapshot, asset=holding.asset, product="earn").pk


def test_holding_amount_keeps_eighteen_decimals(db):
    holding = HoldingFactory.create(amount=Decimal("12345678901234567890.123456789012345678"))
    holding.refresh_from_db()
    assert holding.amount == Decimal("12345678901234567890.123456789012345678")


def test_investor_cannot_be_granted_manage(db):
    grant = AccessGrant(
        user=UserFactory.create(role="investor"), portfolio=PortfolioFactory.create()
    )
    grant.level = AccessLevel.MANAGE
    with pytest.raises(ValidationError, match="Only fund managers"):
        grant.full_clean()


def test_counterparty_cannot_be_its_own_ancestor(db):
    group = CounterpartyFactory.create(slug="group")
    entity = CounterpartyFactory.create(slug="entity", parent=group)
    group.parent = entity
    with pytest.raises(ValidationError, match="own ancestor"):
        group.full_clean()


def test_exchange_id_is_checked_against_ccxt(db):
    location = CustodyLocation.objects.create(
        portfolio=PortfolioFactory.create(),
        name="x",
        kind="exchange",
        custodian=CounterpartyFactory.create(),
    )
    account = ExchangeAccount(location=location, exchange_id="notanexchange")
    with pytest.raises(ValidationError, match="not a ccxt exchange id"):
        account.full_clean()


def test_credentials_are_encrypted_at_rest_and_decrypt_back(db):
    CounterpartyFactory.create(slug="okx")
    account = create_exchange_account(
        portfolio=PortfolioFactory.create(),
        name="OKX main",
        exchange_id="okx",
        credentials=CREDENTIALS,
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM portfolio_exchangeaccount")
        stored = repr(cursor.fetchall())
    for secret in CREDENTIALS.values():
        assert secret not in stored
    assert decrypt_credentials(account.credentials_encrypted) == CREDENTIALS


def test_new_credentials_clear_the_broken_mark(db):
    CounterpartyFactory.create(slug="kraken")
    account = create_exchange_account(
        portfolio=PortfolioFactory.create(), name="k", exchange_id="kraken", credentials=CREDENTIALS
    )
    ExchangeAccount.objects.filter(pk=account.pk).update(
        credentials_broken_at="2026-01-01T00:00:00Z", credentials_error="revoked"
    )
    account.refresh_from_db()
    set_exchange_credentials(account=account, credentials=CREDENTIALS)
    account.refresh_from_db()
    assert account.credentials_broken_at is None and account.credentials_error == ""


def test_exchange_account_custodian_defaults_to_the_exchange(db):
    binance = CounterpartyFactory.create(slug="binance")
    account = create_exchange_account(
        portfolio=PortfolioFactory.create(), name="b", exchange_id="binance"
    )
    assert account.location.custodian == binance


def test_rotated_key_still_decrypts_and_reencrypts_under_the_new(db, settings):
    from cryptography.fernet import Fernet

    old_key = settings.CREDENTIALS_KEYS[0]
    token = encrypt_credentials(CREDENTIALS)
    settings.CREDENTIALS_KEYS = [Fernet.generate_key().decode(), old_key]
    rotated = reencrypt_credentials(token)
    settings.CREDENTIALS_KEYS = settings.CREDENTIALS_KEYS[:1]
    assert decrypt_credentials(rotated) == CREDENTIALS
    with pytest.raises(CredentialsUnreadable):
        decrypt_credentials(token)


def test_snapshot_factory_builds_a_location_with_a_custodian(db):
    assert SnapshotFactory.create().location.custodian_id is not None

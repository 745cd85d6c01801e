"""`manage.py rotate_credentials_key`: every credential moves to the newest key, or says why not.

(The command lives in portfolio/; its tests sit here with the rest of the security work.)
"""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from portfolio.crypto import CredentialsUnreadable, decrypt_credentials, encrypt_credentials
from portfolio.management.commands.rotate_credentials_key import (
    RotationMismatch,
    RotationReport,
    _rotate_one,
)
from portfolio.models import ExchangeAccount
from portfolio.services import set_exchange_credentials
from riskmodels.webhooks import create_webhook_endpoint, secret_of
from tests.factories import CounterpartyFactory, ExchangeAccountFactory

OLD, NEW, LOST = (Fernet.generate_key().decode() for _ in range(3))


def _accounts_with_credentials(count: int) -> dict[int, dict[str, str]]:
    kraken = CounterpartyFactory.create(slug="kraken")
    originals = {}
    for n in range(count):
        account = ExchangeAccountFactory.create(location__custodian=kraken, exchange_id="kraken")
        credentials = {"apiKey": f"key-{n}", "secret": f"secret-{n}"}
        set_exchange_credentials(account=account, credentials=credentials)
        originals[account.pk] = credentials
    return originals


def _rotate() -> str:
    out = StringIO()
    call_command("rotate_credentials_key", stdout=out, stderr=StringIO())
    return out.getvalue()


def test_rotation_leaves_every_credential_readable_with_only_the_new_key(db, settings):
    settings.CREDENTIALS_KEYS = [OLD]
    originals = _accounts_with_credentials(3)
    ExchangeAccountFactory.create(
        location__custodian=CounterpartyFactory.create(slug="okx")
    )  # no key stored
    settings.CREDENTIALS_KEYS = [NEW, OLD]
    assert "Re-encrypted 3; already under the newest key 0; unreadable 0." in _rotate()
    settings.CREDENTIALS_KEYS = [NEW]
    for pk, credentials in originals.items():
        token = ExchangeAccount.objects.get(pk=pk).credentials_encrypted
        assert decrypt_credentials(token) == credentials


def test_rotation_run_twice_changes_nothing_the_second_time(db, settings):
    settings.CREDENTIALS_KEYS = [OLD]
    _accounts_with_credentials(2)
    settings.CREDENTIALS_KEYS = [NEW, OLD]
    _rotate()
    tokens = list(ExchangeAccount.objects.order_by("pk").values_list("credentials_encrypted"))
    assert "Re-encrypted 0; already under the newest key 2; unreadable 0." in _rotate()
    assert list(ExchangeAccount.objects.order_by("pk").values_list("credentials_encrypted")) == (
        tokens
    )


def test_unreadable_token_is_reported_not_overwritten(db, settings):
    settings.CREDENTIALS_KEYS = [LOST]
    lost = _accounts_with_credentials(1)
    lost_pk = next(iter(lost))
    lost_token = ExchangeAccount.objects.get(pk=lost_pk).credentials_encrypted
    settings.CREDENTIALS_KEYS = [OLD]
    readable = ExchangeAccountFactory.create(
        location__custodian=CounterpartyFactory.create(slug="bybit")
    )
    readable.credentials_encrypted = encrypt_credentials({"apiKey": "k", "secret": "s"})
    readable.save()
    settings.CREDENTIALS_KEYS = [NEW, OLD]
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="keep the old keys"):
        call_command("rotate_credentials_key", stdout=out, stderr=err)
    assert "Re-encrypted 1; already under the newest key 0; unreadable 1." in out.getvalue()
    assert f"exchange account {lost_pk}" in err.getvalue()
    assert ExchangeAccount.objects.get(pk=lost_pk).credentials_encrypted == lost_token
    settings.CREDENTIALS_KEYS = [NEW]
    assert decrypt_credentials(ExchangeAccount.objects.get(pk=readable.pk).credentials_encrypted)
    with pytest.raises(CredentialsUnreadable):
        decrypt_credentials(lost_token)


def test_a_token_that_does_not_read_back_is_never_saved(db, settings):
    settings.CREDENTIALS_KEYS = [OLD]
    pk = next(iter(_accounts_with_credentials(1)))
    account = ExchangeAccount.objects.get(pk=pk)
    settings.CREDENTIALS_KEYS = [NEW, OLD]
    # Checked against a key other than the one that encrypts: the read-back must fail.
    with pytest.raises(RotationMismatch):
        _rotate_one(account, Fernet(LOST.encode()), RotationReport())
    assert ExchangeAccount.objects.get(pk=pk).credentials_encrypted == account.credentials_encrypted


def test_webhook_secrets_are_rotated_too(db, settings, tenants):
    settings.CREDENTIALS_KEYS = [OLD]
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    new = create_webhook_endpoint(
        user=tenants.alice, portfolio=tenants.fund_a, url="http://127.0.0.1:9/hook"
    )
    endpoint, secret = new.endpoint, new.secret
    settings.CREDENTIALS_KEYS = [NEW, OLD]
    assert "Re-encrypted 1;" in _rotate()
    settings.CREDENTIALS_KEYS = [NEW]
    endpoint.refresh_from_db()
    assert secret_of(endpoint) == secret

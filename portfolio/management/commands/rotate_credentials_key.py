"""Re-encrypt every exchange credential under the newest CREDENTIALS_KEYS entry.

The procedure (README, "Security"): put a new key first in CREDENTIALS_KEYS, restart, run
this command until it reports nothing unreadable, then drop the old key and restart again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from portfolio.crypto import CredentialsUnreadable, decrypt_credentials, reencrypt_credentials
from portfolio.models import ExchangeAccount


class RotationMismatch(Exception):
    """A re-encrypted token did not read back as the credentials it was made from."""


@dataclass
class RotationReport:
    rotated: int = 0
    already_current: int = 0
    unreadable: list[ExchangeAccount] = field(default_factory=list)


class Command(BaseCommand):
    help = (
        "Re-encrypt every exchange account's credentials under the newest CREDENTIALS_KEYS "
        "entry (the first). Safe to run again; nothing is written that does not decrypt."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = rotate_credentials()
        except RotationMismatch as error:
            raise CommandError(f"Nothing rotated: {error}") from None
        self.stdout.write(
            f"Re-encrypted {report.rotated}; already under the newest key "
            f"{report.already_current}; unreadable {len(report.unreadable)}."
        )
        for account in report.unreadable:
            self.stderr.write(
                f"unreadable: exchange account {account.pk} ({account}): no configured key "
                "decrypts it; it was left as it is. Put back the key that made it."
            )
        if report.unreadable:
            raise CommandError("Some credentials are unreadable: keep the old keys for now.")


def rotate_credentials() -> RotationReport:
    """1. Lock every account with stored credentials, in one transaction.
    2. Skip those the newest key already decrypts; report those no key decrypts.
    3. Re-encrypt the rest, check each new token decrypts with the newest key alone to the
       very same credentials, then save. One mismatch rolls everything back.
    """
    report = RotationReport()
    newest = Fernet(settings.CREDENTIALS_KEYS[0].encode())
    with transaction.atomic():
        accounts = ExchangeAccount.objects.select_for_update().exclude(credentials_encrypted="")
        for account in accounts.select_related("location").order_by("pk"):
            _rotate_one(account, newest, report)
    return report


def _rotate_one(account: ExchangeAccount, newest: Fernet, report: RotationReport) -> None:
    token = account.credentials_encrypted
    try:
        original = decrypt_credentials(token)
    except CredentialsUnreadable:
        report.unreadable.append(account)
        return
    if _decrypts_with(newest, token) is not None:
        report.already_current += 1
        return
    rotated = reencrypt_credentials(token)
    if _decrypts_with(newest, rotated) != original:
        raise RotationMismatch(f"exchange account {account.pk} did not read back the same")
    ExchangeAccount.objects.filter(pk=account.pk).update(credentials_encrypted=rotated)
    report.rotated += 1


def _decrypts_with(key: Fernet, token: str) -> dict[str, str] | None:
    try:
        return json.loads(key.decrypt(token.encode()))
    except InvalidToken:
        return None

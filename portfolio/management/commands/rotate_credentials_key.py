"""Re-encrypt every secret kept under CREDENTIALS_KEYS with the newest entry: exchange
credentials and webhook signing secrets.

The procedure (README, "Security"): put a new key first in CREDENTIALS_KEYS, restart, run
this command until it reports nothing unreadable, then drop the old key and restart again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction

from portfolio.crypto import credentials_cipher
from portfolio.models import ExchangeAccount
from riskmodels.models import WebhookEndpoint

# Every column holding a Fernet token made with CREDENTIALS_KEYS, with its words for reports.
ENCRYPTED_COLUMNS: tuple[tuple[type[models.Model], str, str], ...] = (
    (ExchangeAccount, "credentials_encrypted", "exchange account"),
    (WebhookEndpoint, "secret_encrypted", "webhook endpoint"),
)


class RotationMismatch(Exception):
    """A re-encrypted token did not read back as the secret it was made from."""


@dataclass
class RotationReport:
    rotated: int = 0
    already_current: int = 0
    unreadable: list[str] = field(default_factory=list)  # "exchange account 12 (…)"


class Command(BaseCommand):
    help = (
        "Re-encrypt every exchange credential and webhook secret under the newest "
        "CREDENTIALS_KEYS entry (the first). Safe to run again; nothing is written that does "
        "not decrypt."
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
        for name in report.unreadable:
            self.stderr.write(
                f"unreadable: {name}: no configured key decrypts it; it was left as it is. "
                "Put back the key that made it."
            )
        if report.unreadable:
            raise CommandError("Some credentials are unreadable: keep the old keys for now.")


def rotate_credentials() -> RotationReport:
    """1. Lock every row holding a token, in one transaction.
    2. Skip those the newest key already decrypts; report those no key decrypts.
    3. Re-encrypt the rest, check each new token decrypts with the newest key alone to the
       very same secret, then save. One mismatch rolls everything back.
    """
    report = RotationReport()
    newest = Fernet(settings.CREDENTIALS_KEYS[0].encode())
    with transaction.atomic():
        for model, column, _ in ENCRYPTED_COLUMNS:
            rows = model._default_manager.select_for_update().exclude(**{column: ""}).order_by("pk")
            for row in rows:
                _rotate_one(row, newest, report, column=column)
    return report


def _rotate_one(
    row: models.Model, newest: Fernet, report: RotationReport, *, column: str = ""
) -> None:
    column = column or _column_of(row)
    token = getattr(row, column).encode()
    cipher = credentials_cipher()
    try:
        original = cipher.decrypt(token)
    except InvalidToken:
        report.unreadable.append(f"{_words_of(row)} {row.pk} ({row})")
        return
    if _decrypts_with(newest, token) is not None:
        report.already_current += 1
        return
    rotated = cipher.rotate(token)
    if _decrypts_with(newest, rotated) != original:
        raise RotationMismatch(f"{_words_of(row)} {row.pk} did not read back the same")
    type(row)._default_manager.filter(pk=row.pk).update(**{column: rotated.decode()})
    report.rotated += 1


def _column_of(row: models.Model) -> str:
    return next(column for model, column, _ in ENCRYPTED_COLUMNS if isinstance(row, model))


def _words_of(row: models.Model) -> str:
    return next(words for model, _, words in ENCRYPTED_COLUMNS if isinstance(row, model))


def _decrypts_with(key: Fernet, token: bytes) -> bytes | None:
    try:
        return key.decrypt(token)
    except InvalidToken:
        return None

"""Exchange credentials at rest: Fernet tokens under a MultiFernet so that keys can rotate."""

from __future__ import annotations

import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from portfolio.credential_names import CREDENTIAL_NAMES

# What may be stored: the credentials ccxt can ask for.
CREDENTIAL_FIELDS = CREDENTIAL_NAMES


class CredentialsUnreadable(Exception):
    """No configured key decrypts the stored credentials (a key was retired too early)."""


def credentials_cipher() -> MultiFernet:
    """Every configured key decrypts; the first encrypts. Also used for webhook secrets."""
    return MultiFernet([Fernet(key.encode()) for key in settings.CREDENTIALS_KEYS])


def encrypt_credentials(credentials: dict[str, str]) -> str:
    unknown = set(credentials) - set(CREDENTIAL_FIELDS)
    if unknown:
        raise ValueError(f"Unknown credential fields: {', '.join(sorted(unknown))}")
    kept = {name: value for name, value in credentials.items() if value}
    return credentials_cipher().encrypt(json.dumps(kept, sort_keys=True).encode()).decode()


def decrypt_credentials(token: str) -> dict[str, str]:
    try:
        return json.loads(credentials_cipher().decrypt(token.encode()))
    except InvalidToken:
        raise CredentialsUnreadable("no configured CREDENTIALS_KEYS entry decrypts this") from None


def reencrypt_credentials(token: str) -> str:
    """The same credentials under the newest key; any configured key may have made `token`."""
    try:
        return credentials_cipher().rotate(token.encode()).decode()
    except InvalidToken:
        raise CredentialsUnreadable("no configured CREDENTIALS_KEYS entry decrypts this") from None

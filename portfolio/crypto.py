"""Exchange credentials at rest: Fernet tokens under a MultiFernet so that keys can rotate."""

from __future__ import annotations

import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.crypto import salted_hmac

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


# The credentials that name the exchange account itself (not the secret that signs for it).
IDENTITY_NAMES = ("apiKey", "walletAddress", "uid", "login", "accountId", "token")


def key_fingerprint(exchange_id: str, credentials: dict[str, str]) -> str:
    """Which exchange account these credentials open, as a keyed hash: equal for the same key
    on the same exchange, "" when nothing names the account. A wallet address is compared
    case-insensitively (0xAb.. and 0xab.. are one address)."""
    identity = next((credentials[n] for n in IDENTITY_NAMES if credentials.get(n)), "")
    if not identity:
        return ""
    if identity.startswith("0x"):
        identity = identity.lower()
    text = f"{exchange_id}\n{identity.strip()}"
    return salted_hmac("portfolio.key_fingerprint", text, algorithm="sha256").hexdigest()

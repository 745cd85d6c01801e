"""Every credential ccxt's `requiredCredentials` may name, in one place.

Neither Django nor ccxt is imported here: credentials encryption (portfolio.crypto) and the
exchanges package (its clients) both read this list, and neither may import the other.
"""

from __future__ import annotations

CREDENTIAL_NAMES: tuple[str, ...] = (
    "apiKey",
    "secret",
    "password",
    "uid",
    "accountId",
    "login",
    "twofa",
    "privateKey",
    "walletAddress",
    "token",
)

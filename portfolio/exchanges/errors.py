"""The exceptions of a sync: ExchangeFault leaves the package; the others are classified into one.

Apart from the classification (faults.py) so that adapters can raise them without importing ccxt
or the registry.
"""

from __future__ import annotations

RETRYABLE = frozenset({"network", "rate_limit", "maintenance", "timeout", "bad_response", "clock"})
CREDENTIAL_KINDS = frozenset({"authentication", "permission"})
KINDS = RETRYABLE | CREDENTIAL_KINDS | {"exchange_error"}


class ExchangeFault(Exception):
    """Every failure of a sync, classified for retrying and for the fund manager."""

    kind: str
    retryable: bool
    credentials_broken: bool
    error_class: str
    message: str

    def __init__(self, *, kind: str, error_class: str, message: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        super().__init__(message)
        self.kind = kind
        self.error_class = error_class
        self.message = message
        self.retryable = kind in RETRYABLE
        self.credentials_broken = kind in CREDENTIAL_KINDS


class Malformed(Exception):
    """A 2xx payload without the structure that confirms it: becomes a 'bad_response' fault."""


class MalformedAnswer(Malformed):
    """A value the boundary refuses (not finite, out of bounds, negative where no debt can be,
    a code that is no code, a repeated row that disagrees). `wallet` is filled in by the caller
    that knows which wallet was being read."""

    def __init__(self, detail: str, wallet: str = "") -> None:
        super().__init__(detail)
        self.detail = detail
        self.wallet = wallet


class PermissionsUnreadable(Exception):
    """A permission answer without the fields that say what the key may do."""


class QuoteRefused(Exception):
    """A quote the database cannot store exactly, or that cannot be a price."""


class CredentialFormatError(Exception):
    """A credential ccxt could not even sign with (kraken secret not base64, bad PEM)."""

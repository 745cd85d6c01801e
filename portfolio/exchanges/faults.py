"""Fault classification: every ccxt exception, malformed answer or unusable credential leaves a
sync as one ExchangeFault whose kind says whether retrying can help, and whose message says in
words what happened, with no secret in it.

Errors are classified by their body before their status, 2xx or not: each exchange's documented
codes for busy or maintenance (retryable 'maintenance'), rate limits, and refused timestamps or
nonces ('clock', retryable) are read by its adapter. A 5xx that would otherwise be a permanent
exchange error is 'maintenance', a 429 'rate_limit'. Messages ccxt raises as a plain ExchangeError
but that mean the credentials are wrong (an adapter's auth_messages) are 'authentication'; so is
any non-ccxt exception while signing (a kraken secret that is not base64, a malformed PEM key).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import ccxt

from portfolio.exchanges.errors import (
    CredentialFormatError,
    ExchangeFault,
    Malformed,
    MalformedAnswer,
)
from portfolio.exchanges.registry import AUTH_MESSAGES, adapter_for, display_name


@dataclass(frozen=True, slots=True)
class FaultContext:
    exchange_id: str
    credentials: dict[str, str] = field(repr=False)
    timeout_ms: int

    def key_hint(self) -> str:
        key = self.credentials.get("apiKey") or ""
        return f" ending in …{key[-4:]}" if len(key) >= 12 else ""


# Checked in order: subclasses before their parents.
ERROR_KINDS: tuple[tuple[type[BaseException], str], ...] = (
    (ccxt.RequestTimeout, "timeout"),
    (ccxt.InvalidNonce, "clock"),
    (ccxt.ExchangeNotAvailable, "maintenance"),  # OnMaintenance is a subclass
    (ccxt.DDoSProtection, "rate_limit"),
    (ccxt.RateLimitExceeded, "rate_limit"),
    (ccxt.NetworkError, "network"),
    (ccxt.BadResponse, "bad_response"),
    (ccxt.OperationFailed, "network"),
    (ccxt.PermissionDenied, "permission"),
    (ccxt.AccountSuspended, "permission"),
    (ccxt.AuthenticationError, "authentication"),
    (ccxt.BaseError, "exchange_error"),
)
# The ccxt exception raised for a kind an error body names.
KIND_ERRORS: dict[str, type[ccxt.BaseError]] = {
    "clock": ccxt.InvalidNonce,
    "maintenance": ccxt.ExchangeNotAvailable,
    "rate_limit": ccxt.RateLimitExceeded,
    "authentication": ccxt.AuthenticationError,
    "permission": ccxt.PermissionDenied,
    "exchange_error": ccxt.ExchangeError,
}

MESSAGES = {
    "authentication": "{name} rejected the API key{key} or its secret ({detail}). "
    "Replace the key; syncing is paused until then.",
    "permission": "{name} refused the API key{key} access this sync needs ({detail}). "
    "Give the key read access to every wallet or replace it; syncing is paused until then.",
    "rate_limit": "{name} is limiting how fast we may ask ({detail}). "
    "The sync will retry later; the last good balances are kept.",
    "maintenance": "{name} is unavailable or under maintenance ({detail}). "
    "The sync will retry later; the last good balances are kept.",
    "timeout": "{name} did not answer within {seconds:g} s ({detail}). "
    "The sync will retry; the last good balances are kept.",
    "clock": "{name} refused the request's timestamp or nonce ({detail}): check this "
    "server's clock; the sync will retry and the last good balances are kept.",
    "network": "Could not reach {name} ({detail}). "
    "The sync will retry; the last good balances are kept.",
    "bad_response": "{name} sent an empty or malformed answer ({detail}). "
    "The sync will retry; nothing is read as a zero balance.",
    "exchange_error": "{name} returned an error ({detail}). "
    "Check the account on {name}; the sync will not retry on its own.",
}
MALFORMED_ANSWER = (
    "{name} sent a malformed answer for the {wallet} wallet ({detail}). "
    "The sync will retry; the last good balances are kept."
)


def classify(exc: BaseException) -> tuple[str, str]:
    """(kind, error_class) for anything a sync can raise."""
    if isinstance(exc, MalformedAnswer):
        return "bad_response", "MalformedAnswer"
    if isinstance(exc, Malformed):
        return "bad_response", "BadResponse"
    if isinstance(exc, CredentialFormatError):
        return "authentication", str(exc).split(":", 1)[0]
    name = type(exc).__name__
    if type(exc) is ccxt.ExchangeError and any(m in str(exc) for m in AUTH_MESSAGES):
        return "authentication", name
    return next(kind for cls, kind in ERROR_KINDS if isinstance(exc, cls)), name


def body_error_kind(exchange_id: str, document: Any) -> str | None:
    """The fault kind an error body names, or None (no error, or one ccxt classes well)."""
    adapter = adapter_for(exchange_id)
    return adapter.body_error_kind(document) if adapter is not None else None


# An exchange may echo a key cut short ("API key abcd1234... is invalid"): this much of its
# start or end is still hidden; fewer characters say nothing of it.
ECHO_MIN = 8


def scrub(message: str, credentials: dict[str, str]) -> str:
    """No secrets, keys, signatures or query strings; short enough to read.

    A credential is hidden however an answer echoes it: in any letter case, JSON- or
    URL-escaped, or cut to its first or last ECHO_MIN characters or more.
    """
    message = re.sub(r"(https?://[^\s?]+)\?\S*", r"\1", message)
    for value in credentials.values():
        if value and len(value) >= 4:
            message = _hide(message, value)
    message = " ".join(message.split())
    return message if len(message) <= 200 else message[:197] + "..."


def _hide(message: str, value: str) -> str:
    escaped = json.dumps(value)[1:-1]
    forms = {value, escaped, escaped.replace("/", "\\/"), quote(value, safe=""), quote(value)}
    for form in sorted(forms, key=len, reverse=True):
        message = re.sub(re.escape(form), "***", message, flags=re.IGNORECASE)
    for length in range(len(value) - 1, ECHO_MIN - 1, -1):
        for part in (value[:length], value[-length:]):
            message = re.sub(re.escape(part), "***", message, flags=re.IGNORECASE)
    return message


def exception_name(exc: BaseException) -> str:
    """'binascii.Error' rather than a bare 'Error'; builtins keep their short name."""
    module = type(exc).__module__
    name = type(exc).__qualname__
    return name if module == "builtins" else f"{module}.{name}"


def make_fault(context: FaultContext, exc: BaseException) -> ExchangeFault:
    kind, error_class = classify(exc)
    if isinstance(exc, MalformedAnswer) and exc.wallet:
        message = MALFORMED_ANSWER.format(
            name=display_name(context.exchange_id),
            wallet=exc.wallet,
            detail=scrub(exc.detail, context.credentials),
        )
        return ExchangeFault(kind=kind, error_class=error_class, message=message)
    detail = f"{error_class}: {scrub(str(exc), context.credentials)}"
    message = MESSAGES[kind].format(
        name=display_name(context.exchange_id),
        key=context.key_hint(),
        detail=detail,
        seconds=context.timeout_ms / 1000,
    )
    return ExchangeFault(kind=kind, error_class=error_class, message=message)


@contextmanager
def faults(context: FaultContext) -> Iterator[None]:
    """Every ccxt exception (and the raw errors ccxt lets through) leaves as an ExchangeFault."""
    try:
        yield
    except ExchangeFault:
        raise
    except (ccxt.BaseError, Malformed, CredentialFormatError) as exc:
        raise make_fault(context, exc) from exc

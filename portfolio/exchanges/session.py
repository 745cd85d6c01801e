"""Clients and sessions: one fresh ccxt instance per sync, instrumented at the boundary.

One sync = one fresh ccxt instance (instances are not thread-safe, and a reused binance instance
reports a revoked key as a retryable DDoSProtection). The instance counts its requests, holds the
sync's deadline, refuses 2xx bodies that are not JSON (or lack the exchange's envelope), classifies
error bodies through the adapter, and tells credential errors apart.
"""

from __future__ import annotations

import binascii
import copy
import json
from dataclasses import dataclass
from typing import Any

import ccxt

from portfolio.credential_names import CREDENTIAL_NAMES
from portfolio.exchanges.deadline import Deadline, DeadlineAdapter
from portfolio.exchanges.emulator import assert_offline, point_at_emulator
from portfolio.exchanges.errors import CredentialFormatError, Malformed
from portfolio.exchanges.faults import KIND_ERRORS, body_error_kind, classify, exception_name
from portfolio.exchanges.generic import client_settings as unified_settings
from portfolio.exchanges.generic import empty_document, repeated_key
from portfolio.exchanges.registry import adapter_for

# Every credential ccxt's `requiredCredentials` may name.
CREDENTIAL_KEYS = CREDENTIAL_NAMES


@dataclass
class Session:
    """One ccxt instance for one sync, counting its HTTP requests."""

    exchange_id: str
    client: Any
    deadline: Deadline
    requests: int = 0
    last_body: str = ""  # the raw text of the last answer


def build_client(
    exchange_id: str,
    credentials: dict[str, str] | None = None,
    *,
    emulator_url: str | None = None,
    timeout_ms: int = 10_000,
) -> Any:
    """A fresh ccxt instance; nothing is fetched. Production keeps ccxt's rate limiter."""
    adapter = adapter_for(exchange_id)
    config: dict[str, Any] = {
        "enableRateLimit": emulator_url is None,
        "timeout": timeout_ms,
        "options": copy.deepcopy(adapter.market_options if adapter is not None else {}),
    }
    config |= {k: v for k, v in (credentials or {}).items() if k in CREDENTIAL_KEYS and v}
    client = getattr(ccxt, exchange_id)(config)
    if adapter is not None and adapter.unified:
        unified_settings(client)
    if adapter is not None and adapter.numbers_as_text:
        client.on_json_response = exact_numbers
    if emulator_url is not None:
        hostname = getattr(client, "hostname", None)
        api = point_at_emulator(client.urls["api"], emulator_url, hostname)
        client.urls = {**client.urls, "api": api}
        assert_offline(client.urls["api"])
    return client


def exact_numbers(body: str) -> Any:
    """JSON with every non-integer number kept as its text ("0.1", not 0.1000000000000000055):
    for exchanges whose amounts are JSON numbers. NaN and Infinity still arrive as floats, which
    the boundary refuses."""
    return json.loads(body, parse_float=str)


def open_session(
    exchange_id: str,
    credentials: dict[str, str] | None,
    emulator_url: str | None,
    deadline: Deadline,
) -> Session:
    timeout_ms = max(1, int(deadline.seconds * 1000))
    client = build_client(
        exchange_id, credentials, emulator_url=emulator_url, timeout_ms=timeout_ms
    )
    adapter = DeadlineAdapter(deadline)
    client.session.mount("http://", adapter)
    client.session.mount("https://", adapter)
    session = Session(exchange_id, client, deadline)
    instrument(session)
    return session


def instrument(session: Session) -> None:
    """Count requests, hold the deadline, refuse 2xx bodies that are not JSON, classify error
    bodies, and tell credential errors apart."""
    client = session.client
    adapter = adapter_for(session.exchange_id)
    unified = adapter is not None and adapter.unified
    fetch, on_rest_response, sign = client.fetch, client.on_rest_response, client.sign
    handle_errors = client.handle_errors

    def counted_fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        if session.deadline.passed():
            raise ccxt.RequestTimeout(f"{client.id} {method} {url}: the sync's deadline passed")
        session.requests += 1
        try:
            return fetch(url, method, headers, body)
        except ccxt.BaseError as exc:
            if session.deadline.expired:  # the watchdog cut the answer short
                raise ccxt.RequestTimeout(
                    f"{client.id} {method} {url}: no complete answer within the sync's deadline"
                ) from exc
            raise

    def guarded_response(code: int, reason: str, url: str, method: str, *rest: Any) -> Any:
        body = on_rest_response(code, reason, url, method, *rest)
        session.last_body = body if isinstance(body, str) else ""
        if ok(code):
            problem = body_problem(session.exchange_id, body)
            if problem:
                raise ccxt.BadResponse(f"{client.id} {method} {url} {code}: {problem}")
        return body

    def classified_errors(code: Any, reason: str, url: str, method: str, *rest: Any) -> Any:
        _, body, document = rest[:3]
        try:
            kind = body_error_kind(session.exchange_id, document)
            if kind is not None:
                detail = str(body)[:200] if body else ""
                raise KIND_ERRORS[kind](f"{client.id} {detail}")
            return handle_errors(code, reason, url, method, *rest)
        except ccxt.BaseError as exc:
            if ok(code) and unified and empty_document(document) and is_plain_error(exc):
                raise ccxt.BadResponse(f"{client.id} {method} {url}: empty answer") from exc
            # A 5xx is the exchange's own trouble, and a 429 a rate limit, whatever code its
            # body carries: neither is a permanent error of the account. A 401 is a refused
            # key even where ccxt's handler raises a plain error before its status table
            # (cryptocom on a 401 without a JSON body).
            if code and classify(exc)[0] == "exchange_error":
                if int(code) >= 500:
                    raise ccxt.ExchangeNotAvailable(str(exc)) from exc
                if int(code) == 429:
                    raise ccxt.RateLimitExceeded(str(exc)) from exc
                if int(code) == 401:
                    raise ccxt.AuthenticationError(str(exc)) from exc
            raise

    def checked_sign(*args: Any, **kwargs: Any) -> Any:
        try:
            return sign(*args, **kwargs)
        except ccxt.BaseError:
            raise
        except Exception as exc:  # only a credential ccxt cannot use gets here
            raise CredentialFormatError(f"{exception_name(exc)}: {exc}") from exc

    client.fetch = counted_fetch
    client.on_rest_response = guarded_response
    client.handle_errors = classified_errors
    client.sign = checked_sign


def ok(code: Any) -> bool:
    return bool(code) and 200 <= int(code) < 300


def is_plain_error(exc: ccxt.BaseError) -> bool:
    return type(exc) in (ccxt.ExchangeError, ccxt.BaseError)


def body_problem(exchange_id: str, body: Any) -> str | None:
    """Why a 2xx body cannot be trusted, or None."""
    if not body:
        return "empty body"
    if not isinstance(body, str) or not body.startswith(("{", "[")):
        return f"not JSON: {str(body)[:60]}"
    try:
        document = json.loads(body)
    except ValueError:
        return f"truncated or invalid JSON: {body[:60]}"
    adapter = adapter_for(exchange_id)
    envelope = adapter.envelope if adapter is not None else ""
    if envelope and isinstance(document, dict) and envelope not in document:
        return f"no {envelope!r} in the answer"
    if adapter is not None and adapter.unified:
        return repeated_key(body)
    return None


def call(session: Session, method: str, *args: Any) -> Any:
    client = session.client
    # After one success ccxt turns binance's -2015 (key revoked) into a retryable
    # DDoSProtection; a revoked key must read as an authentication failure.
    if "hasAlreadyAuthenticatedSuccessfully" in client.options:
        client.options["hasAlreadyAuthenticatedSuccessfully"] = False
    try:
        return getattr(client, method)(*args)
    except (ccxt.BaseError, CredentialFormatError):
        raise
    except binascii.Error as exc:
        raise CredentialFormatError(f"{exception_name(exc)}: {exc}") from exc
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        # ccxt's own parsing tripped over the payload.
        raise Malformed(f"{type(exc).__name__}: {exc}") from exc

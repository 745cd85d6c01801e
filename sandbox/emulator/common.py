"""What every exchange module shares: the request and reply types, routes, signing helpers."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, parse_qsl

from sandbox.emulator.scenario import Account, Scenario

# Stats kinds: a benchmark reports market loading apart from the per-account requests.
MARKETS = "markets"
BALANCE = "balance"
TICKER = "ticker"
ACCOUNT = "account"  # key permissions and account settings
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Request:
    method: str
    host: str
    path: str
    raw_query: str
    headers: Mapping[str, str]
    body: bytes = b""

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(self.raw_query, keep_blank_values=True))

    def query_all(self, name: str) -> list[str]:
        return parse_qs(self.raw_query).get(name, [])

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def header(self, name: str) -> str:
        return self.headers.get(name) or ""


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)
    # A trickle fault: the body goes out `trickle_bytes` at a time, `trickle_interval` s apart.
    trickle_bytes: int = 0
    trickle_interval: float = 0.0


def json_reply(payload: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(payload, separators=(",", ":")).encode())


def text_reply(text: str, status: int, content_type: str = "text/plain") -> Reply:
    return Reply(status, text.encode(), content_type)


# Private handlers get the authenticated Account; public ones get None.
Handler = Callable[[Request, Scenario, Any], Reply]


@dataclass(frozen=True)
class Route:
    kind: str
    handler: Handler
    private: bool = False
    # For an endpoint that serves two purposes (coinbase's products are markets and tickers).
    classify: Callable[[Request], str] | None = None

    def kind_of(self, request: Request) -> str:
        return self.classify(request) if self.classify else self.kind


@dataclass(frozen=True)
class ExchangeSpec:
    name: str
    key_header: str
    routes: Mapping[tuple[str, str], Route]
    authenticate: Callable[[Request, Scenario], Account | Reply]
    # For an API whose one endpoint serves every call, named in the body (hyperliquid's
    # POST /info {"type": ...}): the path the request is routed, counted and faulted under.
    route_path: Callable[[Request], str] | None = None
    # Where the account's key travels when not (only) in a header of its own: the address in
    # hyperliquid's body, the api_key in cryptocom's JSON body, deribit's Authorization id=...,
    # htx's signed query string, mexc's contract API header.
    account_key: Callable[[Request], str] | None = None
    # Hosts without the exchange's name among their labels (htx: api.huobi.pro, api.hbdm.vn).
    hosts: tuple[str, ...] = ()

    def api_key(self, request: Request) -> str:
        if self.account_key is not None:
            return self.account_key(request)
        return request.header(self.key_header)

    def routed(self, request: Request) -> Request:
        if self.route_path is None:
            return request
        return dataclasses.replace(request, path=self.route_path(request))


def hmac_digest(secret: bytes, message: bytes, algo: str = "sha256") -> bytes:
    return hmac.new(secret, message, getattr(hashlib, algo)).digest()


def hmac_hex(secret: str, message: str) -> str:
    return hmac_digest(secret.encode(), message.encode()).hex()


def hmac_b64(secret: bytes, message: bytes, algo: str = "sha256") -> str:
    return base64.b64encode(hmac_digest(secret, message, algo)).decode()


def same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


def now_ms() -> int:
    return int(time.time() * 1000)

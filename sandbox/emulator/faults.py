"""Fault injection: for the next N matching requests, answer badly, late, or not at all."""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import asdict, dataclass
from typing import Any

from sandbox.emulator.common import Reply


@dataclass
class Fault:
    exchange: str  # "binance", or "*" for any
    path: str  # "/api/v3/account"; a trailing "*" matches a prefix; "*" alone matches all
    status: int | None = None
    body: str | None = None
    content_type: str = "application/json"
    delay: float = 0.0
    close: bool = False
    # Send the body (the fault's, or the real answer's) in chunks of this many bytes, each
    # `trickle_interval` s after the last: every read succeeds, the whole answer takes long.
    trickle_bytes: int = 0
    trickle_interval: float = 0.0
    times: int | None = 1  # None: forever
    api_key: str | None = None
    method: str | None = None
    id: int = 0
    hits: int = 0

    def matches(self, exchange: str, path: str, method: str, api_key: str) -> bool:
        return (
            self.exchange in ("*", exchange)
            and path_matches(self.path, path)
            and (self.method is None or self.method.upper() == method)
            and (self.api_key is None or self.api_key == api_key)
        )

    @property
    def trickles(self) -> bool:
        return self.trickle_bytes > 0

    @property
    def answers(self) -> bool:
        """Whether the fault replaces the answer; a pure delay lets the real answer through."""
        return self.status is not None or self.body is not None

    def reply(self) -> Reply:
        body = (self.body or "").encode()
        return Reply(self.status or 200, body, self.content_type)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Fault:
        raw = {k: v for k, v in raw.items() if k not in ("id", "hits")}
        body = raw.get("body")
        if body is not None and not isinstance(body, str):
            raw["body"] = json.dumps(body)  # a JSON object given as a value, not as text
        if raw.get("times") in ("forever", -1):
            raw["times"] = None
        return cls(**raw)


def path_matches(pattern: str, path: str) -> bool:
    if pattern.endswith("*"):
        return path.startswith(pattern[:-1])
    return pattern == path


class FaultBook:
    """Faults in the order added; the first live match takes the request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, fault: Fault) -> int:
        with self._lock:
            fault.id = next(self._ids)
            self._faults.append(fault)
            return fault.id

    def clear(self, fault_id: int | None = None) -> None:
        with self._lock:
            self._faults = [f for f in self._faults if fault_id not in (None, f.id)]

    def take(self, exchange: str, path: str, method: str, api_key: str) -> Fault | None:
        """Find the fault for this request and use up one of its N times."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(exchange, path, method, api_key):
                    fault.hits += 1
                    if fault.times is not None and fault.hits >= fault.times:
                        self._faults.remove(fault)
                    return fault
        return None

    def active(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_json() for f in self._faults]

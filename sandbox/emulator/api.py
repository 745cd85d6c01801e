"""The Python API: run an emulator in this process, or drive one running elsewhere over HTTP."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from sandbox.emulator.faults import Fault
from sandbox.emulator.scenario import Scenario
from sandbox.emulator.server import Core, EmulatorHTTPServer
from sandbox.emulator.stats import count_requests

Source = str | Path | dict[str, Any]


def fault_fields(
    exchange: str,
    path: str,
    *,
    status: int | None = None,
    body: Any = None,
    delay: float = 0.0,
    close: bool = False,
    times: int | None = 1,
    api_key: str | None = None,
    method: str | None = None,
    content_type: str = "application/json",
    trickle_bytes: int = 0,
    trickle_interval: float = 0.0,
) -> dict[str, Any]:
    """One place for the fault arguments both emulator flavours accept; times=None is forever.
    trickle_bytes > 0 sends the body (the fault's or the real one) that many bytes at a time,
    trickle_interval seconds apart."""
    return {
        "exchange": exchange, "path": path, "status": status, "body": body, "delay": delay,
        "close": close, "times": times, "api_key": api_key, "method": method,
        "content_type": content_type, "trickle_bytes": trickle_bytes,
        "trickle_interval": trickle_interval,
    }  # fmt: skip


class Counting:
    """What both flavours derive from stats()."""

    def stats(self) -> dict[str, Any]:
        raise NotImplementedError

    def count(self, **filters: str | None) -> int:
        """Requests matching exchange=, kind= ("markets", "balance", "ticker", "account"),
        path=, method=, api_key=."""
        return count_requests(self.stats(), **filters)


class Emulator(Counting):
    """An emulator serving in a background thread of this process."""

    def __init__(self, source: Source, host: str = "127.0.0.1", port: int = 0) -> None:
        self.core = Core(Scenario.load(source))
        self.httpd = EmulatorHTTPServer((host, port), self.core)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        if not isinstance(host, str):  # never so: a TCP socket's address has its host as text
            raise TypeError(f"unexpected server address {self.httpd.server_address!r}")
        return f"http://{host}:{port}"

    def start(self) -> Emulator:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.core.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    def add_fault(self, exchange: str, path: str, **options: Any) -> int:
        return self.core.faults.add(Fault.from_json(fault_fields(exchange, path, **options)))

    def clear_faults(self, fault_id: int | None = None) -> None:
        self.core.faults.clear(fault_id)

    def faults(self) -> list[dict[str, Any]]:
        return self.core.faults.active()

    def stats(self) -> dict[str, Any]:
        return self.core.stats.snapshot()

    def reset_stats(self) -> None:
        self.core.stats.reset()

    def set_price(self, exchange: str, symbol: str, price: str | Decimal) -> None:
        self.core.scenario.set_price(exchange, symbol, price)

    def set_balance(self, exchange: str, api_key: str, wallet: str, code: str, amount: Any) -> None:
        """amount: a decimal string, a {"free", "locked", "borrowed", "interest"} dict, or None
        to remove the currency from the wallet."""
        self.core.scenario.set_balance(exchange, api_key, wallet, code, amount)

    def set_subaccount(
        self,
        exchange: str,
        api_key: str,
        sub_id: str,
        name: str,
        balances: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """Add or replace a sub-account of the account with this key: balances per wallet in the
        scenario's wallet names and Holding format."""
        self.core.scenario.set_subaccount(exchange, api_key, sub_id, name, balances)

    def remove_subaccount(self, exchange: str, api_key: str, sub_id: str) -> None:
        self.core.scenario.remove_subaccount(exchange, api_key, sub_id)

    def update_scenario(self, fragment: dict[str, Any], replace: bool = False) -> None:
        if replace:
            self.core.scenario.replace(fragment)
        else:
            self.core.scenario.merge(fragment)


class RemoteEmulator(Counting):
    """The same operations against an emulator in another process (`python -m sandbox`)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def call(self, method: str, path: str, payload: Any = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(  # noqa: S310 - a local http URL we were given
            f"{self.url}/_control{path}", data=data, method=method
        )
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            return json.loads(response.read())

    def add_fault(self, exchange: str, path: str, **options: Any) -> int:
        return self.call("POST", "/faults", fault_fields(exchange, path, **options))["ids"][0]

    def clear_faults(self, fault_id: int | None = None) -> None:
        self.call("DELETE", "/faults" + (f"?id={fault_id}" if fault_id else ""))

    def faults(self) -> list[dict[str, Any]]:
        return self.call("GET", "/faults")["faults"]

    def stats(self) -> dict[str, Any]:
        return self.call("GET", "/stats")

    def reset_stats(self) -> None:
        self.call("POST", "/reset-stats", {})

    def set_price(self, exchange: str, symbol: str, price: str | Decimal) -> None:
        self.call("POST", "/price", {"exchange": exchange, "symbol": symbol, "price": str(price)})

    def set_balance(self, exchange: str, api_key: str, wallet: str, code: str, amount: Any) -> None:
        fields = {"exchange": exchange, "api_key": api_key, "wallet": wallet, "code": code}
        self.call("POST", "/balance", fields | {"amount": amount})

    def set_subaccount(
        self,
        exchange: str,
        api_key: str,
        sub_id: str,
        name: str,
        balances: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        fields = {"exchange": exchange, "api_key": api_key, "sub_id": sub_id, "name": name}
        self.call("POST", "/subaccount", fields | {"balances": balances or {}})

    def remove_subaccount(self, exchange: str, api_key: str, sub_id: str) -> None:
        fields = {"exchange": exchange, "api_key": api_key, "sub_id": sub_id}
        self.call("DELETE", "/subaccount", fields)

    def update_scenario(self, fragment: dict[str, Any], replace: bool = False) -> None:
        self.call("POST", "/scenario" + ("?replace=1" if replace else ""), fragment)


@contextmanager
def run_emulator(source: Source, host: str = "127.0.0.1", port: int = 0) -> Iterator[Emulator]:
    """Serve a scenario (path or dict) on a free port for the duration of the block."""
    emulator = Emulator(source, host, port).start()
    try:
        yield emulator
    finally:
        emulator.stop()

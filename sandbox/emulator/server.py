"""The HTTP server: routes each request to its exchange, counts it, and applies faults.

Requests arrive as http://127.0.0.1:PORT/<original host>/<original path>; the first segment tells
the exchange apart. /_control/... is the emulator's own API (faults, stats, scenario).
"""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from sandbox.emulator import (
    binance,
    bitfinex,
    bitget,
    bitstamp,
    bybit,
    coinbase,
    cryptocom,
    deribit,
    gate,
    gemini,
    htx,
    hyperliquid,
    kraken,
    krakenfutures,
    kucoin,
    latoken,
    mexc,
    okx,
)
from sandbox.emulator.common import UNKNOWN, ExchangeSpec, Reply, Request, json_reply
from sandbox.emulator.faults import Fault, FaultBook
from sandbox.emulator.scenario import Scenario, ScenarioError
from sandbox.emulator.stats import Stats

SPECS: dict[str, ExchangeSpec] = {
    spec.name: spec
    for spec in (
        binance.SPEC,
        kraken.SPEC,
        okx.SPEC,
        coinbase.SPEC,
        bybit.SPEC,
        hyperliquid.SPEC,
        kucoin.SPEC,
        latoken.SPEC,
        bitfinex.SPEC,
        gemini.SPEC,
        bitget.SPEC,
        gate.SPEC,
        cryptocom.SPEC,
        bitstamp.SPEC,
        deribit.SPEC,
        krakenfutures.SPEC,
        htx.SPEC,
        mexc.SPEC,
    )
}
# Hosts whose labels do not name the exchange: api.crypto.com is cryptocom.
HOST_DOMAINS = {"crypto.com": "cryptocom"}
CONTROL = "_control"


# Hosts whose name is not the ccxt id: api.gateio.ws is gate's.
HOST_LABELS = {"gateio": "gate"}
# Hosts whose labels name another exchange (futures.kraken.com is not kraken's API).
HOSTS = {krakenfutures.HOST: krakenfutures.NAME}


def exchange_for_host(host: str) -> str:
    """api.binance.com -> binance, www.okx.com -> okx; "" when no exchange matches."""
    name = host.split(":")[0].lower()
    if name in HOSTS:
        return HOSTS[name]
    by_host = next((spec.name for spec in SPECS.values() if name in spec.hosts), "")
    if by_host:
        return by_host
    domain = next((d for d in HOST_DOMAINS if name == d or name.endswith("." + d)), None)
    if domain is not None:
        return HOST_DOMAINS[domain]
    labels = [HOST_LABELS.get(label, label) for label in name.split(".")]
    return next((label for label in labels if label in SPECS), "")


class Core:
    """Everything but the sockets: dispatch, faults, stats, scenario; usable without HTTP."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.faults = FaultBook()
        self.stats = Stats()
        self.stopping = threading.Event()

    def dispatch(self, request: Request) -> Reply | None:
        """The reply to send, or None to close the connection without one."""
        if request.host == CONTROL:
            return self.control(request)
        exchange = exchange_for_host(request.host)
        spec = SPECS.get(exchange)
        request = spec.routed(request) if spec else request
        route = spec.routes.get((request.method, request.path)) if spec else None
        api_key = spec.api_key(request) if spec else ""
        fault = self.faults.take(exchange, request.path, request.method, api_key)
        kind = route.kind_of(request) if route else UNKNOWN
        self.stats.record((exchange, request.method, request.path, kind, api_key), bool(fault))
        if fault is not None:
            return self.apply(fault, lambda: self.serve(spec, request))
        return self.serve(spec, request)

    def apply(self, fault: Fault, answer: Any) -> Reply | None:
        if fault.delay and self.stopping.wait(fault.delay):
            return None  # shutting down: do not hold the server for the rest of the delay
        if fault.close:
            return None
        reply: Reply = fault.reply() if fault.answers else answer()
        if fault.trickles:
            reply = dataclasses.replace(
                reply,
                trickle_bytes=fault.trickle_bytes,
                trickle_interval=fault.trickle_interval,
            )
        return reply

    def serve(self, spec: ExchangeSpec | None, request: Request) -> Reply:
        route = spec.routes.get((request.method, request.path)) if spec else None
        if spec is None or route is None:
            message = f"emulator: no endpoint {request.method} {request.host}{request.path}"
            return json_reply({"error": message}, 404)
        account = None
        if route.private:
            account = spec.authenticate(request, self.scenario)
            if isinstance(account, Reply):
                return account
        return route.handler(request, self.scenario, account)

    def control(self, request: Request) -> Reply:
        handler = CONTROL_ROUTES.get((request.method, request.path))
        if handler is None:
            return json_reply({"error": f"no control endpoint {request.path}"}, 404)
        try:
            return json_reply(handler(self, request))
        except (ScenarioError, KeyError, TypeError, ValueError) as exc:
            return json_reply({"error": f"{type(exc).__name__}: {exc}"}, 400)


def body_json(request: Request) -> Any:
    return json.loads(request.text or "null")


def add_faults(core: Core, request: Request) -> dict[str, Any]:
    raw = body_json(request)
    faults = [Fault.from_json(f) for f in (raw if isinstance(raw, list) else [raw])]
    return {"ids": [core.faults.add(f) for f in faults]}


def clear_faults(core: Core, request: Request) -> dict[str, Any]:
    fault_id = request.query.get("id")
    core.faults.clear(int(fault_id) if fault_id else None)
    return {"ok": True}


def update_scenario(core: Core, request: Request) -> dict[str, Any]:
    raw = body_json(request)
    if request.query.get("replace") in ("1", "true"):
        core.scenario.replace(raw)
    else:
        core.scenario.merge(raw)
    return {"ok": True}


def set_price(core: Core, request: Request) -> dict[str, Any]:
    raw = body_json(request)
    core.scenario.set_price(raw["exchange"], raw["symbol"], raw["price"])
    return {"ok": True}


def set_balance(core: Core, request: Request) -> dict[str, Any]:
    raw = body_json(request)
    core.scenario.set_balance(
        raw["exchange"], raw["api_key"], raw["wallet"], raw["code"], raw.get("amount")
    )
    return {"ok": True}


def set_subaccount(core: Core, request: Request) -> dict[str, Any]:
    raw = body_json(request)
    core.scenario.set_subaccount(
        raw["exchange"], raw["api_key"], raw["sub_id"], raw["name"], raw.get("balances")
    )
    return {"ok": True}


def remove_subaccount(core: Core, request: Request) -> dict[str, Any]:
    raw = body_json(request)
    core.scenario.remove_subaccount(raw["exchange"], raw["api_key"], raw["sub_id"])
    return {"ok": True}


def reset_stats(core: Core, request: Request) -> dict[str, Any]:
    core.stats.reset()
    return {"ok": True}


CONTROL_ROUTES = {
    ("GET", "/health"): lambda core, request: {"ok": True, "scenario": core.scenario.name},
    ("GET", "/faults"): lambda core, request: {"faults": core.faults.active()},
    ("POST", "/faults"): add_faults,
    ("DELETE", "/faults"): clear_faults,
    ("GET", "/stats"): lambda core, request: core.stats.snapshot(),
    ("POST", "/reset-stats"): reset_stats,
    ("GET", "/scenario"): lambda core, request: core.scenario.to_json(),
    ("POST", "/scenario"): update_scenario,
    ("POST", "/price"): set_price,
    ("POST", "/balance"): set_balance,
    ("POST", "/subaccount"): set_subaccount,
    ("DELETE", "/subaccount"): remove_subaccount,
}


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real exchanges do
    disable_nagle_algorithm = True  # otherwise every keep-alive request stalls ~40 ms
    server: EmulatorHTTPServer

    def do_GET(self) -> None:
        request = self.read_request()
        try:
            reply = self.server.core.dispatch(request)
        except Exception as exc:  # an emulator bug must not pass for a network fault
            reply = json_reply({"error": f"emulator bug: {type(exc).__name__}: {exc}"}, 500)
        if reply is None:
            self.drop()
        else:
            self.write(reply)

    do_POST = do_PUT = do_DELETE = do_GET

    def read_request(self) -> Request:
        parts = urlsplit(self.path)
        host, _, rest = parts.path.lstrip("/").partition("/")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items()}
        return Request(self.command, host, "/" + rest, parts.query, headers, body)

    def write(self, reply: Reply) -> None:
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if reply.trickle_bytes > 0:
                self.trickle(reply)
            else:
                self.wfile.write(reply.body)
        except OSError:
            self.close_connection = True  # the client gave up (timeout fault): nothing to do

    def trickle(self, reply: Reply) -> None:
        """The body a few bytes at a time, so that no single read by the client waits long."""
        body, step = reply.body, reply.trickle_bytes
        stopping = self.server.core.stopping
        for start in range(0, len(body), step):
            if start and stopping.wait(reply.trickle_interval):
                self.close_connection = True  # shutting down: do not hold the server
                return
            self.wfile.write(body[start : start + step])
            self.wfile.flush()

    def drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests and benchmarks read the stats instead


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a request sleeping in a delay fault must not hold up shutdown
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], core: Core) -> None:
        self.core = core
        super().__init__(address, RequestHandler)

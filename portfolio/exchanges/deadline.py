"""One deadline for all of a sync's requests, held by a watchdog.

requests' timeout is per socket read, so a body trickled a few bytes at a time never trips it: at
the deadline a watchdog timer shuts down every connection the sync has used, and each request
waits no longer than what is left.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Mapping
from typing import Any

import requests
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter
from urllib3 import PoolManager
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class Deadline:
    """One deadline for all of a sync's requests. requests' timeout bounds each socket read, so
    a body trickled a few bytes at a time never trips it: at the deadline a watchdog timer shuts
    down every connection the sync has used, and the read in progress fails at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._connections: set[Any] = set()
        self._timer = threading.Timer(seconds, self.expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def remaining(self) -> float:
        return self.ends - time.monotonic()

    def passed(self) -> bool:
        return self.expired or self.remaining() <= 0

    def watch(self, connection: Any) -> None:
        with self._lock:
            self._connections.add(connection)
            expired = self.expired
        if expired:
            shut(connection)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            connections = list(self._connections)
        for connection in connections:
            shut(connection)


def shut(connection: Any) -> None:
    """Shut the socket down (not close: another thread is reading it); the read returns."""
    sock = getattr(connection, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed


class WatchedPool(HTTPConnectionPool):
    """A pool that hands every connection it lends to the sync's deadline."""

    deadline: Deadline | None = None

    def _get_conn(self, timeout: float | None = None) -> Any:
        connection = super()._get_conn(timeout)
        if self.deadline is not None:
            self.deadline.watch(connection)
        return connection


class WatchedHTTPSPool(WatchedPool, HTTPSConnectionPool):
    pass


class WatchedPoolManager(PoolManager):
    def __init__(self, deadline: Deadline, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.deadline = deadline
        self.pool_classes_by_scheme = {"http": WatchedPool, "https": WatchedHTTPSPool}

    def _new_pool(
        self, scheme: str, host: str, port: int, request_context: dict[str, Any] | None = None
    ) -> HTTPConnectionPool:
        pool = super()._new_pool(scheme, host, port, request_context)
        if isinstance(pool, WatchedPool):
            pool.deadline = self.deadline
        return pool


class DeadlineAdapter(HTTPAdapter):
    """Connect and header waits get no more than what is left of the deadline; the watchdog
    covers the body."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        super().__init__()

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        self.poolmanager = WatchedPoolManager(
            self.deadline, num_pools=connections, maxsize=maxsize, block=block, **pool_kwargs
        )

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        left = self.deadline.remaining()
        if left <= 0 or self.deadline.expired:
            raise requests.exceptions.Timeout(f"the sync's deadline passed before {request.url}")
        limit = timeout if isinstance(timeout, int | float) else left
        return super().send(request, stream, min(limit, left), verify, cert, proxies)

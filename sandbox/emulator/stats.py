"""Request counting per exchange, endpoint, API key and kind (markets, balance, ticker...)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

RowKey = tuple[str, str, str, str, str]  # exchange, method, path, kind, api_key


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[RowKey] = Counter()
        self._faulted: Counter[RowKey] = Counter()

    def record(self, key: RowKey, faulted: bool) -> None:
        with self._lock:
            self._counts[key] += 1
            if faulted:
                self._faulted[key] += 1

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._faulted.clear()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            rows = [row_json(k, n, self._faulted[k]) for k, n in sorted(self._counts.items())]
        return summarise(rows)


def row_json(key: RowKey, count: int, faulted: int) -> dict[str, Any]:
    exchange, method, path, kind, api_key = key
    return {
        "exchange": exchange,
        "method": method,
        "path": path,
        "kind": kind,
        "api_key": api_key,
        "count": count,
        "faulted": faulted,
    }


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    by_kind: Counter[str] = Counter()
    by_exchange: dict[str, Counter[str]] = {}
    for row in rows:
        by_kind[row["kind"]] += row["count"]
        by_exchange.setdefault(row["exchange"], Counter())[row["kind"]] += row["count"]
    return {
        "total": sum(by_kind.values()),
        "by_kind": dict(by_kind),
        "by_exchange": {ex: dict(kinds) for ex, kinds in by_exchange.items()},
        "rows": rows,
    }


def count_requests(stats: dict[str, Any], **filters: str | None) -> int:
    """Sum the rows of a stats snapshot matching every filter given (exchange, kind, path...)."""
    wanted = {k: v for k, v in filters.items() if v is not None}
    return sum(row["count"] for row in stats["rows"] if all(row[k] == v for k, v in wanted.items()))

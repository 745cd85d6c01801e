"""Sync benchmark: 200 exchange accounts across the five exchanges, synced through Celery.

Measured in one run, against the same emulator process:
- the lower bound: a bare ccxt loop in one process making the same balance, permission and
  ticker calls per account, with markets preloaded and nothing stored;
- Counterweight: `sync_all` on a real Celery worker serving the sync queue (cores + 1
  processes, Redis, PostgreSQL), from enqueueing until every portfolio's round has completed
  (snapshots, holdings, prices and runs stored). Each trial starts a new worker, so each pays
  for loading markets. The exposure computation each completed round enqueues goes to the
  risk queue, which production serves with its own workers (README, "Queues") and
  bench_exposure measures; it is not part of the figure held to the target.
- For reference, the same with one worker serving both queues, so that the exposures are
  computed in the same window, on the same two cores.

This machine's speed drifts by 10-20% from minute to minute, so the three are measured in
turns, TRIALS times each, and compared by their medians; every trial's figure is reported.

Needs DATABASE_URL (PostgreSQL) and REDIS_URL; it uses its own database, counterweight_bench.
Run with `make bench` or `python -m bench.bench_sync`.
"""

from __future__ import annotations

import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import use_bench_database
from portfolio.exchanges import SUPPORTED_EXCHANGES
from tests.processes import start_emulator, stop_group, wait_for

ROOT = Path(__file__).resolve().parent.parent
ACCOUNTS = 200
PORTFOLIOS = 10
# Syncs wait on HTTP and the database: one process more than cores keeps both cores busy.
WORKER_PROCESSES = int(os.environ.get("BENCH_WORKER_PROCESSES", str((os.cpu_count() or 1) + 1)))
TEMPLATE = ROOT / "sandbox" / "scenarios" / "test.json"
TARGET_RATIO = 1.5
TRIALS = int(os.environ.get("BENCH_SYNC_TRIALS", "5"))


def build_scenario(accounts: int = ACCOUNTS) -> dict[str, Any]:
    """The test scenario's five accounts, cloned with their own keys up to `accounts`."""
    template = json.loads(TEMPLATE.read_text())
    by_exchange = {account["exchange"]: account for account in template["accounts"]}
    cloned = []
    for index in range(accounts):
        exchange = SUPPORTED_EXCHANGES[index % len(SUPPORTED_EXCHANGES)]
        secret = f"bench-{exchange}-secret-{index}"
        if exchange == "kraken":  # kraken secrets are base64
            secret = base64.b64encode(secret.encode()).decode()
        cloned.append(
            {**by_exchange[exchange], "api_key": f"bench-{exchange}-{index}", "secret": secret}
        )
    return {"name": "bench", "prices": template["prices"], "accounts": cloned}


def credentials_of(account: dict[str, Any]) -> dict[str, str]:
    found = {"apiKey": account["api_key"], "secret": account["secret"]}
    if account.get("password"):
        found["password"] = account["password"]
    return found


def serve_scenario(scenario: dict[str, Any]) -> tuple[subprocess.Popen, Any]:
    """The emulator serving `scenario` in its own process, and a client for its controls."""
    from sandbox.emulator.api import RemoteEmulator

    path = Path(tempfile.mkstemp(suffix=".json", prefix="bench-scenario-")[1])
    path.write_text(json.dumps(scenario))
    process, url = start_emulator(path)
    return process, RemoteEmulator(url)


def create_accounts(scenario: dict[str, Any]) -> None:
    from portfolio.models import Portfolio
    from portfolio.services import create_exchange_account

    funds = [
        Portfolio.objects.create(slug=f"bench-{n}", name=f"Bench fund {n}")
        for n in range(PORTFOLIOS)
    ]
    for index, account in enumerate(scenario["accounts"]):
        create_exchange_account(
            portfolio=funds[index % PORTFOLIOS],
            name=f"{account['exchange']} {index}",
            exchange_id=account["exchange"],
            credentials=credentials_of(account),
        )


def bare_loop(scenario: dict[str, Any], emulator: Any) -> dict[str, Any]:
    """The lower bound: the same calls through bare ccxt, markets preloaded, nothing stored."""
    from portfolio import exchanges

    markets = {}
    for exchange in SUPPORTED_EXCHANGES:
        client = exchanges.build_client(exchange, emulator_url=emulator.url)
        client.load_markets()
        markets[exchange] = client.markets
    emulator.reset_stats()
    start = time.perf_counter()
    for account in scenario["accounts"]:
        bare_sync(account, markets[account["exchange"]], emulator.url)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "requests": emulator.stats()["total"]}


def bare_sync(account: dict[str, Any], markets: dict[str, Any], url: str) -> None:
    from portfolio import exchanges

    exchange = account["exchange"]
    client = exchanges.build_client(exchange, credentials_of(account), emulator_url=url)
    client.set_markets(markets)
    if exchange in exchanges.PERMISSION_CALLS:
        getattr(client, exchanges.PERMISSION_CALLS[exchange][0])({})
    seen = set()
    for specs in exchanges.BALANCE_CALLS[exchange].values():
        for spec in specs:
            if spec.key not in seen:
                seen.add(spec.key)
                getattr(client, spec.method)(dict(spec.params))
    client.fetch_tickers(exchanges.quote_symbols(markets, ("BTC", "ETH", "USDT", "USDC")))


def start_worker(env: dict[str, str], queues: str = "sync,risk") -> subprocess.Popen:
    celery = str(Path(sys.executable).parent / "celery")
    command = [
        *(celery, "-A", "config", "worker", "-Q", queues, "-c", str(WORKER_PROCESSES)),
        *("-l", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)


def celery_sync(emulator: Any, queues: str = "sync,risk") -> dict[str, Any]:
    from django.db.models import Max
    from django.utils import timezone

    from config.celery import app
    from portfolio.models import HoldingSnapshot, SyncRound
    from portfolio.tasks import sync_all

    purge_queues(app)
    before = HoldingSnapshot.objects.count()
    worker = start_worker({**os.environ, "EXCHANGE_EMULATOR_URL": emulator.url}, queues)
    try:
        wait_for(lambda: app.control.ping(timeout=0.5), 60, 0.05, what="the worker's answer")
        emulator.reset_stats()
        rounds = SyncRound.objects.filter(pk__gt=_last_round_id(), completed_at__isnull=False)
        started_at = timezone.now()
        sync_all.delay()
        wait_for(lambda: rounds.count() == PORTFOLIOS, 600, 0.05, what="every round's end")
        # The last round's completion as the worker recorded it: no polling delay counted.
        finished_at = rounds.aggregate(last=Max("completed_at"))["last"]
        seconds = (finished_at - started_at).total_seconds()
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    stats = emulator.stats()
    return {
        "seconds": seconds,
        "requests": stats["total"],
        "market_requests": stats["by_kind"].get("markets", 0),
        "snapshots": HoldingSnapshot.objects.count() - before,
    }


def purge_queues(app: Any) -> None:
    """Drop messages a previous trial left, such as exposures no worker served."""
    with app.connection_for_write() as connection:
        for queue in ("sync", "risk"):
            connection.default_channel.queue_purge(queue)


def _last_round_id() -> int:
    from portfolio.models import SyncRound

    return SyncRound.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def market_requests_per_load(emulator: Any) -> int:
    """Market-loading requests one process makes per exchange set, measured here."""
    from portfolio import exchanges

    emulator.reset_stats()
    exchanges.clear_markets_cache()
    for exchange in SUPPORTED_EXCHANGES:
        exchanges.build_client(exchange, emulator_url=emulator.url).load_markets()
    return emulator.stats()["by_kind"].get("markets", 0)


def run(accounts: int = ACCOUNTS, trials: int = TRIALS) -> dict[str, Any]:
    scenario = build_scenario(accounts)
    process, emulator = serve_scenario(scenario)
    try:
        use_bench_database("counterweight_bench", registry=True)
        create_accounts(scenario)
        per_load = market_requests_per_load(emulator)
        bare, synced, with_risk = [], [], []
        for _ in range(trials):  # in turns, so that a slow minute slows all three
            bare.append(bare_loop(scenario, emulator))
            synced.append(celery_sync(emulator, "sync"))
            with_risk.append(celery_sync(emulator, "sync,risk"))
    finally:
        stop_group(process, seconds=30)
    return summarise(accounts, per_load, bare, synced) | with_exposures(bare, with_risk)


def summarise(accounts: int, per_load: int, bare: list[dict], synced: list[dict]) -> dict:
    bare_seconds = statistics.median(trial["seconds"] for trial in bare)
    celery_seconds = statistics.median(trial["seconds"] for trial in synced)
    ratio = celery_seconds / bare_seconds
    expected_markets = per_load * WORKER_PROCESSES
    market_requests = [trial["market_requests"] for trial in synced]
    return {
        "accounts": accounts,
        "worker_processes": WORKER_PROCESSES,
        "trials": len(bare),
        "bare_seconds_median": round(bare_seconds, 3),
        "bare_seconds_each": [round(trial["seconds"], 3) for trial in bare],
        "bare_requests_per_account": round(bare[0]["requests"] / accounts, 2),
        "celery_seconds_median": round(celery_seconds, 3),
        "celery_seconds_each": [round(trial["seconds"], 3) for trial in synced],
        "celery_requests_per_account": round(synced[0]["requests"] / accounts, 2),
        "ratio_of_medians": round(ratio, 2),
        "ratio_each": [
            round(s["seconds"] / b["seconds"], 2) for b, s in zip(bare, synced, strict=True)
        ],
        "target_ratio": TARGET_RATIO,
        "within_target": ratio <= TARGET_RATIO,
        "market_requests_each": market_requests,
        "market_requests_expected": expected_markets,
        "markets_once_per_process": max(market_requests) <= expected_markets,
        "snapshots_each": [trial["snapshots"] for trial in synced],
    }


def with_exposures(bare: list[dict], with_risk: list[dict]) -> dict[str, Any]:
    bare_seconds = statistics.median(trial["seconds"] for trial in bare)
    seconds = statistics.median(trial["seconds"] for trial in with_risk)
    return {
        "with_exposures_seconds_median": round(seconds, 3),
        "with_exposures_seconds_each": [round(trial["seconds"], 3) for trial in with_risk],
        "with_exposures_ratio_of_medians": round(seconds / bare_seconds, 2),
    }


def main() -> None:
    for key, value in run().items():
        print(f"{key:>28}: {value}")


if __name__ == "__main__":
    main()

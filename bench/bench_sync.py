"""Sync benchmark: 200 exchange accounts across every dedicated adapter, synced through Celery.

The exchanges are the registry's dedicated adapters (portfolio.exchanges.ADAPTERS), each with
its account in the test scenario (sandbox/scenarios/test.json) cloned under keys of its own: an
adapter added with its scenario account is benched without a change here.

Measured in one run, against the same emulator process:
- the lower bound: a bare ccxt loop in one process making the same balance, permission and
  ticker calls per account, with markets preloaded and nothing stored;
- Counterweight: `sync_all` on a real Celery worker serving the sync queue (cores + 1
  processes, Redis, PostgreSQL), from enqueueing until every portfolio's round has completed
  (snapshots, holdings, prices and runs stored). The exposure computation each completed
  round enqueues goes to the risk queue, which production serves with its own workers
  (README, "Queues") and bench_exposure measures; it is not part of the figure held to the
  target.
- For reference, the same with one worker serving both queues, so that the exposures are
  computed in the same window, on the same two cores.

Both sides are measured warm, as production runs: the bare loop preloads its markets, and
the worker is started once and serves a first round before the trials, as a deployed worker
serves round after round. That first round (each process's cold start: its markets, its
first database queries and client classes, about 0.2 s of CPU a process) is reported apart,
`first_round_seconds`; market loading is counted over every round the worker served, first
included, against its target (exchanges x worker processes).

This machine's speed drifts by 10-20% from minute to minute, so the loop and the rounds are
measured in turns and compared by their medians; every trial's figure is reported. Trials go
on (at least MIN_TRIALS, at most MAX_TRIALS) until the ratio of medians is stable to
+-STABLE_WITHIN: half the 90% interval of its bootstrap over the trials (paired: a trial's
loop and sync ran side by side) is at most that.

Needs DATABASE_URL (PostgreSQL) and REDIS_URL; it uses its own database, counterweight_bench.
Run with `make bench` or `python -m bench.bench_sync`.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import use_bench_database
from portfolio.exchanges import ADAPTERS
from tests.processes import start_emulator, stop_group, wait_for

ROOT = Path(__file__).resolve().parent.parent
ACCOUNTS = 200
PORTFOLIOS = 10
# Syncs wait on HTTP and the database: one process more than cores keeps both cores busy.
WORKER_PROCESSES = int(os.environ.get("BENCH_WORKER_PROCESSES", str((os.cpu_count() or 1) + 1)))
TEMPLATE = ROOT / "sandbox" / "scenarios" / "test.json"
TARGET_RATIO = 1.5
MIN_TRIALS = int(os.environ.get("BENCH_SYNC_MIN_TRIALS", "5"))
MAX_TRIALS = int(os.environ.get("BENCH_SYNC_MAX_TRIALS", "15"))
STABLE_WITHIN = 0.1  # the ratio of medians, +-
RESAMPLES = 2000
# Its own database, dropped and created; another name lets two checkouts bench side by side.
BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "counterweight_bench")


def benched_exchanges(template: dict[str, Any]) -> tuple[str, ...]:
    """Every dedicated adapter, in the registry's order; each must have a scenario account."""
    in_scenario = {account["exchange"] for account in template["accounts"]}
    missing = [exchange for exchange in ADAPTERS if exchange not in in_scenario]
    if missing:
        raise SystemExit(f"no account in {TEMPLATE.name} for {', '.join(missing)}: add one")
    return tuple(ADAPTERS)


def build_scenario(accounts: int = ACCOUNTS) -> dict[str, Any]:
    """The test scenario's account of every dedicated adapter, cloned with its own key (an
    address for a venue read by address) up to `accounts`; secrets are the template's (the
    emulator finds an account by its key, then checks the signature with its secret)."""
    template = json.loads(TEMPLATE.read_text())
    benched = benched_exchanges(template)
    by_exchange = {account["exchange"]: account for account in template["accounts"]}
    cloned = []
    for index in range(accounts):
        exchange = benched[index % len(benched)]
        account = by_exchange[exchange]
        # The template's key with a suffix: some keys carry meaning (gemini signs only
        # account-level keys, whose name contains "account").
        key = f"0x{index:040x}" if by_address(account) else f"{account['api_key']}-bench-{index}"
        cloned.append({**account, "api_key": key})
    return {"name": "bench", "prices": template["prices"], "accounts": cloned}


def by_address(account: dict[str, Any]) -> bool:
    return "secret" not in account  # hyperliquid: read by wallet address alone


def credentials_of(account: dict[str, Any]) -> dict[str, str]:
    if by_address(account):
        return {"walletAddress": account["api_key"]}
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
    """The lower bound: the same calls through bare ccxt, markets preloaded, nothing stored;
    its time per exchange too, so that an adapter's share of the baseline shows."""
    from portfolio import exchanges

    markets = {}
    for exchange in dict.fromkeys(account["exchange"] for account in scenario["accounts"]):
        client = exchanges.build_client(exchange, emulator_url=emulator.url)
        client.load_markets()
        markets[exchange] = client.markets
    emulator.reset_stats()
    by_exchange: dict[str, float] = dict.fromkeys(markets, 0.0)
    start = time.perf_counter()
    for account in scenario["accounts"]:
        began = time.perf_counter()
        bare_sync(account, markets[account["exchange"]], emulator.url)
        by_exchange[account["exchange"]] += time.perf_counter() - began
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "requests": emulator.stats()["total"], "by_exchange": by_exchange}


def bare_sync(account: dict[str, Any], markets: dict[str, Any], url: str) -> None:
    """The requests the adapter makes for one account, through bare ccxt: its permission
    call, each balance call once (per listed account where a listing gives the parameters),
    and its tickers; nothing parsed beyond ccxt, nothing checked, nothing stored."""
    from portfolio import exchanges

    exchange = account["exchange"]
    client = exchanges.build_client(exchange, credentials_of(account), emulator_url=url)
    client.set_markets(markets)
    permission = exchanges.PERMISSION_CALLS.get(exchange)
    if permission is not None:
        params = permission.params(client) if permission.params is not None else {}
        getattr(client, permission.method)(params)
    bare_balances(client, exchanges.BALANCE_CALLS[exchange])
    bare_tickers(client, exchanges.ADAPTERS[exchange], markets)


def bare_balances(client: Any, wallets: dict[str, tuple[Any, ...]]) -> None:
    listed: dict[str, Any] = {}
    seen: set[str] = set()
    for specs in wallets.values():
        for spec in specs:
            for params in bare_params(client, spec, listed):
                bare_pages(client, spec, params, seen)


def bare_pages(client: Any, spec: Any, params: dict[str, Any], seen: set[str]) -> None:
    """Every page of one call, as the app reads them (each request once)."""
    while params is not None:
        key = spec.method + json.dumps(params, sort_keys=True)
        if key in seen:
            return
        seen.add(key)
        params = spec.next_page(getattr(client, spec.method)(params), params)


def bare_params(client: Any, spec: Any, listed: dict[str, Any]) -> list[dict[str, Any]]:
    params = spec.params_for(client)
    if spec.listing is None:
        return [params]
    if spec.listing.key not in listed:
        method = getattr(client, spec.listing.method)
        listed[spec.listing.key] = method(dict(spec.listing.params))
    return [params | each for each in spec.listing.each(listed[spec.listing.key])]


def bare_tickers(client: Any, adapter: Any, markets: dict[str, Any]) -> None:
    from portfolio import exchanges

    symbols = exchanges.quote_symbols(markets, ("BTC", "ETH", "USDT", "USDC"))
    if not symbols or not client.has.get("fetchTickers"):
        return
    if adapter.quotes is None:
        client.fetch_tickers(symbols if adapter.ticker_symbols else None)
        return
    ids = {str(markets[s].get(f"{side}Id") or markets[s][side]) for s in symbols
           for side in ("base", "quote")}  # fmt: skip
    requests = {json.dumps(p, sort_keys=True): p for p in map(adapter.quotes.params, ids) if p}
    for params in requests.values():
        getattr(client, adapter.quotes.method)(params)


def start_worker(env: dict[str, str], queues: str = "sync,risk") -> subprocess.Popen:
    celery = str(Path(sys.executable).parent / "celery")
    command = [
        *(celery, "-A", "config", "worker", "-Q", queues, "-c", str(WORKER_PROCESSES)),
        *("-l", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)


@contextmanager
def serving_worker(emulator: Any, queues: str) -> Iterator[None]:
    """One worker for a series of rounds, as production keeps one; queues purged first."""
    from config.celery import app

    purge_queues(app)
    worker = start_worker({**os.environ, "EXCHANGE_EMULATOR_URL": emulator.url}, queues)
    try:
        wait_for(lambda: app.control.ping(timeout=0.5), 60, 0.05, what="the worker's answer")
        yield
    finally:
        worker.terminate()
        worker.wait(timeout=60)


def celery_round(emulator: Any, *, with_risk: bool = False) -> dict[str, Any]:
    """One sync_all through the serving worker, timed until every portfolio's round ended."""
    from django.db.models import Max
    from django.utils import timezone

    from portfolio.models import HoldingSnapshot, SyncRound
    from portfolio.tasks import sync_all

    before = HoldingSnapshot.objects.count()
    emulator.reset_stats()
    rounds = SyncRound.objects.filter(pk__gt=_last_round_id(), completed_at__isnull=False)
    started_at = timezone.now()
    sync_all.delay()
    wait_for(lambda: rounds.count() == PORTFOLIOS, 600, 0.05, what="every round's end")
    # The last round's completion as the worker recorded it: no polling delay counted.
    finished_at = rounds.aggregate(last=Max("completed_at"))["last"]
    if with_risk:  # the exposures finish before the next trial's loop starts
        wait_for(risk_queue_idle, 300, 0.1, what="the exposures")
    stats = emulator.stats()
    return {
        "seconds": (finished_at - started_at).total_seconds(),
        "requests": stats["total"],
        "market_requests": stats["by_kind"].get("markets", 0),
        "snapshots": HoldingSnapshot.objects.count() - before,
    }


def risk_queue_idle() -> bool:
    from config.celery import app

    with app.connection_for_write() as connection:
        # The Redis transport's channel has its Redis client; a queue is a list there.
        if connection.default_channel.client.llen("risk"):  # type: ignore[attr-defined]
            return False
    active = app.control.inspect(timeout=0.5).active() or {}
    return not any(active.values())


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
    for exchange in ADAPTERS:
        exchanges.build_client(exchange, emulator_url=emulator.url).load_markets()
    return emulator.stats()["by_kind"].get("markets", 0)


def run(
    accounts: int = ACCOUNTS, min_trials: int = MIN_TRIALS, max_trials: int = MAX_TRIALS
) -> dict[str, Any]:
    scenario = build_scenario(accounts)
    process, emulator = serve_scenario(scenario)
    try:
        use_bench_database(BENCH_DATABASE, registry=True)
        create_accounts(scenario)
        per_load = market_requests_per_load(emulator)
        first, bare, synced = in_turns(scenario, emulator, "sync", min_trials, max_trials)
        _, bare_beside, with_risk = in_turns(
            scenario, emulator, "sync,risk", MIN_TRIALS, MIN_TRIALS
        )
    finally:
        stop_group(process, seconds=30)
    return summarise(accounts, per_load, first, bare, synced) | with_exposures(
        bare_beside, with_risk
    )


def in_turns(
    scenario: dict[str, Any], emulator: Any, queues: str, min_trials: int, max_trials: int
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The worker's first (cold) round, then the bare loop and a round in turns, so that a
    slow minute slows both, until the ratio is stable or max_trials."""
    with_risk = "risk" in queues
    with serving_worker(emulator, queues):
        first = celery_round(emulator, with_risk=with_risk)
        bare: list[dict[str, Any]] = []
        synced: list[dict[str, Any]] = []
        while len(bare) < max_trials:
            bare.append(bare_loop(scenario, emulator))
            synced.append(celery_round(emulator, with_risk=with_risk))
            if len(bare) >= min_trials and ratio_spread(bare, synced) <= STABLE_WITHIN:
                break
    return first, bare, synced


def ratio_of_medians(bare: list[dict], synced: list[dict]) -> float:
    celery_seconds = statistics.median(trial["seconds"] for trial in synced)
    return celery_seconds / statistics.median(trial["seconds"] for trial in bare)


def ratio_spread(bare: list[dict], synced: list[dict]) -> float:
    """Half the 90% interval of the ratio of medians over trials drawn again with
    replacement (a seeded bootstrap, so that a run can be checked): how far the figure may
    move with other trials like these."""
    draw = random.Random(14)
    pairs = list(zip(bare, synced, strict=True))
    ratios = []
    for _ in range(RESAMPLES):
        sample = [draw.choice(pairs) for _ in pairs]
        ratios.append(ratio_of_medians([b for b, _ in sample], [s for _, s in sample]))
    ratios.sort()
    low, high = ratios[int(0.05 * RESAMPLES)], ratios[int(0.95 * RESAMPLES) - 1]
    return (high - low) / 2


def summarise(
    accounts: int, per_load: int, first: dict, bare: list[dict], synced: list[dict]
) -> dict:
    bare_seconds = statistics.median(trial["seconds"] for trial in bare)
    celery_seconds = statistics.median(trial["seconds"] for trial in synced)
    ratio = celery_seconds / bare_seconds
    spread = ratio_spread(bare, synced)
    expected_markets = per_load * WORKER_PROCESSES
    # Every round the worker served, its first included: markets load once per process.
    market_requests = [trial["market_requests"] for trial in [first, *synced]]
    exchanges = list(bare[0]["by_exchange"])
    return {
        "accounts": accounts,
        "exchanges": exchanges,
        "worker_processes": WORKER_PROCESSES,
        "trials": len(bare),
        "ratio_spread": round(spread, 3),
        "ratio_stable_within": STABLE_WITHIN,
        "ratio_stable": spread <= STABLE_WITHIN,
        "bare_seconds_median": round(bare_seconds, 3),
        "bare_seconds_each": [round(trial["seconds"], 3) for trial in bare],
        "bare_requests_per_account": round(bare[0]["requests"] / accounts, 2),
        "bare_seconds_by_exchange_median": {
            exchange: round(statistics.median(t["by_exchange"][exchange] for t in bare), 3)
            for exchange in exchanges
        },
        "first_round_seconds": round(first["seconds"], 3),
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
        "markets_once_per_process": sum(market_requests) <= expected_markets,
        "snapshots_each": [trial["snapshots"] for trial in [first, *synced]],
    }


def with_exposures(bare: list[dict], with_risk: list[dict]) -> dict[str, Any]:
    """Against the loop measured in turns with these rounds."""
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

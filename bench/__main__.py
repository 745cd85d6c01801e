"""`make bench`: run every benchmark in its own process and write bench/RESULTS.md.

Each benchmark module has a `run() -> dict` of figures, its baseline measured in the same
run included. The figures are written with the machine and the date they were taken on.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
BENCHMARKS = (
    ("bench_engine", "Risk engine alone (issue: risk engine)",
     "The whole engine (exposures, limits, every preset scenario) on 100,000 positions over "
     "500 locations and 200 assets. Target: 0.5 s."),
    ("bench_exposure", "Exposure end to end from PostgreSQL (issue: risk engine)",
     "compute_exposure (load holdings and prices, run the engine, store the snapshot, "
     "evaluate alerts) beside a bare psycopg SELECT of the same rows, same data, same run. "
     "Target: end to end at most 2x the bare read; queries not growing with positions."),
    ("bench_sync", "200 exchange accounts synced through Celery (issue: exchange sync)",
     "sync_all on a real worker serving the sync queue (Redis, PostgreSQL; snapshots, "
     "holdings, prices and runs stored) beside a bare ccxt loop in one process making the "
     "same balance, permission and ticker calls with markets preloaded and storing "
     "nothing. The accounts are spread over every dedicated adapter of the registry "
     "(`exchanges`), each cloned from its account in the test scenario. Both sides warm, "
     "as in production: the worker is started once and serves a first round before the "
     "trials (`first_round_seconds`: each process's cold start, markets included), then "
     "rounds and the loop run in turns, compared by medians (this machine's speed drifts "
     "by 10-20%), with trials added (5 to 15) until the ratio of medians is stable to "
     "+-0.1: `ratio_spread` is half the 90% interval of its bootstrap over the trials. "
     "Targets: at most 1.5x the loop; market-loading requests, over every round the worker "
     "served, = exchanges x worker processes. For reference, with_exposures: one worker "
     "serving both queues, so that each round's exposure is computed in the same window "
     "(against the loop measured in turns with it)."),
    ("bench_pages", "Exposure report page under 20 concurrent users (issue: web pages)",
     "20 signed-in managers on the report of a 5,000-position portfolio, each pausing about "
     "1 s between pages (the target: p95 300 ms), then the same users back to back, which "
     "shows where this 2-core machine, also running the load generator, saturates."),
    ("bench_load", "20 users on the pages while syncs run (issue: security and reliability)",
     "Investors and managers on the main pages back to back while a worker syncs rounds "
     "continuously; no 5xx, and no snapshot lost or duplicated."),
)  # fmt: skip


def run_one(module: str) -> dict:
    code = f"import json; from bench.{module} import run; print('RESULT ' + json.dumps(run()))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line.removeprefix("RESULT "))
    return {"error": (done.stderr or done.stdout).strip().splitlines()[-5:]}


def machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line for line in cpuinfo.read_text().splitlines() if "model name" in line]
        model = names[0].split(":", 1)[1].strip() if names else model
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores ({model}), {memory:.0f} GiB, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def render(results: dict[str, dict]) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}",
        f"- Command: `make bench` (DATABASE_URL and REDIS_URL: {database_and_redis()})",
        "",
    ]
    for module, title, about in BENCHMARKS:
        lines += [f"## {title}", "", about, "", "| figure | value |", "| --- | --- |"]
        lines += [f"| {key} | {value} |" for key, value in results[module].items()]
        lines.append("")
    return "\n".join(lines)


def database_and_redis() -> str:
    database = os.environ.get("DATABASE_URL", "unset").rsplit("@", 1)[-1]
    return f"{database}, {os.environ.get('REDIS_URL', 'unset')}"


def main() -> None:
    results = {}
    for module, title, _ in BENCHMARKS:
        print(f"running {module}: {title}", flush=True)
        results[module] = run_one(module)
        print(json.dumps(results[module], indent=2), flush=True)
    RESULTS.write_text(render(results))
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

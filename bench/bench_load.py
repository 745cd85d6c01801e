"""Load: 20 signed-in users on the main pages while syncs run without pause.

For `seconds` (default 180), on loopback only:
- a real web server (gunicorn gthread when installed, else Django's threaded runserver)
  serves the app with DEBUG off;
- USERS threads, half investors (password only) and half managers (password and TOTP), each
  signed in through the login form, request their fund's home, portfolio, location and
  exposure pages back to back;
- a Celery worker with 2 processes syncs PORTFOLIOS funds of ACCOUNTS_PER_FUND exchange
  accounts against the emulator, while a loop keeps ROUNDS_IN_FLIGHT rounds queued per fund.

Reported: requests, p50, p95, max (ms), errors (a 5xx or a failed connection), syncs completed,
and the integrity of the data written under load: every successful SyncRun has exactly one
HoldingSnapshot and every sync-sourced snapshot has its successful run.

Needs DATABASE_URL (PostgreSQL; its own database counterweight_bench_load is made afresh) and
REDIS_URL. Run with `python -m bench.bench_load [seconds]` or call :func:`run`.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bench_sync  # noqa: E402
from bench.common import percentile, use_bench_database  # noqa: E402
from tests.processes import (  # noqa: E402
    free_port,
    log_in,
    port_open,
    spawn,
    start_emulator,
    stop_group,
    wait_for,
)

DATABASE = "counterweight_bench_load"
DURATION_S = 180.0
USERS = 20
PORTFOLIOS = 5
ACCOUNTS_PER_FUND = 4
ROUNDS_IN_FLIGHT = 2  # per fund: a second round overlaps the first, so leases are contended
WORKER_PROCESSES = 2
DRAIN_S = 120.0  # after the load, how long the queued rounds may take to finish
DUE_EVERY_S = 10.0  # beat's dispatch_due_syncs interval (portfolio migration 0009)
PASSWORD = "bench load password"  # noqa: S105 - throwaway users in a throwaway database


@dataclass
class Fund:
    pk: int
    slug: str
    locations: list[int]


@dataclass
class Person:
    username: str
    fund: Fund
    totp_key: str | None = None  # managers sign in with a code; investors need none


@dataclass
class Samples:
    """What the browsing threads measured: (page, milliseconds) and errors in words."""

    times: list[tuple[str, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    other_status: Counter[int | None] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, page: str, ms: float, problem: str | None, status: int | None) -> None:
        with self.lock:
            self.times.append((page, ms))
            if problem:
                self.errors.append(problem)
            elif status != 200:
                self.other_status[status] += 1


def build_funds(scenario: dict[str, Any]) -> list[Fund]:
    from portfolio.models import Portfolio
    from portfolio.services import create_exchange_account

    funds = []
    accounts = iter(scenario["accounts"])
    for n in range(PORTFOLIOS):
        portfolio = Portfolio.objects.create(slug=f"load-{n}", name=f"Load fund {n}")
        locations = []
        for account in (next(accounts) for _ in range(ACCOUNTS_PER_FUND)):
            created = create_exchange_account(
                portfolio=portfolio,
                name=f"{account['exchange']} {account['api_key']}",
                exchange_id=account["exchange"],
                credentials=bench_sync.credentials_of(account),
            )
            locations.append(created.pk)
        funds.append(Fund(portfolio.pk, portfolio.slug, locations))
    return funds


def build_people(funds: list[Fund]) -> list[Person]:
    """USERS people spread over the funds: even ones investors with a stake, odd ones managers."""
    from decimal import Decimal

    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import AccessGrant, AccessLevel, InvestorStake, Role
    from accounts.services import create_user

    people = []
    for n in range(USERS):
        fund = funds[n % len(funds)]
        if n % 2 == 0:
            user = create_user(username=f"investor{n}", password=PASSWORD, role=Role.INVESTOR)
            InvestorStake.objects.create(investor=user, portfolio_id=fund.pk, share=Decimal("0.1"))
            people.append(Person(user.username, fund))
        else:
            user = create_user(username=f"manager{n}", password=PASSWORD, role=Role.MANAGER)
            AccessGrant.objects.create(user=user, portfolio_id=fund.pk, level=AccessLevel.MANAGE)
            device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
            people.append(Person(user.username, fund, device.key))
    return people


class Processes:
    """The processes this benchmark started, each in its own session, all stopped at the end."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="bench-load-"))
        self.started: list[subprocess.Popen] = []

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        process = spawn(command, log=self.folder / f"{name}.log", env=env)
        self.started.append(process)
        return process

    def start_emulator(self, scenario: dict[str, Any]) -> str:
        """The emulator serving `scenario`, stopped with the others; its URL."""
        path = self.folder / "scenario.json"
        path.write_text(json.dumps(scenario))
        process, url = start_emulator(path)
        self.started.append(process)
        return url

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_all(self) -> None:
        for process in reversed(self.started):
            # A worker's warm shutdown may take a while to end the task it has.
            stop_group(process, seconds=30)

    def remove_logs(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def server_command(port: int) -> tuple[list[str], str]:
    """gunicorn with threads where installed, else Django's threaded development server."""
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
        return command, "Django runserver (threaded, 1 process)"
    workers = (os.cpu_count() or 1) + 1
    command = [
        *(sys.executable, "-m", "gunicorn", "config.wsgi:application"),
        *("--bind", f"127.0.0.1:{port}", "--workers", str(workers)),
        *("--worker-class", "gthread", "--threads", "4", "--log-level", "warning"),
    ]
    return command, f"gunicorn gthread, {workers} workers × 4 threads"


def start_server(processes: Processes, env: dict[str, str]) -> tuple[str, str]:
    port = free_port()
    command, name = server_command(port)
    server = processes.start("web", command, env)
    wait_for(lambda: port_open(port) or server.poll() is not None, 60, what="the web server start")
    if server.poll() is not None:
        raise SystemExit(f"the web server stopped:\n{processes.log('web')[-2000:]}")
    return f"http://127.0.0.1:{port}", name


def start_worker(processes: Processes, env: dict[str, str]) -> None:
    celery = str(Path(sys.executable).parent / "celery")
    command = [
        *(celery, "-A", "config", "worker", "-Q", "sync,risk", "-c", str(WORKER_PROCESSES)),
        *("-l", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]
    processes.start("worker", command, env)


def rounds_in_flight(fund: Fund) -> int:
    from portfolio.models import SyncRound

    return SyncRound.objects.filter(portfolio_id=fund.pk, completed_at=None).count()


def sync_loop(funds: list[Fund], until: float, stop: threading.Event) -> None:
    """Keep ROUNDS_IN_FLIGHT rounds queued for every fund until the deadline."""
    from django.db import connection

    from portfolio.models import Portfolio
    from portfolio.rounds import start_sync_round

    try:
        while time.monotonic() < until and not stop.is_set():
            for fund in funds:
                if rounds_in_flight(fund) < ROUNDS_IN_FLIGHT:
                    start_sync_round(portfolio=Portfolio.objects.get(pk=fund.pk))
            stop.wait(0.25)
    finally:
        connection.close()


def due_loop(stop: threading.Event) -> None:
    """What beat's dispatch_due_syncs does every 10 s: send the retries (a sync that found its
    account busy, say) and second reads whose wait is over. Without it a round whose member
    waits for a retry never finishes."""
    from django.db import connection

    from portfolio.tasks import dispatch_due_syncs

    try:
        while not stop.wait(DUE_EVERY_S):
            dispatch_due_syncs()  # the task's body, run here in place of beat
    finally:
        connection.close()


def pages_of(fund: Fund) -> list[tuple[str, str]]:
    """(kind, path) of the pages a user of this fund browses."""
    from django.urls import NoReverseMatch, reverse

    pages = [("home", reverse("home")), ("portfolio", f"/portfolios/{fund.slug}/")]
    pages += [("location", f"/locations/{pk}/") for pk in fund.locations]
    try:
        pages.append(("exposure", reverse("riskmodels:report", args=[fund.slug])))
    except NoReverseMatch:
        pass  # no exposure report in this version of the app
    return pages


def browse(
    session: Any, base: str, pages: list[tuple[str, str]], until: float, samples: Samples
) -> None:
    """Request the pages in turn, back to back, until the deadline."""
    turn = 0
    while time.monotonic() < until:
        kind, path = pages[turn % len(pages)]
        turn += 1
        start = time.perf_counter()
        problem, status = None, None
        try:
            response = session.get(base + path, timeout=30, allow_redirects=False)
            status = response.status_code
            problem = f"status {status}" if status >= 500 else None
        except Exception as error:  # a failed request is a figure to report, not a crash
            problem = f"{type(error).__name__}: {str(error)[-80:]}"
        samples.add(kind, (time.perf_counter() - start) * 1000, problem, status)


def load(base: str, people: list[Person], funds: list[Fund], seconds: float) -> Samples:
    """The users browse while the sync loop runs; both stop at the same deadline."""
    sessions = [
        (log_in(base, person.username, PASSWORD, person.totp_key), pages_of(person.fund))
        for person in people
    ]
    samples = Samples()
    until = time.monotonic() + seconds
    stop = threading.Event()
    threads = [threading.Thread(target=sync_loop, args=(funds, until, stop), daemon=True)]
    threads += [
        threading.Thread(target=browse, args=(session, base, pages, until, samples), daemon=True)
        for session, pages in sessions
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    stop.set()
    return samples


def integrity() -> dict[str, Any]:
    """Lost or duplicated snapshots, counted in the database."""
    from django.db.models import Count

    from portfolio.models import (
        HoldingSnapshot,
        SnapshotSource,
        SyncOutcome,
        SyncRound,
        SyncRun,
    )

    success = SyncRun.objects.filter(outcome=SyncOutcome.SUCCESS)
    by_sync = HoldingSnapshot.objects.filter(source=SnapshotSource.SYNC)
    per_run = by_sync.exclude(sync_run=None).values("sync_run").annotate(n=Count("pk"))
    failures = SyncRun.objects.filter(outcome=SyncOutcome.FAILED).values_list("error_class")
    return {
        "syncs_completed": success.count(),
        "syncs_failed": SyncRun.objects.filter(outcome=SyncOutcome.FAILED).count(),
        "failed_by_class": dict(Counter(name for (name,) in failures)),
        "rounds_started": SyncRound.objects.count(),
        "rounds_unfinished": SyncRound.objects.filter(completed_at=None).count(),
        "sync_snapshots": by_sync.count(),
        "successful_runs_without_snapshot": success.filter(snapshot__isnull=True).count(),
        "runs_with_several_snapshots": per_run.filter(n__gt=1).count(),
        "sync_snapshots_without_successful_run": by_sync.exclude(
            sync_run__outcome=SyncOutcome.SUCCESS
        ).count(),
        "tasks_succeeding_twice": success.values("task_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count(),
    }


def summarise(samples: Samples, seconds: float) -> dict[str, Any]:
    times = [ms for _, ms in samples.times]
    figures = {
        "requests": len(times),
        "requests_per_s": round(len(times) / seconds, 1),
        "p50_ms": round(statistics.median(times), 1) if times else None,
        "p95_ms": round(percentile(times, 0.95), 1),
        "max_ms": round(max(times, default=0.0), 1),
        "errors": len(samples.errors),
        "error_kinds": dict(Counter(samples.errors)),
        "other_non_200": dict(samples.other_status),
    }
    for kind in ("home", "portfolio", "location", "exposure"):
        of_kind = [ms for page, ms in samples.times if page == kind]
        if of_kind:
            figures[f"p95_ms_{kind}"] = round(percentile(of_kind, 0.95), 1)
    return figures


def run(seconds: float = DURATION_S) -> dict[str, Any]:
    use_bench_database(DATABASE, needs_redis=True, registry=True)
    from config.celery import app

    app.control.purge()  # nothing left in the queues by an earlier run
    processes = Processes()
    beat_stop = threading.Event()
    try:
        scenario = bench_sync.build_scenario(PORTFOLIOS * ACCOUNTS_PER_FUND)
        env = os.environ | {"ALLOWED_HOSTS": "127.0.0.1", "DEBUG": "0", "LOG_LEVEL": "WARNING"}
        env["EXCHANGE_EMULATOR_URL"] = processes.start_emulator(scenario)
        funds = build_funds(scenario)
        people = build_people(funds)
        base, server = start_server(processes, env)
        start_worker(processes, env)
        beat = threading.Thread(target=due_loop, args=(beat_stop,), daemon=True)
        beat.start()
        samples = load(base, people, funds, seconds)
        drained = drain(DRAIN_S)
    finally:
        beat_stop.set()
        processes.stop_all()
    worker_errors = processes.log("worker").count("ERROR/")
    if samples.errors:  # the server's side of the story, for whoever reads the run
        print(processes.log("web")[-3000:], file=sys.stderr)
    processes.remove_logs()
    setup = {
        "duration_s": seconds,
        "users": f"{USERS} ({USERS // 2} investors, {USERS - USERS // 2} managers with TOTP)",
        "server": server,
        "worker_processes": WORKER_PROCESSES,
        "funds_x_accounts": f"{PORTFOLIOS} × {ACCOUNTS_PER_FUND}",
        "cores": os.cpu_count(),
    }
    checks = integrity()
    checks["drained_within_s"] = drained
    checks["worker_error_lines"] = worker_errors
    checks["no_lost_or_duplicated_snapshot"] = not any(
        checks[key]
        for key in (
            "successful_runs_without_snapshot",
            "runs_with_several_snapshots",
            "sync_snapshots_without_successful_run",
            "tasks_succeeding_twice",
        )
    )
    return setup | summarise(samples, seconds) | checks


def drain(seconds: float) -> float | None:
    """Seconds until every round queued under load had finished, or None if some never did."""
    from portfolio.models import SyncRound

    start = time.monotonic()
    if not wait_for(lambda: not SyncRound.objects.filter(completed_at=None).exists(), seconds):
        return None
    return round(time.monotonic() - start, 1)


def main() -> None:
    import json

    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else DURATION_S
    print(json.dumps(run(seconds), indent=2))


if __name__ == "__main__":
    main()

"""Private Redis and PostgreSQL that these tests may stop, kill and restart, and the app's own
processes (Celery workers, the web server) started against them.

Nothing here touches the machine's PostgreSQL or Redis: the private servers listen on free
loopback ports, keep their files in a temporary folder and are removed at the end of the
session, on failure too. The app runs in subprocesses exactly as deployed (DEBUG off); the
tests read the private database with psycopg, never through the test process's Django.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
import requests
from django.conf import settings

from tests.processes import csrf_of as csrf_of  # test_faults.py takes it from here
from tests.processes import free_port, log_in, port_open, spawn, stop_group, wait_for

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
REDIS_SERVER = "/usr/bin/redis-server"
CELERY = str(Path(sys.executable).parent / "celery")
DATABASE = "counterweight"
PASSWORD = "reliability password"


def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return f"({path} missing)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class PrivateRedis:
    """A redis-server of our own, with no persistence, restartable on the same port."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.log = folder / "redis.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "no", "--dir", str(self.folder),
                   "--logfile", str(self.log)]  # fmt: skip
        self.process = subprocess.Popen(command, start_new_session=True)
        if not wait_for(lambda: port_open(self.port), 10):
            raise RuntimeError(f"redis-server did not start:\n{tail(self.log)}")

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process)
            self.process = None

    def flush(self) -> None:
        redis.Redis(port=self.port, socket_timeout=5).flushall()


class PrivatePostgres:
    """A PostgreSQL cluster of our own. initdb refuses root, so pg_ctl runs as postgres."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.log = folder / "postgres.log"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")

    def url(self, database: str = DATABASE) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def pg(self, program: str, *args: str, timeout: float = 60) -> None:
        command = [str(PG_BIN / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed: {done.stderr}\n{tail(self.log)}")

    def init(self) -> None:
        self.pg("initdb", "-D", str(self.data), "--auth=trust", "-U", "postgres",
                "-E", "UTF8", "--locale=C", "--no-sync")  # fmt: skip
        self.start()

    def start(self) -> None:
        # Durability is not under test, and fsync off makes migrate and restarts quicker.
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")  # fmt: skip
        self.pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def restart(self) -> None:
        # -l again: without it the new postmaster would write to our pipe and hold it open.
        self.pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", "fast", "-w", "restart")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists() and port_open(self.port)

    def query(self, sql: str, *params: object) -> list[tuple]:
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            return conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, *params: object) -> Any:
        return self.query(sql, *params)[0][0]


def require(program: Path | str) -> None:
    """Skip where the servers are not installed, but never in CI, where they must run."""
    if Path(program).exists():
        return
    reason = f"{program} is missing: the reliability tests start their own servers"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def scratch() -> Iterator[Path]:
    require(REDIS_SERVER)
    require(PG_BIN / "initdb")
    folder = Path(tempfile.mkdtemp(prefix="counterweight-reliability-"))
    folder.chmod(0o755)  # postgres must reach its own subfolder
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def private_redis(scratch) -> Iterator[PrivateRedis]:
    folder = scratch / "redis"
    folder.mkdir()
    server = PrivateRedis(folder)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def private_postgres(scratch) -> Iterator[PrivatePostgres]:
    """A migrated cluster for the session: initdb and migrate take seconds, not milliseconds."""
    folder = scratch / "postgres"
    folder.mkdir()
    server = PrivatePostgres(folder)
    try:
        server.init()
        with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        migrate(server, scratch)
        yield server
    finally:
        server.stop()


def migrate(server: PrivatePostgres, scratch: Path) -> None:
    env = app_environment(database_url=server.url(), redis_url="", var_dir=scratch / "var")
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def app_environment(
    *, database_url: str, redis_url: str, var_dir: Path, emulator_url: str = ""
) -> dict[str, str]:
    """The environment of a deployed process: DEBUG off, the private services, this run's keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DJANGO_"))}
    return env | {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": settings.SECRET_KEY,
        "CREDENTIALS_KEYS": ",".join(settings.CREDENTIALS_KEYS),
        "EXCHANGE_EMULATOR_URL": emulator_url,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "VAR_DIR": str(var_dir),
        # The static files the test session collected (tests/conftest.py), as a deployment
        # collects them before it starts: pages name them by their hashed names.
        "STATIC_ROOT": str(settings.STATIC_ROOT),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


class App:
    """The app's processes for one test; every one is stopped at the end of the test."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.processes: list[tuple[subprocess.Popen, Path]] = []

    def spawn(self, name: str, command: list[str], **env: str) -> subprocess.Popen:
        """A process in its own session, so that it and its children can be signalled at once."""
        log = self.logs / f"{name}-{len(self.processes)}.log"
        process = spawn(command, log=log, env=self.env | env)
        self.processes.append((process, log))
        return process

    def start_worker(self, concurrency: int = 1, **env: str) -> subprocess.Popen:
        command = [CELERY, "-A", "config", "worker", "-Q", "sync,risk", "-c", str(concurrency),
                   "-l", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
                   "-n", f"reliability{len(self.processes)}@%h"]  # fmt: skip
        return self.spawn("worker", command, **env)

    def start_web(self) -> str:
        """The app behind a real threaded HTTP server; its base URL."""
        port = free_port()
        server = self.spawn("web", [sys.executable, "manage.py", "runserver", "--noreload",
                                    f"127.0.0.1:{port}"])  # fmt: skip
        if not wait_for(lambda: port_open(port) or server.poll() is not None, 60):
            raise RuntimeError(f"the web server did not start:\n{self.logs_text()}")
        assert server.poll() is None, self.logs_text()
        return f"http://127.0.0.1:{port}"

    def call(self, function: str, **kwargs: Any) -> Any:
        """Run one of this module's in-app functions in a fresh process of the app."""
        code = (
            "import json, sys, django; django.setup(); from tests.reliability import conftest; "
            "result = getattr(conftest, sys.argv[1])(**json.loads(sys.argv[2])); "
            "print('RESULT ' + json.dumps(result))"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, function, json.dumps(kwargs)],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.split("RESULT ", 1)[1])

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL the process and all it forked: a worker lost with its pool, mid-task."""
        stop_group(process, signal.SIGKILL)

    def stop_all(self) -> None:
        for process, _ in reversed(self.processes):
            stop_group(process)

    def logs_text(self) -> str:
        return "\n".join(f"--- {log.name}\n{tail(log)}" for _, log in self.processes)


@pytest.fixture
def app(private_postgres, private_redis, emulator, scratch, tmp_path) -> Iterator[App]:
    """The services running and Redis empty, and a place for this test's processes."""
    if not private_redis.running:
        private_redis.start()
    if not private_postgres.running:
        private_postgres.start()
    private_redis.flush()  # no message or result left over from another test
    env = app_environment(
        database_url=private_postgres.url(),
        redis_url=private_redis.url,
        var_dir=scratch / "var",
        emulator_url=emulator.url,
    )
    started = App(env, tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


def browser_session(base: str, username: str, totp_key: str | None = None) -> requests.Session:
    """A session past the login form and, for a manager, the TOTP step, as a person would."""
    return log_in(base, username, PASSWORD, totp_key)


# --- Run inside the app's processes (App.call): Django is set up on the private database.


def make_fund(tag: str) -> dict[str, Any]:
    """A fund with one binance account, a manager (with TOTP) and an investor with a stake."""
    from decimal import Decimal

    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import AccessGrant, AccessLevel, InvestorStake, Role
    from accounts.services import create_user
    from portfolio.models import Counterparty, CounterpartyKind, ExchangeAccount, Portfolio
    from portfolio.services import create_exchange_account
    from tests.portfolio.test_sync import KEYS

    Counterparty.objects.get_or_create(
        slug="binance", defaults={"name": "Binance", "kind": CounterpartyKind.EXCHANGE}
    )
    fund = Portfolio.objects.create(slug=f"fund-{tag}", name=f"Fund {tag}")
    # One exchange account per key: an earlier test's fund gives the scenario's key up.
    ExchangeAccount.objects.filter(exchange_id="binance").delete()
    account = create_exchange_account(
        portfolio=fund, name=f"binance {tag}", exchange_id="binance", credentials=KEYS["binance"]
    )
    manager = create_user(username=f"manager-{tag}", password=PASSWORD, role=Role.MANAGER)
    AccessGrant.objects.create(user=manager, portfolio=fund, level=AccessLevel.MANAGE)
    device = TOTPDevice.objects.create(user=manager, name="phone", confirmed=True)
    investor = create_user(username=f"investor-{tag}", password=PASSWORD, role=Role.INVESTOR)
    InvestorStake.objects.create(investor=investor, portfolio=fund, share=Decimal("0.25"))
    return {
        "portfolio": fund.pk,
        "slug": fund.slug,
        "location": account.pk,
        "manager": manager.username,
        "totp_key": device.key,
        "investor": investor.username,
    }


def start_round(portfolio: int) -> int:
    """What "sync now" and beat do: record a round, sent to the broker after the commit."""
    from portfolio.models import Portfolio
    from portfolio.rounds import start_sync_round

    sync_round = start_sync_round(portfolio=Portfolio.objects.get(pk=portfolio))
    assert sync_round is not None
    return sync_round.pk


def dispatch_pending() -> int:
    from portfolio.rounds import dispatch_pending_rounds

    return dispatch_pending_rounds()


def dispatch_due() -> int:
    """What beat's dispatch_due_syncs does for retries: send those that are due."""
    from portfolio.rounds import dispatch_due_retries

    return dispatch_due_retries()

"""A real Celery worker runs sync_all end to end against the emulator.

The worker is a separate process on the configured broker (Redis in CI) and the test
database, so the test data is committed (transaction=True) for it to see.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app
from portfolio.models import HoldingSnapshot, SyncRound
from portfolio.tasks import sync_all
from tests.portfolio.test_sync import holdings_of, make_account
from tests.processes import wait_for

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).parent / "celery")


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def worker(emulator) -> Iterator[subprocess.Popen]:
    celery_app.control.purge()  # nothing left over from an earlier run
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "EXCHANGE_EMULATOR_URL": emulator.url,
        "SECRET_KEY": settings.SECRET_KEY,
        "CREDENTIALS_KEYS": ",".join(settings.CREDENTIALS_KEYS),
    }
    command = [CELERY, "-A", "config", "worker", "-Q", "sync,risk", "-c", "2", "-l", "WARNING",
               "--without-gossip", "--without-mingle", "--without-heartbeat"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    yield process
    process.terminate()
    process.wait(timeout=30)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_runs_sync_all_end_to_end(worker, emulator):
    accounts = [make_account(name) for name in ("binance", "kraken", "okx")]
    sync_all.delay()
    assert wait_for(lambda: SyncRound.objects.filter(completed_at__isnull=False).count() == 3, 90)
    for account in accounts:
        assert HoldingSnapshot.objects.filter(location=account.location).count() == 1
    assert holdings_of(accounts[0])[("BTC", "spot")] == Decimal("1.5")
    assert holdings_of(accounts[1])[("BTC", "spot")] == Decimal("2")
    assert worker.poll() is None  # still running: nothing crashed it

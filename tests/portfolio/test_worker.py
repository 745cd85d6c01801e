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


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_syncs_a_master_key_and_its_subaccounts_in_one_round(worker, emulator):
    from portfolio.models import ExchangeAccount, SyncOutcome, SyncRun
    from portfolio.rounds import start_sync_round
    from riskmodels.models import SYNC_RULE, Alert, ExposureSnapshot

    master = make_account("binance")
    ExchangeAccount.objects.filter(pk=master.pk).update(include_subaccounts=True)
    first = start_sync_round(portfolio=master.location.portfolio)
    assert wait_for(lambda: SyncRound.objects.get(pk=first.pk).completed_at is not None, 90)
    first.refresh_from_db()
    subs = {a.subaccount: a for a in ExchangeAccount.objects.filter(master=master)}
    # The round grew by the two sub-accounts the master's sync found, and waited for them.
    assert first.location_count == 3
    assert sorted(first.location_ids) == sorted([master.pk, *(a.pk for a in subs.values())])
    desk_a, desk_b = subs["desk-a@fund.test"], subs["desk-b@fund.test"]
    assert (desk_a.location.name, desk_b.location.name) == (
        "binance main / Desk A",
        "binance main / Desk B",
    )
    assert holdings_of(desk_a) == {
        ("BTC", "spot"): Decimal("1"), ("USDT", "spot"): Decimal("2500.5"),
        ("ETH", "margin"): Decimal("3"), ("USDT", "margin"): Decimal("-301.25"),
        ("USDT", "futures"): Decimal("979.25"),
    }  # fmt: skip
    assert holdings_of(desk_b) == {
        ("ETH", "spot"): Decimal("12.5"), ("BTC", "margin"): Decimal("0.1"),
        ("USDT", "futures"): Decimal("583.3"),
    }  # fmt: skip
    assert wait_for(
        lambda: ExposureSnapshot.objects.filter(portfolio=master.location.portfolio).exists(), 60
    )

    # Desk B is closed at the exchange: the next round keeps its figures, marks it, alerts.
    emulator.remove_subaccount("binance", "test-binance-key", "desk-b@fund.test")
    second = start_sync_round(portfolio=master.location.portfolio)
    assert wait_for(lambda: SyncRound.objects.get(pk=second.pk).completed_at is not None, 90)
    desk_b.refresh_from_db()
    assert desk_b.subaccount_missing_since is not None
    assert HoldingSnapshot.objects.filter(location=desk_b.location).count() == 1
    assert holdings_of(desk_b)[("ETH", "spot")] == Decimal("12.5")
    # Said by the master's listing, and by desk B's own sync if it ran after that listing.
    gone = SyncRun.objects.filter(location=desk_b.location, error_class="SubAccountGone")
    assert gone.exists()
    assert set(gone.values_list("outcome", flat=True)) == {SyncOutcome.FAILED}
    assert wait_for(
        lambda: Alert.objects.filter(rule=SYNC_RULE, subject=str(desk_b.pk)).exists(), 30
    )
    # The round after that no longer syncs it; the other two are synced again.
    third = start_sync_round(portfolio=master.location.portfolio)
    assert set(third.location_ids) == {master.pk, desk_a.pk}
    assert wait_for(lambda: SyncRound.objects.get(pk=third.pk).completed_at is not None, 90)
    assert worker.poll() is None

"""Sync rounds reach the broker, or wait for it: queued work is never lost."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from portfolio.models import HoldingSnapshot, SyncOutcome, SyncRound, SyncRun
from portfolio.rounds import (
    dispatch_due_retries,
    dispatch_pending_rounds,
    dispatch_round,
    round_task_id,
    start_sync_round,
)
from portfolio.tasks import sync_location
from tests.portfolio.test_sync import make_account
from tests.portfolio.test_worker import database_url

ROOT = Path(__file__).resolve().parents[2]
START_ROUND = (
    "import django; django.setup(); from portfolio.models import Portfolio; "
    "from portfolio.rounds import start_sync_round; "
    "r = start_sync_round(portfolio=Portfolio.objects.get(pk={pk})); print(r.pk)"
)


DISPATCH_RETRIES = (
    "import django; django.setup(); from portfolio.rounds import dispatch_due_retries; "
    "print(dispatch_due_retries())"
)


def run_with_broker_down(code: str) -> str:
    """Another process, as the web server or beat would be, with its broker unreachable;
    the last line it printed."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": "redis://127.0.0.1:9/0",  # discard port: nothing listens
        "SECRET_KEY": settings.SECRET_KEY,
        "CREDENTIALS_KEYS": ",".join(settings.CREDENTIALS_KEYS),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def start_round_with_broker_down(portfolio_pk: int) -> int:
    return int(run_with_broker_down(START_ROUND.format(pk=portfolio_pk)))


@pytest.mark.django_db(transaction=True)
def test_a_round_started_while_the_broker_is_down_runs_once_it_is_back(emulator, eager_celery):
    account = make_account("binance")
    round_id = start_round_with_broker_down(account.location.portfolio_id)
    sync_round = SyncRound.objects.get(pk=round_id)
    assert sync_round.dispatched_at is None
    assert not HoldingSnapshot.objects.exists()
    assert dispatch_pending_rounds() == 1
    sync_round.refresh_from_db()
    assert sync_round.dispatched_at is not None and sync_round.completed_at is not None
    assert HoldingSnapshot.objects.filter(location=account.location).count() == 1
    assert dispatch_pending_rounds() == 0


def test_a_round_sent_twice_syncs_once(
    db, emulator, eager_celery, django_capture_on_commit_callbacks
):
    account = make_account("binance")
    with django_capture_on_commit_callbacks(execute=True):
        sync_round = start_sync_round(portfolio=account.location.portfolio)
    assert dispatch_round(sync_round.pk)  # the same task ids again
    assert HoldingSnapshot.objects.filter(location=account.location).count() == 1
    assert (
        round_task_id(sync_round.pk, account.pk)
        == f"sync-round{sync_round.pk}-location{account.pk}"
    )


@pytest.mark.django_db(transaction=True)
def test_a_retry_due_while_the_broker_is_down_is_sent_once_it_is_back(emulator, eager_celery):
    account = make_account("binance")
    emulator.add_fault("binance", "/api/v3/account", status=503, times=1)
    sync_location.apply(args=[account.pk])
    SyncRun.objects.update(retry_due_at=timezone.now())  # due now, not after the backoff
    assert run_with_broker_down(DISPATCH_RETRIES) == "0"
    retrying = SyncRun.objects.get()
    assert (retrying.outcome, retrying.retry_sent_at) == (SyncOutcome.RETRYING, None)  # released
    assert dispatch_due_retries() == 1  # the broker is back (here: eager)
    assert list(SyncRun.objects.order_by("pk").values_list("outcome", "attempt")) == [
        (SyncOutcome.RETRYING, 1),
        (SyncOutcome.SUCCESS, 2),
    ]
    assert HoldingSnapshot.objects.filter(location=account.location).count() == 1

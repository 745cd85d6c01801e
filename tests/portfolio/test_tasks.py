"""The sync task around the service, and beat's dispatch of the retries it leaves due.

An exchange fault leaves the run retrying with its next attempt due in the database; beat's
dispatch_due_syncs sends it (rounds.dispatch_due_retries). Only a database fault, where
nothing can be recorded, retries through Celery itself.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from portfolio import rounds, sync
from portfolio.models import HoldingSnapshot, SyncOutcome, SyncRound, SyncRun
from portfolio.rounds import dispatch_due_retries, retry_task_id
from portfolio.tasks import dispatch_due_syncs, sync_location
from tests.portfolio.test_sync import make_account

BALANCE_PATH = "/api/v3/account"


@pytest.fixture
def round_of_one(db, emulator):
    account = make_account("binance")
    sync_round = SyncRound.objects.create(
        portfolio=account.location.portfolio,
        started_at=timezone.now(),
        location_count=1,
        location_ids=[account.pk],
    )
    return account, sync_round


def first_attempt(account, sync_round) -> None:
    """The round's own message, as dispatch_round sends it."""
    task_id = rounds.round_task_id(sync_round.pk, account.pk)
    outcome = sync_location.apply(
        args=(account.pk,), kwargs={"round_id": sync_round.pk}, task_id=task_id
    )
    assert outcome.state == "SUCCESS", outcome.result  # no exception, no Celery retry


def latest_run() -> SyncRun:
    return SyncRun.objects.order_by("-pk").first() or pytest.fail("no run")


def dispatch_when_due() -> int:
    """Beat's dispatch at the moment the latest run's retry falls due."""
    due_at = latest_run().retry_due_at
    assert due_at is not None
    return dispatch_due_retries(now=due_at)


def broken_store(**kwargs: object) -> None:
    raise OperationalError("the database went away")


def test_an_exchange_fault_leaves_its_retry_due_in_the_database(round_of_one, emulator):
    account, sync_round = round_of_one
    emulator.add_fault("binance", BALANCE_PATH, status=503, times=1)
    before = timezone.now()
    first_attempt(account, sync_round)
    run = SyncRun.objects.get()
    assert (run.outcome, run.attempt, run.retry_sent_at) == (SyncOutcome.RETRYING, 1, None)
    assert run.retry_due_at is not None and run.retry_due_at > before
    sync_round.refresh_from_db()
    assert sync_round.completed_at is None  # a retrying member has not finished
    assert dispatch_due_retries(now=run.retry_due_at - timedelta(seconds=1)) == 0  # not yet


def test_a_due_retry_is_sent_once_as_the_next_attempt_and_completes_the_round(
    round_of_one, emulator, eager_celery
):
    account, sync_round = round_of_one
    emulator.add_fault("binance", BALANCE_PATH, status=503, times=1)
    first_attempt(account, sync_round)
    retrying = latest_run()
    assert dispatch_when_due() == 1
    runs = list(SyncRun.objects.order_by("pk"))
    assert [(run.outcome, run.attempt) for run in runs] == [
        (SyncOutcome.RETRYING, 1),
        (SyncOutcome.SUCCESS, 2),
    ]
    task_id = f"sync-round{sync_round.pk}-location{account.pk}-attempt2"
    assert runs[1].task_id == task_id == retry_task_id(retrying)
    assert runs[0].retry_sent_at is not None
    assert HoldingSnapshot.objects.filter(location=account.location).count() == 1
    sync_round.refresh_from_db()
    assert sync_round.completed_at is not None
    assert dispatch_due_retries(now=timezone.now() + timedelta(hours=1)) == 0  # sent once


def test_a_retry_outside_a_round_has_a_task_id_of_its_location(db, emulator, eager_celery):
    account = make_account("binance")
    emulator.add_fault("binance", BALANCE_PATH, status=503, times=1)
    sync_location.apply(args=[account.pk], task_id="sync-now")
    assert dispatch_when_due() == 1
    assert latest_run().task_id == f"sync-location{account.pk}-attempt2"
    assert latest_run().outcome == SyncOutcome.SUCCESS


def test_retries_run_out_in_a_failed_run_that_finishes_the_round(
    round_of_one, emulator, eager_celery
):
    account, sync_round = round_of_one
    emulator.add_fault("binance", BALANCE_PATH, status=503, times=None)
    first_attempt(account, sync_round)
    for _ in range(settings.SYNC_MAX_RETRIES):
        assert dispatch_when_due() == 1
    runs = list(SyncRun.objects.order_by("pk"))
    retrying = [SyncOutcome.RETRYING] * settings.SYNC_MAX_RETRIES
    assert [run.outcome for run in runs] == [*retrying, SyncOutcome.FAILED]
    assert [run.attempt for run in runs] == list(range(1, settings.SYNC_MAX_RETRIES + 2))
    assert runs[-1].retry_due_at is None
    assert dispatch_due_retries(now=timezone.now() + timedelta(hours=1)) == 0
    sync_round.refresh_from_db()
    assert sync_round.completed_at is not None
    assert not HoldingSnapshot.objects.exists()


def test_two_dispatchers_at_once_send_each_retry_once(db, emulator, eager_celery, monkeypatch):
    """The second dispatcher runs while the first is sending: both have read both runs as
    due, and each run is sent by whichever claims it first."""
    # Two exchange accounts (one key may be stored in one place only): binance and okx.
    accounts = [make_account("binance"), make_account("okx")]
    emulator.add_fault("binance", BALANCE_PATH, status=503, times=1)
    emulator.add_fault("okx", "/api/v5/account/balance", status=503, times=1)
    for account in accounts:
        sync_location.apply(args=[account.pk])
    due_at = max(run.retry_due_at for run in SyncRun.objects.all())
    send, sent = rounds._send_retry, []

    def send_while_another_dispatches(run: SyncRun) -> bool:
        sent.append(run.pk)
        if len(sent) == 1:
            assert dispatch_due_retries(now=due_at) == 1  # the run the first has not claimed
        return send(run)

    monkeypatch.setattr(rounds, "_send_retry", send_while_another_dispatches)
    assert dispatch_due_retries(now=due_at) == 1
    assert sorted(sent) == sorted(SyncRun.objects.filter(attempt=1).values_list("pk", flat=True))
    second = SyncRun.objects.filter(attempt=2)
    assert sorted(second.values_list("location_id", flat=True)) == [a.pk for a in accounts]
    assert set(second.values_list("outcome", flat=True)) == {SyncOutcome.SUCCESS}


def test_beat_task_sends_due_retries(round_of_one, emulator, eager_celery, monkeypatch):
    account, sync_round = round_of_one
    emulator.add_fault("binance", BALANCE_PATH, status=503, times=1)
    first_attempt(account, sync_round)
    SyncRun.objects.update(retry_due_at=timezone.now() - timedelta(seconds=1))
    dispatch_due_syncs.apply()
    assert latest_run().outcome == SyncOutcome.SUCCESS


def test_beat_sends_due_syncs_every_ten_seconds(db):
    task = PeriodicTask.objects.get(task="portfolio.tasks.dispatch_due_syncs")
    assert (task.interval.every, task.interval.period, task.enabled) == (10, "seconds", True)
    assert task.expire_seconds == 10


def test_a_database_fault_is_retried_until_the_attempts_run_out(round_of_one, monkeypatch):
    account, sync_round = round_of_one
    monkeypatch.setattr(sync, "store_result", broken_store)
    outcome = sync_location.apply(args=[account.pk], kwargs={"round_id": sync_round.pk})
    assert outcome.state == "FAILURE"  # eager retries run inline, one after another
    runs = SyncRun.objects.order_by("attempt")
    retrying = [SyncOutcome.RETRYING] * settings.SYNC_MAX_RETRIES
    assert [run.outcome for run in runs] == [*retrying, SyncOutcome.FAILED]
    assert [run.attempt for run in runs] == list(range(1, settings.SYNC_MAX_RETRIES + 2))
    # Nothing is left for beat: these retries went through Celery.
    assert not SyncRun.objects.filter(retry_due_at__isnull=False).exists()


def test_a_last_attempt_that_fails_still_completes_its_round(round_of_one, monkeypatch):
    account, sync_round = round_of_one
    monkeypatch.setattr(sync, "store_result", broken_store)
    last = settings.SYNC_MAX_RETRIES + 1
    outcome = sync_location.apply(
        args=[account.pk], kwargs={"round_id": sync_round.pk, "attempt": last}
    )
    assert outcome.state == "FAILURE"
    assert isinstance(outcome.result, OperationalError)
    assert SyncRun.objects.get().outcome == SyncOutcome.FAILED
    sync_round.refresh_from_db()
    assert sync_round.completed_at is not None


def test_a_retry_lost_after_it_was_sent_is_sent_again_once(round_of_one, emulator, monkeypatch):
    account, sync_round = round_of_one
    emulator.add_fault("binance", BALANCE_PATH, status=503, times=1)
    first_attempt(account, sync_round)
    sent: list[str] = []
    monkeypatch.setattr(rounds, "_send_retry", lambda run: sent.append(retry_task_id(run)) or True)
    due_at = latest_run().retry_due_at
    assert due_at is not None
    assert dispatch_due_retries(now=due_at) == 1  # sent, and then lost by the broker
    assert dispatch_due_retries(now=due_at + timedelta(minutes=9)) == 0  # may still be queued
    later = due_at + timedelta(minutes=11)
    assert dispatch_due_retries(now=later) == 1
    assert dispatch_due_retries(now=later) == 0  # claimed again: once
    assert sent == [retry_task_id(latest_run())] * 2  # the same task id: synced once at most

"""The sync task around the service: retries for transient faults only, and a round that
completes even when a member's last attempt fails."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from portfolio import sync
from portfolio.models import SyncOutcome, SyncRound, SyncRun
from portfolio.tasks import sync_location
from tests.portfolio.test_sync import make_account


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


def broken_store(**kwargs: object) -> None:
    raise OperationalError("the database went away")


def test_a_database_fault_is_retried_until_the_attempts_run_out(round_of_one, monkeypatch):
    account, sync_round = round_of_one
    monkeypatch.setattr(sync, "store_snapshot", broken_store)
    outcome = sync_location.apply(args=[account.pk], kwargs={"round_id": sync_round.pk})
    assert outcome.state == "FAILURE"  # eager retries run inline, one after another
    runs = SyncRun.objects.order_by("attempt")
    retrying = [SyncOutcome.RETRYING] * settings.SYNC_MAX_RETRIES
    assert [run.outcome for run in runs] == [*retrying, SyncOutcome.FAILED]
    assert [run.attempt for run in runs] == list(range(1, settings.SYNC_MAX_RETRIES + 2))


def test_a_last_attempt_that_fails_still_completes_its_round(round_of_one, monkeypatch):
    account, sync_round = round_of_one
    monkeypatch.setattr(sync, "store_snapshot", broken_store)
    last = settings.SYNC_MAX_RETRIES
    outcome = sync_location.apply(
        args=[account.pk], kwargs={"round_id": sync_round.pk}, retries=last
    )
    assert outcome.state == "FAILURE"
    assert isinstance(outcome.result, OperationalError)
    assert SyncRun.objects.get().outcome == SyncOutcome.FAILED
    sync_round.refresh_from_db()
    assert sync_round.completed_at is not None

"""A Redis restart while a sync's retry waits.

Reproduced at a25d591, when a retry was Celery's countdown: the worker held the retried
message unacknowledged in memory, and when Redis restarted kombu 5.7.0 crashed the worker
while restoring it (AttributeError: 'NoneType' object has no attribute 'hostname', from
redis Channel._connparams): the worker exited with status 1, the retry was lost, the round
never completed and nothing synced again. Now a retry waits in the database and beat sends it
(portfolio.rounds.dispatch_due_retries), so the broker holds nothing of it until it is due.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from tests.processes import children_of, wait_for
from tests.reliability.test_faults import BALANCE_PATH, round_completed, runs_of, snapshot_count

pytestmark = pytest.mark.worker


def retry_of(postgres, location: int) -> tuple[datetime, datetime | None] | None:
    """The due and sent times of the location's retrying run, once there is one."""
    sql = (
        "SELECT retry_due_at, retry_sent_at FROM portfolio_syncrun "
        "WHERE location_id = %s AND outcome = 'retrying' AND retry_due_at IS NOT NULL"
    )
    rows = postgres.query(sql, location)
    return rows[0] if rows else None


def wait_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds() + 0.2))


def a_retry_waits_in_the_database(app, emulator, postgres, tag: str):
    """A fund whose first sync met a 503: the worker, the round and the retry's due time."""
    fund = app.call("make_fund", tag=tag)
    emulator.add_fault("binance", BALANCE_PATH, status=503, times=1)
    worker = app.start_worker()
    round_id = app.call("start_round", portfolio=fund["portfolio"])
    assert wait_for(lambda: retry_of(postgres, fund["location"]), 30), app.logs_text()
    due_at, sent_at = retry_of(postgres, fund["location"]) or pytest.fail("no retry")
    assert sent_at is None  # nothing of it is in the broker or the worker
    return fund, worker, round_id, due_at


def assert_retried_once(app, postgres, fund, round_id: int) -> None:
    assert wait_for(lambda: round_completed(postgres, round_id), 40), app.logs_text()
    assert snapshot_count(postgres, fund["location"]) == 1
    task_id = f"sync-round{round_id}-location{fund['location']}"
    assert runs_of(postgres, fund["location"]) == [
        ("retrying", "ExchangeNotAvailable", task_id, round_id),
        ("success", "", f"{task_id}-attempt2", round_id),
    ]
    assert app.call("dispatch_due") == 0  # sent once, never again


def test_a_redis_restart_while_a_retry_waits_neither_loses_it_nor_stops_the_worker(
    app, emulator, private_redis, private_postgres
):
    fund, worker, round_id, due_at = a_retry_waits_in_the_database(
        app, emulator, private_postgres, "retry-redis-restart"
    )
    pool = children_of(worker.pid)
    private_redis.stop()  # no persistence: whatever Redis held is gone
    private_redis.start()
    assert retry_of(private_postgres, fund["location"]) == (due_at, None)  # still waiting

    wait_until(due_at)
    assert app.call("dispatch_due") == 1  # what beat's dispatch_due_syncs does
    assert_retried_once(app, private_postgres, fund, round_id)
    assert worker.poll() is None and children_of(worker.pid) == pool  # the same worker


def test_a_retry_due_while_redis_is_down_is_sent_once_it_is_back(
    app, emulator, private_redis, private_postgres
):
    fund, worker, round_id, due_at = a_retry_waits_in_the_database(
        app, emulator, private_postgres, "retry-redis-down"
    )
    private_redis.stop()
    wait_until(due_at)
    assert app.call("dispatch_due") == 0  # the broker is down: the claim is released
    assert retry_of(private_postgres, fund["location"]) == (due_at, None)

    private_redis.start()
    assert app.call("dispatch_due") == 1
    assert_retried_once(app, private_postgres, fund, round_id)
    assert worker.poll() is None

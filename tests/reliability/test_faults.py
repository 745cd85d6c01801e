"""Faults of the machinery around a sync: a worker killed mid-task, Redis down, PostgreSQL
restarted. Real processes on private services (conftest.py); assertions read the database.
"""

from __future__ import annotations

import time

import pytest

from tests.processes import children_of, wait_for
from tests.reliability.conftest import browser_session, csrf_of

pytestmark = pytest.mark.worker

BALANCE_PATH = "/api/v3/account"  # binance's spot balance: every sync of the account asks it
VISIBILITY_S = 4
LEASE_S = 3  # shorter than the visibility timeout, as settings.py requires


def round_completed(postgres, round_id: int) -> bool:
    sql = "SELECT completed_at IS NOT NULL FROM portfolio_syncround WHERE id = %s"
    return postgres.scalar(sql, round_id)


def snapshot_count(postgres, location: int) -> int:
    sql = "SELECT count(*) FROM portfolio_holdingsnapshot WHERE location_id = %s"
    return postgres.scalar(sql, location)


def runs_of(postgres, location: int) -> list[tuple]:
    sql = (
        "SELECT outcome, error_class, task_id, sync_round_id FROM portfolio_syncrun "
        "WHERE location_id = %s ORDER BY started_at"
    )
    return postgres.query(sql, location)


def test_a_sync_whose_worker_is_killed_runs_again_and_stores_one_snapshot(
    app, emulator, private_postgres
):
    fund = app.call("make_fund", tag="killed")
    emulator.add_fault("binance", BALANCE_PATH, delay=3, times=1)
    worker = app.start_worker(SYNC_LEASE_SECONDS=str(LEASE_S))
    round_id = app.call("start_round", portfolio=fund["portfolio"])
    asked = lambda: emulator.count(exchange="binance", path=BALANCE_PATH) >= 1  # noqa: E731
    assert wait_for(asked, 30), app.logs_text()
    seen_at = time.monotonic()
    app.kill(worker)  # main process and pool together, while the exchange is answering
    assert [run[:2] for run in runs_of(private_postgres, fund["location"])] == [("running", "")]

    # kombu hands back an unacknowledged message when a worker starts (and then only every
    # ~100 s), and only once it is older than the visibility timeout: start after that.
    time.sleep(max(0.0, seen_at + VISIBILITY_S + 0.5 - time.monotonic()))
    app.start_worker(BROKER_VISIBILITY_TIMEOUT=str(VISIBILITY_S), SYNC_LEASE_SECONDS=str(LEASE_S))

    assert wait_for(lambda: round_completed(private_postgres, round_id), 40), app.logs_text()
    assert snapshot_count(private_postgres, fund["location"]) == 1
    runs = runs_of(private_postgres, fund["location"])
    assert [run[:2] for run in runs] == [("failed", "Interrupted"), ("success", "")]
    task_id = f"sync-round{round_id}-location{fund['location']}"
    assert [run[2:] for run in runs] == [(task_id, round_id)] * 2  # one task, delivered twice
    assert emulator.count(exchange="binance", path=BALANCE_PATH) == 2


def test_pages_render_and_sync_now_waits_for_redis_while_it_is_down(
    app, emulator, private_redis, private_postgres
):
    fund = app.call("make_fund", tag="redis-down")
    base = app.start_web()
    private_redis.stop()

    manager = browser_session(base, fund["manager"], fund["totp_key"])
    investor = browser_session(base, fund["investor"])
    slug = fund["slug"]
    pages = ["/", f"/portfolios/{slug}/", f"/locations/{fund['location']}/"]
    pages.append(f"/portfolios/{slug}/exposure/")
    for session in (manager, investor):
        for path in pages:
            assert session.get(base + path, timeout=30).status_code == 200, (path, app.logs_text())

    page = manager.get(f"{base}/portfolios/{slug}/", timeout=30)
    started = time.monotonic()
    answer = manager.post(
        f"{base}/portfolios/{slug}/sync/",
        data={"csrfmiddlewaretoken": csrf_of(page)},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302, (answer.status_code, app.logs_text())
    assert time.monotonic() - started < 10  # the publish retry policy gives up quickly
    rounds = private_postgres.query(
        "SELECT id, dispatched_at FROM portfolio_syncround WHERE portfolio_id = %s",
        fund["portfolio"],
    )
    assert [dispatched for _, dispatched in rounds] == [None]  # recorded, waiting for Redis
    assert manager.get(base + answer.headers["Location"], timeout=30).status_code == 200

    private_redis.start()
    app.start_worker()
    assert app.call("dispatch_pending") == 1  # what beat's dispatch_pending_rounds does
    round_id = rounds[0][0]
    assert wait_for(lambda: round_completed(private_postgres, round_id), 40), app.logs_text()
    assert snapshot_count(private_postgres, fund["location"]) == 1
    assert app.call("dispatch_pending") == 0  # sent once, never again
    assert manager.get(f"{base}/locations/{fund['location']}/", timeout=30).status_code == 200


def test_a_worker_keeps_syncing_after_postgresql_restarts(app, private_postgres):
    fund = app.call("make_fund", tag="pg-restart")
    worker = app.start_worker()
    first = app.call("start_round", portfolio=fund["portfolio"])
    assert wait_for(lambda: round_completed(private_postgres, first), 40), app.logs_text()
    # The round's exposure too, so that the restart finds the worker idle on kept connections.
    exposure = "SELECT count(*) FROM riskmodels_exposuresnapshot WHERE portfolio_id = %s"
    assert wait_for(lambda: private_postgres.scalar(exposure, fund["portfolio"]), 30)
    pool = children_of(worker.pid)
    assert pool

    private_postgres.restart()  # every connection the worker kept is now dead

    second = app.call("start_round", portfolio=fund["portfolio"])
    assert wait_for(lambda: round_completed(private_postgres, second), 40), app.logs_text()
    assert snapshot_count(private_postgres, fund["location"]) == 2
    attempts = "SELECT outcome, attempt FROM portfolio_syncrun WHERE location_id = %s ORDER BY id"
    # conn_health_checks: a dead kept connection costs a reconnect, not even a retry.
    assert private_postgres.query(attempts, fund["location"]) == [("success", 1)] * 2
    assert worker.poll() is None and children_of(worker.pid) == pool  # same processes

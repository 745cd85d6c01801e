"""A real Celery worker folds a burst of changes into one exposure computation.

The worker is a separate process on the configured broker and cache (Redis in CI) and the
test database, so the test data is committed (transaction=True) for it to see. Without the
debounce each change would compute, and each computation over other holdings stores its own
snapshot: the count of snapshots is the count of computations that saw different inputs.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.conf import settings

from config.celery import app as celery_app
from portfolio.imports import import_holdings, set_manual_holding
from riskmodels import freshness
from riskmodels.models import ExposureSnapshot, PendingChange
from tests.factories import exchange, worked_check
from tests.portfolio.test_worker import CELERY, ROOT, database_url
from tests.processes import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

DEBOUNCE_SECONDS = 2


@pytest.fixture
def risk_worker() -> Iterator[subprocess.Popen]:
    celery_app.control.purge()  # nothing left over from an earlier run
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "CREDENTIALS_KEYS": ",".join(settings.CREDENTIALS_KEYS),
        "RECOMPUTE_DEBOUNCE_SECONDS": str(DEBOUNCE_SECONDS),
    }
    command = [CELERY, "-A", "config", "worker", "-Q", "risk", "-c", "2", "-l", "WARNING",
               "--without-gossip", "--without-mingle", "--without-heartbeat"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    yield process
    process.terminate()
    process.wait(timeout=30)


def settled(portfolio, snapshots: int) -> bool:
    """The recompute landed: no change pending, and that many snapshots."""
    count = ExposureSnapshot.objects.filter(portfolio=portfolio).count()
    return count == snapshots and not PendingChange.objects.filter(portfolio=portfolio).exists()


def navs(portfolio) -> list[Decimal]:
    rows = ExposureSnapshot.objects.filter(portfolio=portfolio).order_by("computed_at", "pk")
    return list(rows.values_list("nav", flat=True))


def test_a_burst_of_changes_is_computed_once(tenants, risk_worker):
    fund = tenants.fund_a
    locations = worked_check(fund)
    freshness.schedule_recompute(fund.pk)  # the worker is up once it has computed this
    assert wait_for(lambda: settled(fund, 1), 60)  # NAV 10,000,000
    for amount in ("51", "52", "53", "54"):  # four edits, each its own commit
        set_manual_holding(
            portfolio=fund, location=locations["cold"], asset_code="BTC", product="spot",
            amount=Decimal(amount), user=tenants.alice,
        )  # fmt: skip
        time.sleep(0.5)  # a worker that did not wait would compute between them
    assert wait_for(lambda: settled(fund, 2), 60)
    time.sleep(DEBOUNCE_SECONDS + 1)  # nothing else comes
    assert navs(fund) == [Decimal("10000000"), Decimal("10200000")]  # 54 BTC, computed once

    # A CSV import of 500 rows is one more computation; a later edit is the next one.
    exchange("anchorage")
    # 10 vaults and 50 new codes: as much as one file may create.
    rows = "Vault 0,custodian,anchorage,BTC,spot,0.5\n"
    rows += "\n".join(
        f"Vault {n % 10},custodian,anchorage,X{n // 10:03},spot,{n + 1}" for n in range(499)
    )
    header = "location,location_kind,custodian,asset,product,amount\n"
    assert import_holdings(portfolio=fund, text=header + rows, user=tenants.alice).ok
    assert wait_for(lambda: settled(fund, 3), 60)
    set_manual_holding(
        portfolio=fund, location=locations["cold"], asset_code="BTC", product="spot",
        amount=Decimal("0"), user=tenants.alice,
    )  # fmt: skip
    assert wait_for(lambda: settled(fund, 4), 60)
    time.sleep(DEBOUNCE_SECONDS + 1)
    # 0.5 BTC in a vault; the 50 new assets have no price (unpriced, not zero).
    assert navs(fund)[2:] == [Decimal("10225000"), Decimal("7525000")]
    assert risk_worker.poll() is None  # still running: nothing crashed it

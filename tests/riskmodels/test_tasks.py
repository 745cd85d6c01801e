"""Tasks are thin and scheduled by beat from the database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django_celery_beat.models import PeriodicTask

from riskmodels import tasks
from riskmodels.models import ExposureSnapshot
from tests.factories import worked_check

pytestmark = pytest.mark.django_db


def test_compute_exposure_task_stores_a_snapshot_once(tenants, eager_celery):
    worked_check(tenants.fund_a)
    tasks.compute_exposure.delay(tenants.fund_a.pk)
    tasks.compute_exposure.delay(tenants.fund_a.pk)  # a redelivery changes nothing
    snapshot = ExposureSnapshot.objects.get()
    assert (snapshot.portfolio, snapshot.nav) == (tenants.fund_a, Decimal("10000000"))


def test_compute_all_exposures_covers_every_portfolio(tenants, eager_celery):
    worked_check(tenants.fund_a)
    tasks.compute_all_exposures.delay()
    assert dict(ExposureSnapshot.objects.values_list("portfolio__slug", "nav")) == {
        "fund-a": Decimal("10000000"),
        "fund-b": Decimal("0"),
    }
    assert ExposureSnapshot.objects.count() == 2


def test_tasks_acknowledge_late():
    assert tasks.compute_exposure.acks_late and tasks.compute_all_exposures.acks_late
    assert tasks.compute_exposure.name == "riskmodels.tasks.compute_exposure"


def test_beat_computes_every_hour_from_the_database():
    task = PeriodicTask.objects.get(task="riskmodels.tasks.compute_all_exposures")
    assert (task.interval.every, task.interval.period, task.enabled) == (1, "hours", True)
    assert task.queue == "risk"

"""Tasks are thin and scheduled by beat from the database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django_celery_beat.models import PeriodicTask

from config.celery import app
from riskmodels import tasks
from riskmodels.models import ExposureSnapshot
from tests.factories import worked_check

pytestmark = pytest.mark.django_db


@pytest.fixture
def inline_tasks() -> Iterator[None]:
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False


def test_compute_exposure_task_stores_a_snapshot_once(tenants, inline_tasks):
    worked_check(tenants.fund_a)
    tasks.compute_exposure.delay(tenants.fund_a.pk)
    tasks.compute_exposure.delay(tenants.fund_a.pk)  # a redelivery changes nothing
    assert ExposureSnapshot.objects.filter(portfolio=tenants.fund_a).count() == 1


def test_compute_all_exposures_covers_every_portfolio(tenants, inline_tasks):
    worked_check(tenants.fund_a)
    tasks.compute_all_exposures.delay()
    assert set(ExposureSnapshot.objects.values_list("portfolio__slug", flat=True)) == {
        "fund-a",
        "fund-b",
    }


def test_tasks_acknowledge_late():
    assert tasks.compute_exposure.acks_late and tasks.compute_all_exposures.acks_late
    assert tasks.compute_exposure.name == "riskmodels.tasks.compute_exposure"


def test_beat_computes_every_hour_from_the_database():
    task = PeriodicTask.objects.get(task="riskmodels.tasks.compute_all_exposures")
    assert (task.interval.every, task.interval.period, task.enabled) == (1, "hours", True)
    assert task.queue == "risk"

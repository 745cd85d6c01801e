"""Celery application: settings come from Django's under the CELERY_ prefix."""

from __future__ import annotations

import os

from celery import Celery, Task
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("counterweight")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    # Two queues that scale apart: sync is I/O-bound, risk is CPU-bound.
    task_default_queue="sync",
    task_routes={"riskmodels.tasks.*": {"queue": "risk"}},
    broker_connection_retry_on_startup=True,
    # When the broker connection drops, a sync in hand runs on and records its outcome (its
    # redelivered message then finds it done or its account locked): cancelling it, Celery
    # 6's default, would leave a running run until its lease ends. Set here so that an upgrade
    # keeps it, and the worker stops warning about it at every reconnection.
    worker_cancel_long_running_tasks_on_connection_loss=False,
)
app.autodiscover_tasks()

# Celery's Django fixup closes every database connection before and after every task unless
# this is set: a new PostgreSQL connection per task costs more than a sync's own queries.
# Connections are instead handled as Django handles them per request (below): kept while
# healthy and younger than CONN_MAX_AGE, replaced when broken, e.g. after a restart.
app.conf["CELERY_DB_REUSE_MAX"] = 1_000_000


@task_prerun.connect
@task_postrun.connect
def close_old_database_connections(task: Task | None = None, **kwargs: object) -> None:
    # An eager task runs inside its caller's request or transaction: leave that alone.
    if task is not None and not task.request.is_eager:
        close_old_connections()

"""Celery application: settings come from Django's under the CELERY_ prefix."""

from __future__ import annotations

import os

from celery import Celery

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
)
app.autodiscover_tasks()

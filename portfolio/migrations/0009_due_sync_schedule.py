"""Beat sends the sync retries and second reads that are due, every 10 seconds.

A retry waits in the database (SyncRun.retry_due_at), so its delay is only as precise as this
interval; a tick still queued after the next one is due is dropped (expire_seconds), rather
than piling up behind a busy sync queue.
"""

from __future__ import annotations

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

TASK_NAME = "Send due sync retries and second reads"
EVERY_SECONDS = 10


def add_schedule(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = interval_model.objects.get_or_create(every=EVERY_SECONDS, period="seconds")
    task_model.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "portfolio.tasks.dispatch_due_syncs",
            "interval": every,
            "expire_seconds": EVERY_SECONDS,
        },
    )


def remove_schedule(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portfolio", "0008_sync_safeguards"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(add_schedule, remove_schedule)]

"""Beat sends sync rounds that could not reach the broker, once a minute."""

from __future__ import annotations

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

TASK_NAME = "Send sync rounds the broker missed"


def add_schedule(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = interval_model.objects.get_or_create(every=1, period="minutes")
    task_model.objects.get_or_create(
        name=TASK_NAME,
        defaults={"task": "portfolio.tasks.dispatch_pending_rounds", "interval": every},
    )


def remove_schedule(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("portfolio", "0004_round_dispatch")]
    operations = [migrations.RunPython(add_schedule, remove_schedule)]

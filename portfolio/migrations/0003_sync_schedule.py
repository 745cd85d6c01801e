"""Beat's default schedule: sync every exchange account every 15 minutes; admins change it."""

from __future__ import annotations

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

TASK_NAME = "Sync all exchange accounts"


def add_schedule(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = interval_model.objects.get_or_create(every=15, period="minutes")
    task_model.objects.get_or_create(
        name=TASK_NAME,
        defaults={"task": "portfolio.tasks.sync_all", "interval": every, "enabled": True},
    )


def remove_schedule(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portfolio", "0002_sync_rounds"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(add_schedule, remove_schedule)]

"""Before a running sync run becomes its account's lock (next migration): where a location
has several runs still marked running (left by workers that died), all but the newest are
ended as interrupted, as the next sync would have done.
"""

from __future__ import annotations

from django.db import migrations, models
from django.db.models import F, Max


def end_all_but_newest_running_run(apps, schema_editor) -> None:
    SyncRun = apps.get_model("portfolio", "SyncRun")
    running = SyncRun.objects.filter(outcome="running")
    newest = running.values("location").annotate(newest=Max("started_at"))
    for row in newest:
        older = running.filter(location=row["location"], started_at__lt=row["newest"])
        older.update(
            outcome="failed",
            finished_at=F("started_at"),
            error_class="Interrupted",
            error_message="The sync stopped before it finished; it was run again.",
        )
    # Two runs started at the very same instant: keep the one with the highest id.
    for row in running.values("location").annotate(count=models.Count("id")).filter(count__gt=1):
        keep = running.filter(location=row["location"]).order_by("-id").first()
        running.filter(location=row["location"]).exclude(pk=keep.pk).update(
            outcome="failed", finished_at=F("started_at"), error_class="Interrupted"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("portfolio", "0005_dispatch_schedule"),
    ]

    operations = [
        migrations.RunPython(end_all_but_newest_running_run, migrations.RunPython.noop),
    ]

"""A running sync run is its account's lock (one per location), replacing
ExchangeAccount.sync_lease_until: a sync starts by recording its run, which fails when another
is running (portfolio/sync.py)."""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("portfolio", "0006_end_duplicate_running_runs"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="exchangeaccount",
            name="sync_lease_until",
        ),
        migrations.AddConstraint(
            model_name="syncrun",
            constraint=models.UniqueConstraint(
                condition=models.Q(("outcome", "running")),
                fields=("location",),
                name="syncrun_one_running_per_location",
            ),
        ),
    ]

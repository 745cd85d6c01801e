"""The DESIGN table as the global default policy, from the engine's DEFAULT_POLICY numbers."""

from __future__ import annotations

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps
from django.utils import timezone

from riskmodels.engine import DEFAULT_POLICY

POLICY_NAME = "Global default"


def default_rows() -> list[tuple[str, str, object, object]]:
    """(rule, rating tier, warn, breach): the tier table of the group rule, then every rule."""
    rows = [("group", tier, t.warn, t.breach) for tier, t in DEFAULT_POLICY.group_tier.items()]
    rows += [(rule, "", t.warn, t.breach) for rule, t in DEFAULT_POLICY.thresholds.items()]
    return rows


def seed(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    policy_model = apps.get_model("riskmodels", "RiskPolicy")
    limit_model = apps.get_model("riskmodels", "Limit")
    change_model = apps.get_model("riskmodels", "PolicyChange")
    policy, _ = policy_model.objects.get_or_create(portfolio=None, defaults={"name": POLICY_NAME})
    now = timezone.now()
    for rule, tier, warn, breach in default_rows():
        limit, created = limit_model.objects.get_or_create(
            policy=policy,
            rule=rule,
            rating_tier=tier,
            counterparty=None,
            defaults={"warn": warn, "breach": breach},
        )
        if created:
            # History starts with the seed, so every later number has a "changed from".
            change_model.objects.create(
                policy=policy,
                policy_name=policy.name,
                limit_id=limit.pk,
                rule=rule,
                scope=f"tier {tier}" if tier else "all",
                action="created",
                new_warn=warn,
                new_breach=breach,
                changed_by_name="migration",
                changed_at=now,
            )


def unseed(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    apps.get_model("riskmodels", "RiskPolicy").objects.filter(portfolio=None).delete()


class Migration(migrations.Migration):
    dependencies = [("riskmodels", "0002_policy_history_and_scenarios")]
    operations = [migrations.RunPython(seed, unseed)]

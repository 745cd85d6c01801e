"""One list of rules: the engine names them; the database, the policy and the admin follow."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from riskmodels.engine import DEFAULT_POLICY, RULE_LABELS, RULES, Rule
from riskmodels.engine.policy import GROUP_RULE, THRESHOLD_RULES
from riskmodels.engine.rules import SCOPED_RULES, SHARE_RULES
from riskmodels.models import SYNC_RULE, Alert, Limit, PolicyChange, limit_bounds


@pytest.mark.parametrize("model", [Limit, Alert, PolicyChange])
def test_every_rule_field_offers_exactly_the_engines_rules(model):
    field = model._meta.get_field("rule")
    # Alerts also follow syncs, under a rule no policy sets (riskmodels.sync_alerts).
    extra = [SYNC_RULE] if model is Alert else []
    assert [value for value, _ in field.choices] == [rule.value for rule in Rule] + extra
    labels = dict(field.choices)
    assert {rule: labels[rule] for rule in Rule} == {r.value: RULE_LABELS[r] for r in Rule}


def test_the_policy_has_a_threshold_for_every_rule():
    assert set(RULES) == set(Rule)
    assert set(DEFAULT_POLICY.thresholds) | {GROUP_RULE} == set(Rule)
    assert set(THRESHOLD_RULES) == set(Rule) - {Rule.GROUP}


def test_every_rule_has_a_unit_for_its_limits():
    units = {rule: limit_bounds(rule)[2] for rule in Rule}
    assert {r for r, unit in units.items() if unit.startswith("A share")} == SHARE_RULES
    assert units[Rule.HHI_THIRD_PARTY] == "An HHI (0 to 10,000 points)"
    assert units[Rule.STALE_DATA] == "An age in hours"
    assert SCOPED_RULES <= SHARE_RULES


@pytest.mark.django_db
def test_a_rule_added_to_the_engine_alone_fails_the_migration_check():
    """The choices and constraints come from the engine's list, so a rule added there needs a
    migration: this check is what fails when only one side has it."""
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()

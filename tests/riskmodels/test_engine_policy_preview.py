"""The pure comparison of findings under two policies (no database)."""

from __future__ import annotations

from decimal import Decimal

from riskmodels.engine import Finding
from riskmodels.engine.policy_preview import compare_findings, worst_level


def _finding(level: str, warn: str, breach: str, subject: str = "binance") -> Finding:
    return Finding(
        "group", subject, Decimal("0.3"), Decimal(warn), Decimal(breach), level, Decimal(3)
    )


def test_worst_level_is_the_most_severe_finding():
    findings = [_finding("ok", "0.4", "0.5", "a"), _finding("breach", "0.1", "0.2", "b")]
    assert worst_level(findings) == "breach"
    assert worst_level([]) == "ok"


def test_compare_findings_reports_a_level_change_with_both_limits():
    impact = compare_findings([_finding("ok", "0.4", "0.5")], [_finding("warn", "0.25", "0.5")])
    assert (impact.status_before, impact.status_after) == ("ok", "warn")
    (change,) = impact.changes
    assert (change.level_before, change.level_after) == ("ok", "warn")
    assert (change.warn_before, change.warn_after) == (Decimal("0.4"), Decimal("0.25"))


def test_compare_findings_ignores_unchanged_findings_and_equal_scales():
    before = [_finding("ok", "0.400000", "0.500000")]
    assert compare_findings(before, [_finding("ok", "0.4", "0.5")]).changes == ()


def test_compare_findings_lists_a_limit_change_without_a_level_change():
    impact = compare_findings([_finding("ok", "0.4", "0.5")], [_finding("ok", "0.35", "0.5")])
    (change,) = impact.changes
    assert not change.level_changed and change.warn_after == Decimal("0.35")

"""Counterweight's risk engine: pure functions over frozen dataclasses and Decimal.

No Django here (a test enforces it), only the standard library, so that the mathematics can be
tested and benchmarked without a database. Start with :func:`build_report`.
"""

from __future__ import annotations

from riskmodels.engine.book import EngineInputError
from riskmodels.engine.inputs import SELF_CUSTODY, Counterparty, Position
from riskmodels.engine.investor import investor_view
from riskmodels.engine.liquidity import LockedAmount
from riskmodels.engine.outputs import (
    AllocationBucket,
    CategoryExposure,
    Concentration,
    CureAction,
    Finding,
    GroupExposure,
    Holding,
    LockedGroup,
    MoveSuggestion,
    Report,
    ScenarioResult,
    StaleLocation,
)
from riskmodels.engine.policy import DEFAULT_POLICY, RULES, Policy, Threshold
from riskmodels.engine.report import build_report
from riskmodels.engine.rules import RULE_LABELS, Rule
from riskmodels.engine.stress import Scenario, Shock, group_default, preset_scenarios

__all__ = [
    "DEFAULT_POLICY",
    "RULES",
    "RULE_LABELS",
    "SELF_CUSTODY",
    "AllocationBucket",
    "CategoryExposure",
    "Concentration",
    "Counterparty",
    "CureAction",
    "EngineInputError",
    "Finding",
    "GroupExposure",
    "Holding",
    "LockedAmount",
    "LockedGroup",
    "MoveSuggestion",
    "Policy",
    "Position",
    "Report",
    "Rule",
    "Scenario",
    "ScenarioResult",
    "Shock",
    "StaleLocation",
    "Threshold",
    "build_report",
    "group_default",
    "investor_view",
    "preset_scenarios",
]

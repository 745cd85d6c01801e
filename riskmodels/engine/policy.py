"""Risk policy: warn and breach thresholds per rule, with per-subject overrides.

Precedence, most specific first:

1. ``overrides[rule][subject]`` — for the one-group limit, ``overrides["group"][group_slug]``;
2. for the one-group limit only: ``group_tier[tier]`` of the group's own rating tier;
3. ``thresholds[rule]``.

Shares of NAV are fractions (``Decimal("0.20")``), HHI is in points (0 to 10,000), staleness in
hours, unpriced and unclassified assets in numbers of holdings. A value crosses a threshold when it
is strictly above it, so a warn of 0 means "any" and ``None`` means "this level does not exist".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import TypeVar

from riskmodels.engine.rules import Rule

K = TypeVar("K")
V = TypeVar("V")

TIERS = ("A", "B", "C", "D", "unrated")

# The one-group look-through limit: thresholds come from the tier table and "group" overrides.
GROUP_RULE = Rule.GROUP
THRESHOLD_RULES: tuple[Rule, ...] = tuple(rule for rule in Rule if rule is not GROUP_RULE)
RULES: tuple[Rule, ...] = tuple(Rule)


@dataclass(frozen=True, slots=True)
class Threshold:
    """A (warn, breach) pair; either level may be absent (None)."""

    warn: Decimal | None
    breach: Decimal | None

    def __post_init__(self) -> None:
        for value in (self.warn, self.breach):
            if value is not None and (not isinstance(value, Decimal) or not value >= 0):
                raise ValueError(f"threshold levels must be non-negative Decimals: {self!r}")
        if self.warn is not None and self.breach is not None and self.warn > self.breach:
            raise ValueError(f"warn above breach: {self!r}")


def _frozen(mapping: Mapping[K, V]) -> Mapping[K, V]:
    """A read-only copy, so the caller's dict cannot change a policy after the fact."""
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class Policy:
    """Thresholds for every rule (see the module docstring for precedence)."""

    group_tier: Mapping[str, Threshold]
    thresholds: Mapping[str, Threshold]
    overrides: Mapping[str, Mapping[str, Threshold]] = field(default_factory=dict)
    # Products that are unsecured credit to the venue: lending ("earn") and custodial staking,
    # which both hand the venue control of the asset and lock it when a run starts.
    earn_products: frozenset[str] = frozenset({"earn", "staking"})
    # Basel reporting line for "large exposures" (at or above this share of NAV).
    large_exposure: Decimal = Decimal("0.10")

    def __post_init__(self) -> None:
        _check_keys("group_tier", self.group_tier, TIERS)
        _check_keys("thresholds", self.thresholds, THRESHOLD_RULES)
        unknown = set(self.overrides) - set(RULES)
        if unknown:
            raise ValueError(f"overrides for unknown rules: {sorted(unknown)}")
        object.__setattr__(self, "group_tier", _frozen(self.group_tier))
        object.__setattr__(self, "thresholds", _frozen(self.thresholds))
        frozen_overrides = {rule: _frozen(subjects) for rule, subjects in self.overrides.items()}
        object.__setattr__(self, "overrides", _frozen(frozen_overrides))
        object.__setattr__(self, "earn_products", frozenset(self.earn_products))

    def for_group(self, group: str, tier: str) -> Threshold:
        """One-group limit: a group-specific override beats the tier threshold."""
        override = self.overrides.get(GROUP_RULE, {}).get(group)
        return override if override is not None else self.group_tier[tier]

    def for_subject(self, rule: str, subject: str) -> Threshold:
        """Any other rule: a subject-specific override beats the rule's threshold."""
        override = self.overrides.get(rule, {}).get(subject)
        return override if override is not None else self.thresholds[rule]


def _check_keys(name: str, mapping: Mapping[str, Threshold], expected: tuple[str, ...]) -> None:
    """Every expected key present, nothing else: a typo must not silently disable a rule."""
    if set(mapping) != set(expected):
        raise ValueError(f"{name} must have exactly the keys {expected}, got {sorted(mapping)}")


def _pair(warn: str | None, breach: str | None) -> Threshold:
    """Shorthand for the default table below."""
    return Threshold(
        None if warn is None else Decimal(warn), None if breach is None else Decimal(breach)
    )


DEFAULT_POLICY = Policy(
    group_tier={
        "A": _pair("0.20", "0.25"),
        "B": _pair("0.10", "0.15"),
        "C": _pair("0.03", "0.05"),
        "D": _pair("0.01", "0.02"),
        "unrated": _pair("0.01", "0.02"),
    },
    thresholds={
        Rule.EXCHANGE_CUSTODY: _pair("0.40", "0.50"),
        Rule.EARN_PER_GROUP: _pair("0.05", "0.10"),
        Rule.HHI_THIRD_PARTY: _pair("1800", "2500"),
        Rule.STABLECOIN_ISSUER: _pair("0.15", "0.25"),
        Rule.ALGO_STABLECOINS: _pair("0.01", "0.02"),
        Rule.EXCHANGE_TOKEN: _pair("0.02", "0.05"),
        Rule.WRONG_WAY: _pair("0", "0.01"),
        Rule.DISTRESSED: _pair(None, "0"),
        Rule.STALE_DATA: _pair("6", "24"),
        Rule.UNPRICED: _pair("0", None),
        Rule.UNCLASSIFIED: _pair("0", None),
    },
)

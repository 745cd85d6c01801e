"""Risk policies: the global default and one portfolio's Limit rows, as one engine Policy.

Precedence, most specific first (the first row found wins, its warn and breach together):

1. the portfolio's limit for the counterparty (group) itself;
2. the portfolio's limit for the counterparty's rating tier;
3. the portfolio's general limit of the rule ("all");
4. the global limit for the counterparty;
5. the global limit for its rating tier;
6. the global general limit of the rule;
7. the engine's DEFAULT_POLICY (only where no global row exists: the seed writes them all).

Tier and counterparty scopes exist only for the rules whose subjects are counterparties (one
group, earn per group, stablecoin issuer, wrong-way, distressed counterparty); the others have
one general limit per policy. A limit row holds its two levels as a pair: a missing level (None)
means "this level does not exist", never "inherit it".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q

from riskmodels.engine import DEFAULT_POLICY, Policy, Threshold
from riskmodels.engine.policy import GROUP_RULE, THRESHOLD_RULES, TIERS
from riskmodels.engine.rules import SCOPED_RULES
from riskmodels.models import Limit

GLOBAL = "global"
PORTFOLIO = "portfolio"
# Scopes in precedence order; see the module docstring.
PRECEDENCE = (
    (PORTFOLIO, "counterparty"),
    (PORTFOLIO, "tier"),
    (PORTFOLIO, "all"),
    (GLOBAL, "counterparty"),
    (GLOBAL, "tier"),
    (GLOBAL, "all"),
)


@dataclass(frozen=True, slots=True)
class LimitRow:
    """One Limit as plain data: level is "global" or "portfolio", key a tier or a slug or ""."""

    level: str
    rule: str
    scope: str
    key: str
    threshold: Threshold


@dataclass(frozen=True, slots=True)
class Subject:
    """A counterparty as a policy subject: its slug and its own rating tier."""

    slug: str
    tier: str


class LimitTable:
    """Limit rows indexed by (level, rule, scope, key) for the precedence walk."""

    def __init__(self, rows: Iterable[LimitRow]) -> None:
        self._rows = {(r.level, r.rule, r.scope, r.key): r.threshold for r in rows}
        self.scoped_rules = rows_scoped(self._rows)

    def lookup(self, rule: str, *, tier: str | None, slug: str | None) -> Threshold | None:
        """The first row in precedence order; a subject-free lookup skips counterparty scopes."""
        keys = {"counterparty": slug, "tier": tier, "all": ""}
        for level, scope in PRECEDENCE:
            key = keys[scope]
            if key is None:
                continue
            found = self._rows.get((level, rule, scope, key))
            if found is not None:
                return found
        return None


def rows_scoped(rows: Mapping[tuple[str, str, str, str], Threshold]) -> set[str]:
    """Rules that have at least one tier- or counterparty-scoped row."""
    return {rule for (_, rule, scope, _) in rows if scope != "all"}


def limit_rows(portfolio_id: int | None) -> list[LimitRow]:
    """Global and (when given) the portfolio's limit rows, in one query."""
    reach = Q(policy__portfolio__isnull=True)
    if portfolio_id is not None:
        reach |= Q(policy__portfolio_id=portfolio_id)
    values = Limit.objects.filter(reach).values_list(
        "policy__portfolio_id", "rule", "rating_tier", "counterparty__slug", "warn", "breach"
    )
    return [_row(*value) for value in values]


def _row(
    portfolio_id: int | None,
    rule: str,
    tier: str,
    slug: str | None,
    warn: Decimal | None,
    breach: Decimal | None,
) -> LimitRow:
    level = GLOBAL if portfolio_id is None else PORTFOLIO
    scope, key = ("counterparty", slug) if slug else ("tier", tier) if tier else ("all", "")
    return LimitRow(level, rule, scope, key, Threshold(warn, breach))


def resolve_policy(rows: Iterable[LimitRow], subjects: Iterable[Subject]) -> Policy:
    """One engine Policy from the rows, for the counterparties that can be subjects.

    1. The tier table of the one-group rule and every rule's general threshold, subject-free.
    2. For each rule with scoped rows, an override for every subject whose own walk differs
       from what the engine would otherwise use (the tier entry or the general threshold).
    """
    table = LimitTable(rows)
    group_tier = {
        tier: table.lookup(GROUP_RULE, tier=tier, slug=None) or DEFAULT_POLICY.group_tier[tier]
        for tier in TIERS
    }
    thresholds: dict[str, Threshold] = {
        rule: table.lookup(rule, tier=None, slug=None) or DEFAULT_POLICY.thresholds[rule]
        for rule in THRESHOLD_RULES
    }
    overrides: dict[str, dict[str, Threshold]] = {}
    subjects = sorted(subjects, key=lambda s: s.slug)
    for rule in sorted(table.scoped_rules & set(SCOPED_RULES)):
        for subject in subjects:
            base = group_tier[subject.tier] if rule == GROUP_RULE else thresholds[rule]
            found = table.lookup(rule, tier=subject.tier, slug=subject.slug) or base
            if found != base:
                overrides.setdefault(rule, {})[subject.slug] = found
    return Policy(group_tier=group_tier, thresholds=thresholds, overrides=overrides)


def policy_fingerprint(policy: Policy) -> str:
    """A canonical text of every number of the policy, for the inputs digest."""
    parts = [f"tier:{k}={_pair(v)}" for k, v in sorted(policy.group_tier.items())]
    parts += [f"rule:{k}={_pair(v)}" for k, v in sorted(policy.thresholds.items())]
    parts += [
        f"override:{rule}:{subject}={_pair(t)}"
        for rule, subjects in sorted(policy.overrides.items())
        for subject, t in sorted(subjects.items())
    ]
    parts.append(f"earn:{','.join(sorted(policy.earn_products))};large:{policy.large_exposure}")
    return "\n".join(parts)


def _pair(threshold: Threshold) -> str:
    return f"{_level(threshold.warn)}/{_level(threshold.breach)}"


def _level(value: Decimal | None) -> str:
    # normalize() so that 0.25 and 0.250000 (as a DecimalField returns it) fingerprint alike.
    return "-" if value is None else format(value.normalize(), "f")

"""The policy page's services: the limits of one policy as a list to edit, the preview of a
proposed list over every portfolio it reaches, and saving it through the audited services."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from portfolio.models import Counterparty, Portfolio
from riskmodels import engine
from riskmodels.engine.policy import GROUP_RULE, RULES, THRESHOLD_RULES, TIERS, Threshold
from riskmodels.engine.policy_preview import PolicyImpact, compare_findings
from riskmodels.models import Limit, RiskPolicy
from riskmodels.policies import GLOBAL, PORTFOLIO, LimitRow, Subject, limit_rows, resolve_policy
from riskmodels.selectors import Registry, load_inputs, load_registry
from riskmodels.services import delete_limit, save_limit

if TYPE_CHECKING:
    from accounts.models import User

GLOBAL_POLICY_NAME = "Global default"  # as the seed (migration 0003) names it
RULE_ORDER = {rule.value: index for index, rule in enumerate(RULES)}
TIER_ORDER = {tier: index for index, tier in enumerate(TIERS)}


@dataclass(frozen=True, slots=True)
class LimitKey:
    """Which limit: a rule for all subjects, for one rating tier, or for one counterparty."""

    rule: str
    tier: str = ""
    counterparty: str = ""  # a slug

    def sort_key(self) -> tuple[int, int, int, str]:
        scope = 2 if self.counterparty else 1 if self.tier else 0
        return RULE_ORDER[self.rule], scope, TIER_ORDER.get(self.tier, 0), self.counterparty

    def as_row(self, level: str, threshold: Threshold) -> LimitRow:
        if self.counterparty:
            return LimitRow(level, self.rule, "counterparty", self.counterparty, threshold)
        if self.tier:
            return LimitRow(level, self.rule, "tier", self.tier, threshold)
        return LimitRow(level, self.rule, "all", "", threshold)


@dataclass(frozen=True, slots=True)
class ProposedLimit:
    """A limit as the page gives it; both levels None means "no such limit"."""

    key: LimitKey
    warn: Decimal | None
    breach: Decimal | None

    @property
    def removed(self) -> bool:
        return self.warn is None and self.breach is None


@dataclass(frozen=True, slots=True)
class PortfolioPreview:
    """One portfolio under the proposed policy; `error` when its inputs cannot be evaluated."""

    portfolio: Portfolio
    impact: PolicyImpact | None
    error: str = ""


def key_of(limit: Limit) -> LimitKey:
    slug = limit.counterparty.slug if limit.counterparty is not None else ""
    return LimitKey(limit.rule, limit.rating_tier, slug)


def standard_keys() -> frozenset[LimitKey]:
    """The global policy's rows that must always hold a level: the tier table and every rule."""
    tiers = {LimitKey(GROUP_RULE.value, tier) for tier in TIERS}
    return frozenset(tiers | {LimitKey(rule.value) for rule in THRESHOLD_RULES})


def global_policy() -> RiskPolicy:
    policy, _ = RiskPolicy.objects.get_or_create(
        portfolio=None, defaults={"name": GLOBAL_POLICY_NAME}
    )
    return policy


def current_limits(
    policy: RiskPolicy | None, *, required: Iterable[LimitKey]
) -> list[ProposedLimit]:
    """The policy's limits, and every required one it lacks (empty), in the engine's rule order."""
    limits = [] if policy is None else policy.limits.select_related("counterparty")
    found = {
        key_of(limit): ProposedLimit(key_of(limit), limit.warn, limit.breach) for limit in limits
    }
    for key in required:
        # A required row the database lacks is the engine's default, which applies meanwhile.
        default = engine_default(key)
        found.setdefault(key, ProposedLimit(key, default.warn, default.breach))
    return sorted(found.values(), key=lambda item: item.key.sort_key())


def engine_default(key: LimitKey) -> Threshold:
    """The level the engine applies to a standard row of the global policy without a row."""
    if key.counterparty:
        return Threshold(None, None)
    if key.rule == GROUP_RULE.value and key.tier:
        return engine.DEFAULT_POLICY.group_tier[key.tier]
    return engine.DEFAULT_POLICY.thresholds.get(key.rule, Threshold(None, None))


def proposed_rows(
    rows: Iterable[LimitRow], proposed: Iterable[ProposedLimit], *, level: str
) -> list[LimitRow]:
    """`rows` with those of the edited level replaced by the proposed limits."""
    kept = [row for row in rows if row.level != level]
    added = [
        item.key.as_row(level, Threshold(item.warn, item.breach))
        for item in proposed
        if not item.removed
    ]
    return kept + added


def proposal_fingerprint(proposed: Iterable[ProposedLimit]) -> str:
    """A digest of the proposed numbers: a save must be of exactly what was previewed."""
    lines = sorted(
        f"{p.key.rule}|{p.key.tier}|{p.key.counterparty}|{_text(p.warn)}|{_text(p.breach)}"
        for p in proposed
    )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _text(value: Decimal | None) -> str:
    return "-" if value is None else format(value.normalize(), "f")


def preview_policy(
    *, portfolio: Portfolio | None, proposed: Sequence[ProposedLimit]
) -> list[PortfolioPreview]:
    """Every portfolio the policy reaches (all for the global one), its findings now and under
    the proposed limits, over the same latest inputs at the same instant."""
    registry = load_registry()
    subjects = [Subject(c.slug, c.tier) for c in registry.counterparties]
    level = GLOBAL if portfolio is None else PORTFOLIO
    reached = Portfolio.objects.order_by("name") if portfolio is None else [portfolio]
    as_of = timezone.now()
    previews = []
    for each in reached:
        rows = limit_rows(each.pk)
        after = resolve_policy(proposed_rows(rows, proposed, level=level), subjects)
        previews.append(_preview(each, registry, resolve_policy(rows, subjects), after, as_of))
    return previews


def _preview(
    portfolio: Portfolio,
    registry: Registry,
    before: engine.Policy,
    after: engine.Policy,
    as_of: datetime,
) -> PortfolioPreview:
    inputs = load_inputs(portfolio.pk, registry, as_of)
    try:
        old, new = (
            engine.build_report(
                inputs.positions(),
                registry.counterparties,
                as_of=as_of,
                policy=policy,
                presets=False,  # scenarios never change a finding
                locks=inputs.locked_amounts(),
            ).findings
            for policy in (before, after)
        )
    except engine.EngineInputError as error:
        return PortfolioPreview(portfolio, None, f"Its holdings cannot be evaluated: {error}")
    return PortfolioPreview(portfolio, compare_findings(old, new))


@transaction.atomic
def save_policy(
    *, portfolio: Portfolio | None, proposed: Iterable[ProposedLimit], user: User
) -> int:
    """Save the proposed limits of the global (or one portfolio's) policy; return how many changed.

    1. Each limit goes through save_limit or delete_limit, which record the change (PolicyChange
       and the audit trail) and validate it against the model's rules.
    2. Limits of the policy that the list does not name are left alone.
    3. save_limit and delete_limit also mark the portfolios the policy reaches as changed, and
       their recompute is enqueued (debounced) after the commit (riskmodels.freshness).
    """
    policy = _policy_for(portfolio)
    existing = {key_of(limit): limit for limit in policy.limits.select_related("counterparty")}
    changed = 0
    for item in proposed:
        changed += _apply(policy, existing.get(item.key), item, user)
    return changed


def _policy_for(portfolio: Portfolio | None) -> RiskPolicy:
    if portfolio is None:
        return global_policy()
    policy, _ = RiskPolicy.objects.get_or_create(
        portfolio=portfolio, defaults={"name": f"{portfolio.name} overrides"}
    )
    return policy


def _apply(policy: RiskPolicy, limit: Limit | None, item: ProposedLimit, user: User) -> int:
    if item.removed:
        if limit is None:
            return 0
        delete_limit(limit=limit, user=user)
        return 1
    if limit is not None and (limit.warn, limit.breach) == (item.warn, item.breach):
        return 0
    if limit is None:
        counterparty = (
            Counterparty.objects.get(slug=item.key.counterparty) if item.key.counterparty else None
        )
        limit = Limit(
            policy=policy, rule=item.key.rule, rating_tier=item.key.tier, counterparty=counterparty
        )
    limit.warn, limit.breach = item.warn, item.breach
    save_limit(limit=limit, user=user)
    return 1

"""What would cure each finding over a share-of-NAV limit, split by what can actually be done.

The amount to cure is what must leave the subject for its share to fall back to the target, the
warn level (the breach level when there is no warn): value - target * NAV. A part of an exposure
can leave it in one of three ways only:

- move: assets the counterparty holds but did not issue, at a venue that still pays out, go to
  self-custody or another custodian; the value stays in the fund, NAV is unchanged.
- convert: assets the counterparty issued are sold or swapped; moving them changes nothing, since
  the issuer's promise travels with the token.
- blocked: what a venue that halted withdrawals, or is insolvent, holds: it becomes a claim.

The amount is taken from the movable part first, then the convertible one; the rest is blocked.
So move + convert + blocked = amount, each part >= 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from riskmodels.engine.arith import OK, ZERO
from riskmodels.engine.exposure import NO_ISSUER, Rollup, StressKey
from riskmodels.engine.inputs import DISTRESSED
from riskmodels.engine.outputs import CureAction, Finding, GroupExposure
from riskmodels.engine.rules import SHARE_RULES, Rule

STABLECOIN_KINDS = frozenset({"fiat_stablecoin", "crypto_stablecoin"})


@dataclass(frozen=True, slots=True)
class Capacity:
    """How much of a subject's value can be moved, converted, or is blocked (sums to it)."""

    move: Decimal
    convert: Decimal
    blocked: Decimal


def split_cure(amount: Decimal, movable: Decimal, convertible: Decimal) -> Capacity:
    """Split ``amount`` into move (first), convert, then blocked; every part >= 0."""
    amount = max(amount, ZERO)
    move = min(amount, max(movable, ZERO))
    convert = min(amount - move, max(convertible, ZERO))
    return Capacity(move, convert, amount - move - convert)


def cure_actions(
    rollup: Rollup, exposures: tuple[GroupExposure, ...], findings: tuple[Finding, ...]
) -> tuple[CureAction, ...]:
    """One action per share finding at warn or breach, breaches first, then the largest."""
    nav = rollup.nav
    if nav <= 0:
        return ()
    by_group = {e.group: e for e in exposures}
    actions = []
    for f in findings:
        if f.level == OK or f.rule not in SHARE_RULES or f.amount is None:
            continue
        target = f.warn if f.warn is not None else f.breach
        capacity = _capacity(Rule(f.rule), f.subject, rollup, by_group)
        if target is None or capacity is None:
            continue
        amount = max(f.amount - target * nav, ZERO)
        parts = split_cure(amount, capacity.move, capacity.convert)
        actions.append(
            CureAction(
                f.rule, f.subject, f.level, target, amount, parts.move, parts.convert, parts.blocked
            )
        )
    actions.sort(key=lambda a: (a.level != "breach", -a.amount, a.rule, a.subject))
    return tuple(actions)


def _capacity(
    rule: Rule, subject: str, rollup: Rollup, by_group: dict[str, GroupExposure]
) -> Capacity | None:
    """What of the subject's value each way can take, for the rule's measure of it."""
    exposure = by_group.get(subject)
    if rule in (Rule.GROUP, Rule.DISTRESSED) and exposure is not None:
        return _group_capacity(rollup, exposure)
    if rule is Rule.DISTRESSED:
        return _entity_capacity(rollup, subject)
    if rule in (Rule.EARN_PER_GROUP, Rule.WRONG_WAY) and exposure is not None:
        value = exposure.earn if rule is Rule.EARN_PER_GROUP else exposure.overlap
        # Redeemed and withdrawn, or the own token taken off its own venue: a move.
        if exposure.status in DISTRESSED:
            return Capacity(ZERO, ZERO, value)
        return Capacity(value, ZERO, ZERO)
    if rule is Rule.EXCHANGE_CUSTODY:
        return _exchange_capacity(rollup)
    matches = _asset_matcher(rule, subject)
    return None if matches is None else _asset_capacity(rollup, matches)


def _distressed(rollup: Rollup, slug: str) -> bool:
    """An entity is distressed when it, or its group, halted withdrawals or is insolvent."""
    registry = rollup.registry
    row = registry.by_slug[slug]
    return row.status in DISTRESSED or registry.group_row(row.group).status in DISTRESSED


def _group_capacity(rollup: Rollup, e: GroupExposure) -> Capacity:
    """E = (custody - overlap) + issuer: the first part moves, the issued part converts; what
    distressed entities hold is blocked (the whole custody part when the group is)."""
    if e.status in DISTRESSED:
        return Capacity(ZERO, e.issuer - e.overlap, e.custody)
    held_elsewhere = e.custody - e.overlap
    halted = sum(
        (
            v
            for slug, v in rollup.entity_custody.items()
            if slug in e.entities and _distressed(rollup, slug)
        ),
        ZERO,
    )
    blocked = min(halted, held_elsewhere)
    return Capacity(held_elsewhere - blocked, e.issuer, blocked)


def _entity_capacity(rollup: Rollup, slug: str) -> Capacity | None:
    """A distressed entity of an operating group: what it holds is blocked, what it issued and
    is held elsewhere can be sold."""
    value = rollup.entities.get(slug)
    if value is None:
        return None
    held = rollup.entity_custody.get(slug, ZERO)
    return Capacity(ZERO, value - held, held)


def _exchange_capacity(rollup: Rollup) -> Capacity:
    """All exchange custody moves, except what distressed exchanges hold."""
    registry = rollup.registry
    blocked = sum(
        (
            v
            for slug, v in rollup.entity_custody.items()
            if registry.kind_of(slug) == "exchange" and _distressed(rollup, slug)
        ),
        ZERO,
    )
    return Capacity(rollup.exchange_custody - blocked, ZERO, blocked)


def _asset_matcher(rule: Rule, subject: str) -> Callable[[StressKey], bool] | None:
    """Which aggregates an asset-kind rule measures for one subject."""
    if rule is Rule.STABLECOIN_ISSUER:
        return lambda key: key[3] in STABLECOIN_KINDS and (key[1] or NO_ISSUER) == subject
    if rule is Rule.ALGO_STABLECOINS:
        return lambda key: key[3] == "algo_stablecoin"
    if rule is Rule.EXCHANGE_TOKEN:
        return lambda key: key[3] == "exchange_token" and key[2] == subject
    return None


def _asset_capacity(rollup: Rollup, matches: Callable[[StressKey], bool]) -> Capacity:
    """An asset-kind limit is cured by selling the asset, unless a distressed venue holds it."""
    convert = blocked = ZERO
    for key, value in rollup.stress.items():
        if not matches(key):
            continue
        group = key[0]
        if group is not None and rollup.registry.group_row(group).status in DISTRESSED:
            blocked += value
        else:
            convert += value
    return Capacity(ZERO, convert, blocked)

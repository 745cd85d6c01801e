"""Limits: one Finding per (rule, subject) the portfolio presents, and what to move.

A finding is emitted for every subject a rule measures in this portfolio, "ok" ones included, so
the caller can resolve alerts that went back under their limits; a subject absent from the
portfolio (a group no longer held) has no finding and is resolved by its absence.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from riskmodels.engine.arith import (
    HHI_QUANTUM,
    HOURS_QUANTUM,
    MICROSECONDS_PER_HOUR,
    OK,
    ONE,
    ZERO,
    level,
    ratio,
    share,
)
from riskmodels.engine.book import Book, LocationFacts
from riskmodels.engine.exposure import Rollup, hhi_fraction, third_party_values
from riskmodels.engine.inputs import DISTRESSED, Position
from riskmodels.engine.outputs import Finding, GroupExposure, MoveSuggestion, StaleLocation
from riskmodels.engine.policy import GROUP_RULE, Policy, Threshold
from riskmodels.engine.rules import Rule

ALL = "all"


def _finding(
    rule: str, subject: str, value: Decimal | None, thr: Threshold, lvl: str, amount: Decimal | None
) -> Finding:
    return Finding(rule, subject, value, thr.warn, thr.breach, lvl, amount)


def _share_finding(
    rule: str, subject: str, amount: Decimal, nav: Decimal, thr: Threshold
) -> Finding:
    """A rule on a share of NAV; the level is decided on the exact amount, not the rounded share."""
    return _finding(rule, subject, share(amount, nav), thr, level(amount, nav, thr), amount)


def findings(
    rollup: Rollup,
    exposures: tuple[GroupExposure, ...],
    book: Book,
    policy: Policy,
    as_of: datetime,
) -> tuple[Finding, ...]:
    """Evaluate every rule of the policy: per group, portfolio-wide, then data quality."""
    return (
        *_group_rules(rollup, exposures, policy),
        *_portfolio_rules(rollup, policy),
        *_stale_findings(book, as_of, policy),
        *_count_findings(Rule.UNPRICED, book.unpriced, policy),
        *_count_findings(Rule.UNCLASSIFIED, book.unclassified, policy),
    )


def _group_rules(
    rollup: Rollup, exposures: tuple[GroupExposure, ...], policy: Policy
) -> list[Finding]:
    """One-group limit, earn/lending per group, wrong-way per group, distressed counterparties."""
    nav = rollup.nav
    earn = {e.group: e.earn for e in exposures if e.earn > 0}
    overlap = {e.group: e.overlap for e in exposures if e.overlap > 0}
    return [
        *(_group_finding(e, policy, nav) for e in exposures),
        *_per_subject(Rule.EARN_PER_GROUP, earn, nav, policy),
        *_per_subject(Rule.WRONG_WAY, overlap, nav, policy),
        *_distressed(rollup, exposures, policy),
    ]


def _portfolio_rules(rollup: Rollup, policy: Policy) -> list[Finding]:
    """Exchange custody and algorithmic stablecoins together, HHI, issuers and tokens."""
    nav = rollup.nav
    together = {Rule.EXCHANGE_CUSTODY: rollup.exchange_custody, Rule.ALGO_STABLECOINS: rollup.algo}
    return [
        *(
            _share_finding(rule, ALL, amount, nav, policy.for_subject(rule, ALL))
            for rule, amount in together.items()
        ),
        _hhi_finding(rollup, policy),
        *_per_subject(Rule.STABLECOIN_ISSUER, rollup.stablecoins, nav, policy),
        *_per_subject(Rule.EXCHANGE_TOKEN, rollup.tokens, nav, policy),
    ]


def _group_finding(exposure: GroupExposure, policy: Policy, nav: Decimal) -> Finding:
    thr = policy.for_group(exposure.group, exposure.tier)
    return _share_finding(GROUP_RULE, exposure.group, exposure.total, nav, thr)


def _per_subject(
    rule: str, amounts: dict[str, Decimal], nav: Decimal, policy: Policy
) -> list[Finding]:
    return [
        _share_finding(rule, subject, amount, nav, policy.for_subject(rule, subject))
        for subject, amount in sorted(amounts.items())
    ]


def _hhi_finding(rollup: Rollup, policy: Policy) -> Finding:
    """Third-party HHI, in points; level from the exact fraction."""
    thr = policy.for_subject(Rule.HHI_THIRD_PARTY, "third_party")
    num, den = hhi_fraction(third_party_values(rollup))
    value = ratio(num, den, HHI_QUANTUM) if den > 0 else ZERO
    return _finding(Rule.HHI_THIRD_PARTY, "third_party", value, thr, level(num, den, thr), None)


def _distressed(
    rollup: Rollup, exposures: tuple[GroupExposure, ...], policy: Policy
) -> list[Finding]:
    """Exposure to a group whose own row is distressed, and to any distressed entity in it.

    The design takes a group's status from its own row; a single entity halting withdrawals
    (Binance.US in 2023) is as real a loss, so such an entity is a subject of its own.
    """
    rule = Rule.DISTRESSED
    amounts = {e.group: e.total for e in exposures if e.status in DISTRESSED and e.total > 0}
    for slug, value in rollup.entities.items():
        row = rollup.registry.by_slug[slug]
        if row.status in DISTRESSED and row.group != slug and value > 0:
            amounts[slug] = value
    return _per_subject(rule, amounts, rollup.nav, policy)


def _age_microseconds(as_of: datetime, data_as_of: datetime) -> Decimal:
    """Exact age (integer microseconds, no float); a snapshot from the future counts as fresh."""
    delta = as_of - data_as_of
    micro = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return Decimal(max(micro, 0))


def _stale_one(
    location_id: object, facts: LocationFacts, as_of: datetime, policy: Policy
) -> Finding:
    thr = policy.for_subject(Rule.STALE_DATA, str(location_id))
    age = _age_microseconds(as_of, facts.as_of)
    hours = ratio(age, MICROSECONDS_PER_HOUR, HOURS_QUANTUM)
    return _finding(
        Rule.STALE_DATA,
        str(location_id),
        hours,
        thr,
        level(age, MICROSECONDS_PER_HOUR, thr),
        facts.value,
    )


def _stale_findings(book: Book, as_of: datetime, policy: Policy) -> list[Finding]:
    return [_stale_one(loc, facts, as_of, policy) for loc, facts in book.locations.items()]


def stale_locations(book: Book, as_of: datetime, policy: Policy) -> tuple[StaleLocation, ...]:
    """Locations whose snapshot is past the stale-data warn (or breach) level, oldest first."""
    stale = [
        StaleLocation(loc, facts.kind, facts.custodian, facts.as_of, finding.value, facts.value)
        for (loc, facts), finding in zip(
            book.locations.items(), _stale_findings(book, as_of, policy), strict=True
        )
        if finding.level != OK and finding.value is not None  # a stale finding has an age
    ]
    return tuple(sorted(stale, key=lambda s: (s.data_as_of, str(s.location_id))))


def _count_findings(rule: str, holdings: Iterable[Position], policy: Policy) -> list[Finding]:
    """Per asset code: the number of holdings (the value), and their USD value when priced."""
    counts: dict[str, Decimal] = {}
    values: dict[str, Decimal] = {}
    for p in holdings:
        counts[p.asset] = counts.get(p.asset, ZERO) + ONE
        if p.price_usd is not None:
            values[p.asset] = values.get(p.asset, ZERO) + p.amount * p.price_usd
    return [
        _finding(
            rule,
            asset,
            count,
            thr := policy.for_subject(rule, asset),
            level(count, ONE, thr),
            values.get(asset),
        )
        for asset, count in sorted(counts.items())
    ]


def moves(
    exposures: tuple[GroupExposure, ...], policy: Policy, nav: Decimal
) -> tuple[MoveSuggestion, ...]:
    """For every group above its warn level: E(X) - warn * NAV to move to self-custody.

    Moving to self-custody changes no value, so NAV stays and the share falls to warn exactly.
    With no warn level the breach level is the target. Nothing is suggested when NAV ≤ 0.
    """
    if nav <= 0:
        return ()
    suggestions = []
    for exposure in exposures:
        thr = policy.for_group(exposure.group, exposure.tier)
        target = thr.warn if thr.warn is not None else thr.breach
        if target is not None and exposure.total > target * nav:
            suggestions.append(_move(exposure, target, nav))
    return tuple(suggestions)


def _move(exposure: GroupExposure, target: Decimal, nav: Decimal) -> MoveSuggestion:
    amount = exposure.total - target * nav
    # A venue that halted withdrawals, or is insolvent, pays nothing out: nothing moves.
    movable = ZERO if exposure.status in DISTRESSED else exposure.custody - exposure.overlap
    return MoveSuggestion(
        group=exposure.group,
        target_share=target,
        sufficient=movable >= amount,
        share_after=share(exposure.total - min(amount, movable), nav),
        exposure=exposure.total,
        amount=amount,
        movable=movable,
    )

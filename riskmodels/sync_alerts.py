"""Sync problems are alerts: one per exchange location, from its sync state, at once.

A location whose last sync failed, or whose last read holds a drop awaiting confirmation, has a
live warn alert; one whose credentials the exchange rejected, or that has failed for longer than
the stale-data breach level, has a breach. The next good sync (or a manager's decision on the
drop) resolves it. Value and threshold are hours: since the last good data, and the level
crossed. Mail and webhooks go out as for the engine's alerts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from portfolio.models import (
    FINAL_OUTCOMES,
    CustodyLocation,
    DropState,
    ExchangeAccount,
    HoldingSnapshot,
    SyncOutcome,
    SyncRun,
    UnconfirmedDrop,
)
from riskmodels.alerts import AlertChanges, notify_managers
from riskmodels.engine.rules import Rule
from riskmodels.models import SYNC_RULE, Alert, AlertCause, AlertLevel, AlertState
from riskmodels.policies import limit_rows, resolve_policy
from riskmodels.webhooks import record_alert_events

HOURS = Decimal(3600)
HOURS_QUANTUM = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class SyncProblem:
    level: str  # warn or breach
    hours: Decimal  # since the location's last good data
    threshold: Decimal  # the level crossed, in hours (0: at once)


def sync_alert_subject(location_id: int) -> str:
    """As the stale-data rule names a location: its id."""
    return str(location_id)


@transaction.atomic
def follow_location_sync(location_id: int, *, now: datetime | None = None) -> AlertChanges:
    """Bring the location's sync alert in line with its sync state now."""
    now = now or timezone.now()
    location = CustodyLocation.objects.select_related("portfolio").filter(pk=location_id).first()
    changes = AlertChanges()
    if location is None:
        return changes
    problem = current_problem(location, now)
    live = (
        Alert.objects.select_for_update()
        .filter(portfolio_id=location.portfolio_id, rule=SYNC_RULE)
        .filter(subject=sync_alert_subject(location_id))
        .exclude(state=AlertState.RESOLVED)
        .first()
    )
    _apply(changes, location, live, problem, now)
    record_alert_events(portfolio_id=location.portfolio_id, changes=changes, now=now)
    notify_managers(portfolio=location.portfolio, changes=changes)
    return changes


def _apply(
    changes: AlertChanges,
    location: CustodyLocation,
    live: Alert | None,
    problem: SyncProblem | None,
    now: datetime,
) -> None:
    if problem is None:
        if live is not None:
            live.state, live.resolved_at = AlertState.RESOLVED, now
            live.save(update_fields=["state", "resolved_at"])
            changes.resolved, changes.resolved_alerts = 1, [live]
        return
    if live is None:
        changes.opened.append(_open(location, problem, now))
        return
    escalated = live.level != AlertLevel.BREACH and problem.level == AlertLevel.BREACH
    if escalated:
        # An acknowledged warning that became a breach needs a new look, as elsewhere.
        live.state, live.acknowledged_by, live.acknowledged_at = AlertState.OPEN, None, None
        live.acknowledge_reason = ""
        changes.escalated.append(live)
    else:
        changes.moved.append(live)
    live.level, live.value, live.threshold, live.last_seen = (
        problem.level,
        problem.hours,
        problem.threshold,
        now,
    )
    live.save()


def _open(location: CustodyLocation, problem: SyncProblem, now: datetime) -> Alert:
    return Alert.objects.create(
        portfolio_id=location.portfolio_id,
        rule=SYNC_RULE,
        subject=sync_alert_subject(location.pk),
        level=problem.level,
        value=problem.hours,
        threshold=problem.threshold,
        cause=AlertCause.ACTIVE,
        first_seen=now,
        last_seen=now,
    )


def current_problem(location: CustodyLocation, now: datetime) -> SyncProblem | None:
    """The location's sync problem now, or None when its figures are current."""
    account = ExchangeAccount.objects.filter(pk=location.pk).first()
    if account is None:
        return None
    hours = _hours_without_good_data(location, now)
    if account.credentials_broken_at is not None:
        return SyncProblem(AlertLevel.BREACH, hours, Decimal(0))
    if UnconfirmedDrop.objects.filter(location=location, state=DropState.PENDING).exists():
        return SyncProblem(AlertLevel.WARN, hours, Decimal(0))
    # An unconfirmed run whose drop is settled (confirmed or rejected) is no problem.
    if _last_final_outcome(location) != SyncOutcome.FAILED:
        return None
    breach = _stale_breach_hours(location.portfolio_id)
    if breach is not None and hours > breach:
        return SyncProblem(AlertLevel.BREACH, hours, breach)
    return SyncProblem(AlertLevel.WARN, hours, Decimal(0))


def _last_final_outcome(location: CustodyLocation) -> str | None:
    runs = SyncRun.objects.filter(location=location, outcome__in=FINAL_OUTCOMES)
    return runs.order_by("-started_at", "-pk").values_list("outcome", flat=True).first()


def _hours_without_good_data(location: CustodyLocation, now: datetime) -> Decimal:
    """Since the latest snapshot; since the first sync when none was ever stored."""
    taken = HoldingSnapshot.objects.filter(location=location).order_by("-taken_at")
    since = taken.values_list("taken_at", flat=True).first()
    if since is None:
        first = SyncRun.objects.filter(location=location).order_by("started_at")
        since = first.values_list("started_at", flat=True).first() or now
    seconds = Decimal(str(max((now - since).total_seconds(), 0)))
    return (seconds / HOURS).quantize(HOURS_QUANTUM)


def _stale_breach_hours(portfolio_id: int) -> Decimal | None:
    """The stale-data breach level that applies to the portfolio (DESIGN's 24 h by default)."""
    policy = resolve_policy(limit_rows(portfolio_id), [])
    return policy.thresholds[Rule.STALE_DATA].breach

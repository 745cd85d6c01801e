"""Alerts follow the findings of each stored snapshot: open, escalate, de-escalate, resolve.

One live alert per (portfolio, rule, subject) (a database constraint). An alert keeps its
first_seen while it stays live, so "over its limit for" runs from the first snapshot that found
it. New and escalated alerts are mailed to the portfolio's managers once the transaction commits;
new, escalated and resolved ones are POSTed to the portfolio's webhooks (riskmodels.webhooks).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string

from accounts.models import AccessGrant, AccessLevel, Role
from portfolio.models import Portfolio
from riskmodels.engine import Finding
from riskmodels.models import SYNC_RULE, Alert, AlertCause, AlertLevel, AlertState
from riskmodels.webhooks import record_alert_events

# Fields a change of level touches; a change within a level touches value and threshold only.
LEVEL_FIELDS = [
    "level",
    "value",
    "threshold",
    "last_seen",
    "cause",
    "state",
    "acknowledged_by",
    "acknowledged_at",
    "acknowledge_reason",
]


@dataclass(slots=True)
class AlertChanges:
    """What one evaluation did; ``to_notify`` = opened + escalated."""

    opened: list[Alert] = field(default_factory=list)
    escalated: list[Alert] = field(default_factory=list)
    deescalated: list[Alert] = field(default_factory=list)
    # Same level: "moved" when the value or threshold changed, "refreshed" when nothing did.
    moved: list[Alert] = field(default_factory=list)
    refreshed: list[Alert] = field(default_factory=list)
    resolved: int = 0
    resolved_alerts: list[Alert] = field(default_factory=list)  # as resolved, for webhooks

    @property
    def to_notify(self) -> list[Alert]:
        return [*self.opened, *self.escalated]


def _threshold(finding: Finding) -> Decimal:
    """The level the finding crossed; a finding at warn or breach always has that level."""
    crossed = finding.breach if finding.level == AlertLevel.BREACH else finding.warn
    if crossed is None:
        raise ValueError(f"a {finding.level} finding without its level: {finding}")
    return crossed


def _value(finding: Finding) -> Decimal:
    # A share has no value when NAV is not positive; the level was still decided (see arith).
    return finding.value if finding.value is not None else Decimal(0)


def _open(portfolio_id: int, finding: Finding, now: datetime, cause: str) -> Alert:
    return Alert(
        portfolio_id=portfolio_id,
        rule=finding.rule,
        subject=finding.subject,
        level=finding.level,
        value=_value(finding),
        threshold=_threshold(finding),
        cause=cause,
        first_seen=now,
        last_seen=now,
    )


def _follow(alert: Alert, finding: Finding, now: datetime, cause: str) -> str:
    """Move a live alert to its finding; returns the AlertChanges list it belongs to."""
    value, threshold = _value(finding), _threshold(finding)
    if alert.level == finding.level:
        if (alert.value, alert.threshold) == (value, threshold):
            return "refreshed"
        alert.value, alert.threshold = value, threshold
        return "moved"
    if finding.level == AlertLevel.BREACH:
        alert.cause = cause
        # An acknowledged warning that became a breach needs a new look: it is open again.
        alert.state = AlertState.OPEN
        alert.acknowledged_by, alert.acknowledged_at, alert.acknowledge_reason = None, None, ""
    alert.level, alert.value, alert.threshold, alert.last_seen = (
        finding.level,
        value,
        threshold,
        now,
    )
    return "escalated" if finding.level == AlertLevel.BREACH else "deescalated"


def _save(changes: AlertChanges, now: datetime) -> None:
    """Four statements at most. A bulk update costs per row and field, so each sets only what
    changed: hundreds of stale-data alerts of a large fund move on every run."""
    Alert.objects.bulk_create(changes.opened)
    Alert.objects.bulk_update([*changes.escalated, *changes.deescalated], LEVEL_FIELDS)
    Alert.objects.bulk_update(changes.moved, ["value", "threshold"])
    same_level = [a.pk for a in (*changes.moved, *changes.refreshed)]
    if same_level:
        Alert.objects.filter(pk__in=same_level).update(last_seen=now)


def evaluate_alerts(
    *, portfolio_id: int, findings: Iterable[Finding], now: datetime, cause: str
) -> AlertChanges:
    """Bring the portfolio's alerts in line with one snapshot's findings.

    1. Findings at warn or breach, by (rule, subject); live alerts likewise.
    2. A finding without a live alert opens one; with one, escalates, de-escalates or updates it.
    3. Live alerts whose finding is ok or gone are resolved.
    Six queries at most, whatever the number of alerts.
    """
    over = {(f.rule, f.subject): f for f in findings if f.level != "ok"}
    live = {
        (a.rule, a.subject): a
        for a in Alert.objects.filter(portfolio_id=portfolio_id)
        .exclude(state=AlertState.RESOLVED)
        .exclude(rule=SYNC_RULE)  # sync alerts follow syncs (riskmodels.sync_alerts)
    }
    changes = AlertChanges()
    for key, finding in over.items():
        alert = live.get(key)
        if alert is None:
            changes.opened.append(_open(portfolio_id, finding, now, cause))
        else:
            getattr(changes, _follow(alert, finding, now, cause)).append(alert)
    _save(changes, now)
    gone = [a.pk for key, a in live.items() if key not in over]
    if gone:
        changes.resolved = Alert.objects.filter(pk__in=gone).update(
            state=AlertState.RESOLVED, resolved_at=now
        )
        changes.resolved_alerts = [_resolved(live[key], now) for key in live if key not in over]
    # Webhooks: new, escalated and resolved alerts, POSTed once this transaction commits.
    record_alert_events(portfolio_id=portfolio_id, changes=changes, now=now)
    return changes


def _resolved(alert: Alert, now: datetime) -> Alert:
    alert.state, alert.resolved_at = AlertState.RESOLVED, now
    return alert


def cause_of(holdings_digest: str, previous_digest: str | None) -> str:
    """Passive when the holdings are those of the previous snapshot: prices moved alone."""
    if previous_digest and previous_digest == holdings_digest:
        return AlertCause.PASSIVE
    return AlertCause.ACTIVE


def manager_emails(portfolio_id: int) -> list[str]:
    """Managers with a manage grant on the portfolio; investors never get alert mail."""
    return sorted(
        AccessGrant.objects.filter(
            portfolio_id=portfolio_id,
            level=AccessLevel.MANAGE,
            user__role=Role.MANAGER,
            user__is_active=True,
        )
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )


def notify_managers(*, portfolio: Portfolio, changes: AlertChanges) -> None:
    """Mail new and escalated alerts to the managers, after the transaction commits.

    The message is rendered now, inside the transaction, so that sending needs no query and
    a rolled-back evaluation sends nothing.
    """
    alerts = changes.to_notify
    recipients = manager_emails(portfolio.pk) if alerts else []
    if not recipients:
        return
    context = {
        "portfolio": portfolio,
        "opened": changes.opened,
        "escalated": changes.escalated,
        "count": len(alerts),
    }
    subject = render_to_string("riskmodels/alert_email_subject.txt", context).strip()
    body = render_to_string("riskmodels/alert_email.txt", context)

    def send() -> None:
        # One message per manager: recipients never see each other's addresses.
        for email in recipients:
            send_mail(subject, body, None, [email])

    transaction.on_commit(send)

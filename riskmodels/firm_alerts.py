"""Alerts at firm level: the firm's exposure to one group, summed over every portfolio.

After each exposure computation (riskmodels.tasks.evaluate_firm_alerts), the firm-wide
findings (riskmodels.firm, under the global policy on the firm's NAV) are compared with the
live firm alerts: a new finding opens one, a worse level escalates it, a finding gone resolves
it, and admins are mailed what opened or escalated. A portfolio's own alerts are unchanged:
a venue's failure hits the firm, which one fund's limits do not see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.core.mail import send_mail
from django.db import transaction

from accounts.models import Role, User
from portfolio.models import Portfolio
from riskmodels.engine.outputs import Finding
from riskmodels.firm import firm_page
from riskmodels.models import AlertLevel, FirmAlert

LEVELS = {AlertLevel.WARN: 1, AlertLevel.BREACH: 2}


@dataclass
class FirmAlertChanges:
    opened: list[FirmAlert] = field(default_factory=list)
    escalated: list[FirmAlert] = field(default_factory=list)
    resolved: list[FirmAlert] = field(default_factory=list)


@transaction.atomic
def follow_firm_findings(*, now: datetime) -> FirmAlertChanges:
    page = firm_page(Portfolio.objects.order_by("pk"), now=now)
    findings = {
        (f.rule, f.subject): f for f in page.report.findings if f.level in LEVELS and f.value
    }
    live = {
        (a.rule, a.subject): a
        for a in FirmAlert.objects.select_for_update().filter(resolved_at__isnull=True)
    }
    changes = FirmAlertChanges()
    for key, finding in findings.items():
        _follow(live.get(key), finding, now, changes)
    for key, alert in live.items():
        if key not in findings:
            alert.resolved_at = now
            alert.save(update_fields=["resolved_at"])
            changes.resolved.append(alert)
    _mail_admins(changes, page.names)
    return changes


def _follow(alert: FirmAlert | None, f: Finding, now: datetime, changes: FirmAlertChanges) -> None:
    threshold = (f.breach if f.level == AlertLevel.BREACH else f.warn) or 0
    value = f.value or Decimal(0)  # findings without a value were left out
    if alert is None:
        alert = FirmAlert(rule=f.rule, subject=f.subject, first_seen=now)
        changes.opened.append(alert)
    elif LEVELS[AlertLevel(f.level)] > LEVELS[AlertLevel(alert.level)]:
        changes.escalated.append(alert)
    alert.level, alert.value, alert.threshold, alert.last_seen = f.level, value, threshold, now
    alert.save()


def _mail_admins(changes: FirmAlertChanges, names: dict[str, str]) -> None:
    """One message per admin with an address, after the commit (a rollback sends nothing)."""
    news = [*changes.opened, *changes.escalated]
    recipients = list(
        User.objects.filter(role=Role.ADMIN, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if not news or not recipients:
        return
    lines = [
        f"- {a.level}: the firm's exposure to {names.get(a.subject, a.subject)} is "
        f"{a.value * 100:.2f}% of its NAV (limit {a.threshold * 100:.2f}%)"
        for a in news
    ]
    subject = f"Counterweight: {len(news)} firm-level alert(s)"
    body = "Summed over every portfolio:\n" + "\n".join(lines) + "\n\nSee /firm/.\n"
    transaction.on_commit(lambda: [send_mail(subject, body, None, [r]) for r in recipients])


def live_firm_alert_rows(names: dict[str, str]) -> list[dict[str, object]]:
    """The live firm alerts, breaches first, each with its group's name and percentages."""
    live = FirmAlert.objects.filter(resolved_at__isnull=True)
    return [
        {"alert": a, "name": names.get(a.subject, a.subject), "value_pct": a.value * 100,
         "threshold_pct": a.threshold * 100}
        for a in sorted(live, key=lambda a: (-LEVELS[AlertLevel(a.level)], a.first_seen))
    ]  # fmt: skip

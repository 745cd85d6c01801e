"""What the alerts page shows: a portfolio's alerts, live and resolved, filtered, in words.

Reads only. Values and thresholds are in the rule's unit (shares of NAV as percentages);
counterparties are named by their display name, never their slug. Who acknowledged an alert
and why is shown to those who see the portfolio whole, as the API does (an investor looking
through a stake sees neither).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from portfolio.models import Counterparty, CustodyLocation, Portfolio
from riskmodels.engine.rules import SHARE_RULES, Rule
from riskmodels.models import Alert


def display_name(counterparty: Counterparty) -> str:
    """ "Kraken (Payward)": the name, with the legal name's first part when it says more."""
    legal = counterparty.legal_name.split(",")[0].strip()
    if legal and legal.lower() not in counterparty.name.lower():
        return f"{counterparty.name} ({legal})"
    return counterparty.name


def counterparty_names(slugs: Iterable[str]) -> dict[str, str]:
    """Display names of the counterparties among ``slugs`` (one query); others are absent."""
    rows = Counterparty.objects.filter(slug__in=set(slugs)).only("slug", "name", "legal_name")
    return {row.slug: display_name(row) for row in rows}


@dataclass(frozen=True, slots=True)
class AlertFilters:
    """Cleaned filter values; empty strings and None mean "any"."""

    level: str = ""
    state: str = ""
    rule: str = ""
    counterparty: str = ""
    since: date | None = None
    until: date | None = None


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def portfolio_alerts(portfolio: Portfolio, filters: AlertFilters) -> QuerySet[Alert]:
    """The portfolio's alerts matching ``filters``, newest first.

    A date range keeps the alerts live at some moment of it: first seen before its end and not
    resolved before its start.
    """
    alerts = Alert.objects.filter(portfolio=portfolio).select_related("acknowledged_by")
    for name in ("level", "state", "rule"):
        if value := getattr(filters, name):
            alerts = alerts.filter(**{name: value})
    if filters.counterparty:
        alerts = alerts.filter(subject=filters.counterparty)
    if filters.since is not None:
        since = _start_of(filters.since)
        alerts = alerts.filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=since))
    if filters.until is not None:
        alerts = alerts.filter(first_seen__lt=_start_of(filters.until + timedelta(days=1)))
    return alerts.order_by("-first_seen", "-pk")


def subject_choices(portfolio: Portfolio) -> list[tuple[str, str]]:
    """The counterparties the portfolio's alerts name, by display name."""
    subjects = Alert.objects.filter(portfolio=portfolio).values_list("subject", flat=True)
    names = counterparty_names(subjects.distinct())
    return sorted(names.items(), key=lambda pair: pair[1].lower())


# Subjects that name no counterparty: the whole portfolio, the third parties together.
SUBJECT_WORDS = {"all": "Whole portfolio", "third_party": "All third parties"}


def subject_names(alerts: list[Alert], *, whole: bool) -> dict[str, str]:
    """Words for every subject: counterparties by display name, a stale location by its name
    (seen through a stake, by its custodian, as the report names it)."""
    names = {**SUBJECT_WORDS, **counterparty_names(a.subject for a in alerts)}
    stale = {
        (a.portfolio_id, int(a.subject))
        for a in alerts
        if a.rule == Rule.STALE_DATA and a.subject.isdigit()
    }
    if stale:
        locations = CustodyLocation.objects.filter(
            pk__in={pk for _, pk in stale}, portfolio_id__in={p for p, _ in stale}
        ).values_list("pk", "name", "custodian__name")
        names.update(
            {
                str(pk): name if whole else custodian or "Self-custody"
                for pk, name, custodian in locations
            }
        )
    return names


def alert_rows(alerts: Iterable[Alert], *, whole: bool) -> list[dict[str, Any]]:
    """One row per alert; ``whole``: the viewer sees who acknowledged it and why."""
    alerts = list(alerts)
    names = subject_names(alerts, whole=whole)
    return [_row(alert, names, whole) for alert in alerts]


# The unit after a value that is no share of NAV.
UNITS: dict[str, str] = {Rule.HHI_THIRD_PARTY: " points", Rule.STALE_DATA: " h"}


def _unit(rule: str) -> str:
    return "%" if rule in SHARE_RULES else UNITS.get(rule, "")


def _row(alert: Alert, names: dict[str, str], whole: bool) -> dict[str, Any]:
    scale = Decimal(100) if alert.rule in SHARE_RULES else Decimal(1)
    return {
        "alert": alert,
        "subject": names.get(alert.subject, alert.subject),
        "value": alert.value * scale,
        "threshold": alert.threshold * scale,
        "unit": _unit(alert.rule),
        "acknowledged_by": alert.acknowledged_by.get_username()
        if whole and alert.acknowledged_by
        else "",
        "acknowledged_at": alert.acknowledged_at,
        "reason": alert.acknowledge_reason if whole else "",
    }

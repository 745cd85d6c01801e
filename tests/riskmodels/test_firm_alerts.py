"""Alerts at firm level (riskmodels.firm_alerts): opened, kept, escalated and resolved from the
firm's sums over every portfolio, mailed to admins, shown to admins on the firm page."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.core import mail
from django.urls import reverse
from django.utils import timezone

from riskmodels.firm_alerts import follow_firm_findings
from riskmodels.models import FirmAlert
from riskmodels.services import compute_exposure
from tests.conftest import login
from tests.factories import book, worked_check


def _binance_at_30_percent(tenants):
    """DESIGN's worked check in fund A (Binance 3,000,000 of 10,000,000); fund B has no
    report yet, so the firm's NAV is fund A's."""
    locations = worked_check(tenants.fund_a)
    compute_exposure(portfolio_id=tenants.fund_a.pk)
    return locations


def test_a_firm_level_breach_opens_one_alert(tenants):
    _binance_at_30_percent(tenants)
    now = timezone.now()
    changes = follow_firm_findings(now=now)
    alert = FirmAlert.objects.get(subject="binance")
    assert alert in changes.opened
    assert (alert.rule, alert.level, alert.value, alert.threshold) == (
        "group",
        "breach",
        Decimal("0.3"),
        Decimal("0.25"),
    )
    assert alert.first_seen == now and alert.resolved_at is None


def test_the_same_findings_keep_the_same_alerts(tenants, django_capture_on_commit_callbacks):
    _binance_at_30_percent(tenants)
    first = timezone.now()
    follow_firm_findings(now=first)
    opened = set(FirmAlert.objects.values_list("pk", flat=True))
    later = first + timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        again = follow_firm_findings(now=later)
    assert not again.opened and not again.escalated and not again.resolved
    assert set(FirmAlert.objects.values_list("pk", flat=True)) == opened
    binance = FirmAlert.objects.get(subject="binance")
    assert (binance.first_seen, binance.last_seen) == (first, later)


def test_an_alert_resolves_when_the_firm_falls_back_under_warn(tenants):
    locations = _binance_at_30_percent(tenants)
    follow_firm_findings(now=timezone.now())
    book(locations["binance"], {})  # Binance now holds nothing
    compute_exposure(portfolio_id=tenants.fund_a.pk)
    changes = follow_firm_findings(now=timezone.now())
    assert "binance" in [a.subject for a in changes.resolved]
    assert FirmAlert.objects.get(subject="binance").resolved_at is not None


def test_admins_are_mailed_what_opened(tenants, django_capture_on_commit_callbacks):
    tenants.ada.email = "ada@example.test"
    tenants.ada.save()
    _binance_at_30_percent(tenants)
    with django_capture_on_commit_callbacks(execute=True):
        follow_firm_findings(now=timezone.now())
    sent = [m for m in mail.outbox if m.to == ["ada@example.test"]]
    assert len(sent) == 1
    assert "the firm's exposure to Binance is 30.00% of its NAV (limit 25.00%)" in sent[0].body


def test_each_computation_evaluates_the_firm_alerts(
    tenants, eager_celery, django_capture_on_commit_callbacks
):
    worked_check(tenants.fund_a)
    with django_capture_on_commit_callbacks(execute=True):
        compute_exposure(portfolio_id=tenants.fund_a.pk)
    assert FirmAlert.objects.filter(subject="binance", level="breach").exists()


def test_admins_see_the_firm_alerts_and_managers_do_not(tenants):
    _binance_at_30_percent(tenants)
    follow_firm_findings(now=timezone.now())
    admin_page = login(tenants.ada).get(reverse("riskmodels:firm")).content.decode()
    assert "Firm alerts (every portfolio)" in admin_page and "Binance" in admin_page
    manager_page = login(tenants.alice).get(reverse("riskmodels:firm")).content.decode()
    assert "Firm alerts (every portfolio)" not in manager_page

"""Alert lifecycle: open, escalate, acknowledge, de-escalate, re-open, resolve; cause; mail."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.utils import timezone

from accounts.models import AccessLevel, Role
from portfolio.models import LocationKind
from riskmodels.models import Alert, AlertCause, AlertLevel, AlertState
from riskmodels.services import acknowledge_alert, compute_exposure
from tests.factories import (
    AlertFactory,
    LocationFactory,
    PriceFactory,
    SelfCustodyFactory,
    UserFactory,
    book,
    exchange,
    grant,
    priced,
)

pytestmark = pytest.mark.django_db
T0 = timezone.now().replace(microsecond=0)


class Fund:
    """Binance holds ETH, self-custody BTC; ETH's price and amount decide Binance's share."""

    def __init__(self, portfolio):
        self.portfolio = portfolio
        self.eth = priced("ETH", "1000")
        self.btc = priced("BTC", "50000")
        self.binance = LocationFactory.create(
            portfolio=portfolio,
            name="binance",
            kind=LocationKind.EXCHANGE,
            custodian=exchange("binance"),
        )
        self.cold = SelfCustodyFactory.create(portfolio=portfolio, name="cold")

    def hold(self, eth: str, btc: str, at):
        book(self.binance, {self.eth: eth}, at)
        book(self.cold, {self.btc: btc}, at)

    def price(self, eth: str, at):
        PriceFactory.create(asset=self.eth, price_usd=D(eth), as_of=at)

    def run(self, at):
        return compute_exposure(portfolio_id=self.portfolio.pk, as_of=at)

    def alert(self):
        return Alert.objects.get(portfolio=self.portfolio, rule="group", subject="binance")


@pytest.fixture
def fund(tenants):
    return Fund(tenants.fund_a)


def mails_for(mailoutbox):
    return sorted(address for message in mailoutbox for address in message.to)


def test_alert_lifecycle(tenants, fund, mailoutbox, django_capture_on_commit_callbacks):
    # NAV 1,000,000: Binance 210,000 (21%; tier A warns above 20%), self-custody 790,000.
    fund.hold(eth="210", btc="15.8", at=T0)
    with django_capture_on_commit_callbacks(execute=True):
        fund.run(T0)
    alert = fund.alert()
    assert (alert.level, alert.state, alert.cause) == (AlertLevel.WARN, AlertState.OPEN, "active")
    assert (alert.value, alert.threshold, alert.first_seen) == (D("0.21"), D("0.2"), T0)
    assert mails_for(mailoutbox) == ["alice@example.test"]
    assert "binance" in mailoutbox[0].body

    # ETH doubles: Binance 420,000 of 1,210,000 = 34.7%, a breach from a price move alone.
    fund.price("2000", T0 + timedelta(minutes=10))
    with django_capture_on_commit_callbacks(execute=True):
        fund.run(T0 + timedelta(minutes=10))
    alert = fund.alert()
    assert (alert.level, alert.cause, alert.first_seen) == ("breach", AlertCause.PASSIVE, T0)
    assert alert.threshold == D("0.25")
    assert alert.last_seen == T0 + timedelta(minutes=10)
    assert len(mailoutbox) == 2 and "Escalated" in mailoutbox[1].body

    acknowledge_alert(alert=alert, user=tenants.alice, reason="Withdrawing 250k on Monday")
    alert.refresh_from_db()
    assert (alert.state, alert.acknowledged_by) == (AlertState.ACKNOWLEDGED, tenants.alice)

    # Back to 21%: de-escalated to warn, still acknowledged, no mail.
    fund.price("1000", T0 + timedelta(minutes=20))
    with django_capture_on_commit_callbacks(execute=True):
        fund.run(T0 + timedelta(minutes=20))
    alert = fund.alert()
    assert (alert.level, alert.state, alert.threshold) == ("warn", "acknowledged", D("0.2"))
    assert len(mailoutbox) == 2

    # The fund buys more ETH on Binance: breach again, by its own hand, and re-opened.
    fund.hold(eth="400", btc="15.8", at=T0 + timedelta(minutes=30))
    with django_capture_on_commit_callbacks(execute=True):
        fund.run(T0 + timedelta(minutes=30))
    alert = fund.alert()
    assert (alert.level, alert.state, alert.cause) == ("breach", "open", AlertCause.ACTIVE)
    assert alert.acknowledge_reason == ""
    assert alert.first_seen == T0
    assert len(mailoutbox) == 3

    # Moved to self-custody: resolved, and it stays in the history.
    fund.hold(eth="0", btc="19.0", at=T0 + timedelta(minutes=40))
    with django_capture_on_commit_callbacks(execute=True):
        fund.run(T0 + timedelta(minutes=40))
    alert = fund.alert()
    assert (alert.state, alert.resolved_at) == ("resolved", T0 + timedelta(minutes=40))
    assert alert.over_limit_for() == timedelta(minutes=40)
    assert len(mailoutbox) == 3


def test_open_alert_shows_how_long_it_has_been_over(fund):
    fund.hold(eth="210", btc="15.8", at=T0)
    fund.run(T0)
    assert fund.alert().over_limit_for(T0 + timedelta(hours=3)) == timedelta(hours=3)


def test_a_new_breach_after_resolution_is_a_new_alert(fund):
    fund.hold(eth="300", btc="15.8", at=T0)
    fund.run(T0)
    fund.hold(eth="0", btc="15.8", at=T0 + timedelta(minutes=1))
    fund.run(T0 + timedelta(minutes=1))
    fund.hold(eth="300", btc="15.8", at=T0 + timedelta(minutes=2))
    fund.run(T0 + timedelta(minutes=2))
    alerts = Alert.objects.filter(rule="group", subject="binance").order_by("pk")
    assert [(a.state, a.first_seen) for a in alerts] == [
        ("resolved", T0),
        ("open", T0 + timedelta(minutes=2)),
    ]


def test_mail_goes_to_managers_only(tenants, fund, mailoutbox, django_capture_on_commit_callbacks):
    second = UserFactory.create(username="mallory", role=Role.MANAGER)
    grant(second, tenants.fund_a, AccessLevel.MANAGE)
    viewer = UserFactory.create(username="victor", role=Role.MANAGER)
    grant(viewer, tenants.fund_a, AccessLevel.VIEW)
    fund.hold(eth="300", btc="15.8", at=T0)
    with django_capture_on_commit_callbacks(execute=True):
        fund.run(T0)
    # alice and mallory manage fund A; bob (investor), victor (view), charlie (fund B) do not.
    assert mails_for(mailoutbox) == ["alice@example.test", "mallory@example.test"]
    assert all(len(message.to) == 1 for message in mailoutbox)


def test_no_mail_when_nothing_new(fund, mailoutbox, django_capture_on_commit_callbacks):
    fund.hold(eth="300", btc="15.8", at=T0)
    with django_capture_on_commit_callbacks(execute=True):
        fund.run(T0)
    sent = len(mailoutbox)
    fund.price("1001", T0 + timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        fund.run(T0 + timedelta(minutes=1))
    assert len(mailoutbox) == sent


def test_mail_is_sent_on_commit_only(fund, mailoutbox, django_capture_on_commit_callbacks):
    fund.hold(eth="300", btc="15.8", at=T0)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        fund.run(T0)
    assert mailoutbox == []
    # The managers' mail, then the firm alerts' evaluation: both wait for the commit.
    assert [c.__name__ for c in callbacks] == ["send", "_evaluate_firm_alerts"]


def test_acknowledge_needs_a_reason(tenants, fund):
    fund.hold(eth="300", btc="15.8", at=T0)
    fund.run(T0)
    with pytest.raises(ValidationError):
        acknowledge_alert(alert=fund.alert(), user=tenants.alice, reason="   ")
    assert fund.alert().state == AlertState.OPEN


def test_acknowledge_needs_manage_access(tenants, fund):
    fund.hold(eth="300", btc="15.8", at=T0)
    fund.run(T0)
    for outsider in (tenants.bob, tenants.charlie, tenants.dora):
        with pytest.raises(PermissionDenied):
            acknowledge_alert(alert=fund.alert(), user=outsider, reason="not mine")


def test_a_resolved_alert_cannot_be_acknowledged(tenants):
    alert = AlertFactory.create(portfolio=tenants.fund_a, state=AlertState.RESOLVED, resolved_at=T0)
    with pytest.raises(ValidationError):
        acknowledge_alert(alert=alert, user=tenants.alice, reason="too late")


def test_one_live_alert_per_rule_and_subject(tenants):
    AlertFactory.create(portfolio=tenants.fund_a, subject="binance")
    with pytest.raises(IntegrityError):
        AlertFactory.create(portfolio=tenants.fund_a, subject="binance")

from __future__ import annotations

from decimal import Decimal

from django.urls import reverse

from accounts.audit import REPLACED
from accounts.models import AccessGrant, AuditAction, AuditEvent, InvestorStake
from accounts.services import delete_access, save_access
from portfolio.services import set_exchange_credentials
from riskmodels.models import Limit, RiskPolicy
from riskmodels.services import acknowledge_alert, delete_limit, save_limit
from tests.conftest import login
from tests.factories import AlertFactory, ExchangeAccountFactory


def test_a_limit_change_is_recorded_with_old_and_new_levels(tenants):
    policy = RiskPolicy.objects.create(portfolio=tenants.fund_a, name="Fund A")
    limit = save_limit(
        limit=Limit(
            policy=policy, rule="exchange_custody", warn=Decimal("0.3"), breach=Decimal("0.4")
        ),
        user=tenants.ada,
    )
    limit.breach = Decimal("0.45")
    save_limit(limit=limit, user=tenants.ada)
    delete_limit(limit=limit, user=tenants.ada)
    events = list(AuditEvent.objects.order_by("pk"))
    assert [e.action for e in events] == [
        AuditAction.LIMIT_SAVED,
        AuditAction.LIMIT_SAVED,
        AuditAction.LIMIT_DELETED,
    ]
    assert events[0].changes == {"warn": [None, "0.3"], "breach": [None, "0.4"]}
    assert events[1].changes == {"breach": ["0.4", "0.45"]}
    assert {e.actor for e in events} == {tenants.ada}
    assert {e.portfolio for e in events} == {tenants.fund_a}


def test_an_acknowledgement_is_recorded_with_its_reason(tenants):
    alert = AlertFactory.create(portfolio=tenants.fund_a)
    acknowledge_alert(alert=alert, user=tenants.alice, reason="Moving 2m to cold storage")
    event = AuditEvent.objects.get(action=AuditAction.ALERT_ACKNOWLEDGED)
    assert event.actor == tenants.alice
    assert event.changes == {
        "state": ["open", "acknowledged"],
        "reason": [None, "Moving 2m to cold storage"],
    }
    assert f"#{alert.pk}" in event.target


def test_credentials_changes_are_recorded_without_the_secret(tenants):
    account = ExchangeAccountFactory.create(location__portfolio=tenants.fund_a)
    set_exchange_credentials(
        account=account,
        credentials={"apiKey": "k-visible-nowhere", "secret": "s-visible-nowhere"},
        actor=tenants.alice,
    )
    event = AuditEvent.objects.get(action=AuditAction.CREDENTIALS_SET)
    assert (event.actor, event.portfolio) == (tenants.alice, tenants.fund_a)
    recorded = str(event.changes) + event.target
    assert "visible-nowhere" not in recorded
    assert event.changes == {"credentials": [None, f"apiKey, secret: {REPLACED}"]}


def test_grants_and_stakes_are_recorded_when_saved_changed_and_deleted(tenants):
    grant = AccessGrant(user=tenants.dora, portfolio=tenants.fund_a)
    save_access(obj=grant, actor=tenants.ada)
    stake = InvestorStake.objects.get(investor=tenants.bob)
    stake.share = Decimal("0.3")
    save_access(obj=stake, actor=tenants.ada)
    delete_access(obj=grant, actor=tenants.ada)
    events = list(AuditEvent.objects.order_by("pk"))
    assert [e.action for e in events] == ["grant_saved", "stake_saved", "grant_deleted"]
    assert events[0].changes == {"user": [None, "dora"], "level": [None, "view"]}
    assert events[1].changes == {"share": ["0.25", "0.3"]}
    assert events[2].changes == {"user": ["dora", None], "level": ["view", None]}


def test_a_grant_added_in_the_admin_is_audited(tenants):
    url = reverse("admin:accounts_accessgrant_add")
    data = {"user": tenants.dora.pk, "portfolio": tenants.fund_a.pk, "level": "view"}
    assert login(tenants.ada).post(url, data).status_code == 302
    event = AuditEvent.objects.get(action=AuditAction.GRANT_SAVED)
    assert (event.actor, event.portfolio) == (tenants.ada, tenants.fund_a)


def test_the_audit_trail_is_read_only_and_for_admins(tenants):
    save_access(obj=AccessGrant(user=tenants.dora, portfolio=tenants.fund_a), actor=tenants.ada)
    event = AuditEvent.objects.get()
    admin_client = login(tenants.ada)
    assert admin_client.get(reverse("admin:accounts_auditevent_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:accounts_auditevent_add")).status_code == 403
    delete_url = reverse("admin:accounts_auditevent_delete", args=[event.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    manager_page = login(tenants.alice).get(reverse("admin:accounts_auditevent_changelist"))
    assert manager_page.status_code == 302  # to the admin login: not an admin

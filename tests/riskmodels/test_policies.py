"""Policies: the seeded default, precedence, validation, and the history of every change."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from riskmodels.engine import DEFAULT_POLICY, Threshold
from riskmodels.models import Limit, PolicyAction, PolicyChange, RiskPolicy
from riskmodels.policies import Subject, limit_rows, resolve_policy
from riskmodels.services import delete_limit, delete_policy, save_limit
from tests.conftest import login
from tests.factories import CounterpartyFactory, PortfolioFactory, exchange

pytestmark = pytest.mark.django_db


def global_policy() -> RiskPolicy:
    return RiskPolicy.objects.get(portfolio=None)


def resolved(portfolio=None, subjects=()):
    return resolve_policy(limit_rows(None if portfolio is None else portfolio.pk), subjects)


def fund_policy(portfolio) -> RiskPolicy:
    return RiskPolicy.objects.create(portfolio=portfolio, name=f"{portfolio.name} policy")


def pair(warn, breach):
    return Threshold(None if warn is None else D(warn), None if breach is None else D(breach))


def test_the_design_table_is_the_seeded_global_default():
    policy = global_policy()
    assert policy.limits.count() == 5 + 11
    assert resolved() == DEFAULT_POLICY
    group_a = policy.limits.get(rule="group", rating_tier="A")
    assert (group_a.warn, group_a.breach) == (D("0.20"), D("0.25"))
    distressed = policy.limits.get(rule="distressed_counterparty")
    assert (distressed.warn, distressed.breach) == (None, D("0"))
    assert PolicyChange.objects.filter(action=PolicyAction.CREATED).count() == 16


def add(policy, rule, warn, breach, *, user, tier="", counterparty=None):
    limit = Limit(
        policy=policy,
        rule=rule,
        rating_tier=tier,
        counterparty=counterparty,
        warn=None if warn is None else D(warn),
        breach=None if breach is None else D(breach),
    )
    return save_limit(limit=limit, user=user)


def test_precedence_from_portfolio_counterparty_down_to_global_general(tenants):
    coinbase = exchange("coinbase", tier="A")
    kraken = exchange("kraken", tier="A")
    okx = exchange("okx", tier="B")
    ada = tenants.ada
    mine = RiskPolicy.objects.create(portfolio=tenants.fund_a, name="Fund A")
    add(global_policy(), "group", "0.30", "0.40", user=ada, counterparty=coinbase)  # 4
    add(global_policy(), "group", "0.31", "0.41", user=ada, counterparty=kraken)  # 4
    add(mine, "group", "0.05", "0.06", user=ada, tier="B")  # 2
    add(mine, "group", "0.12", "0.13", user=ada, counterparty=kraken)  # 1
    subjects = [Subject(c.slug, c.rating_tier) for c in (coinbase, kraken, okx)]

    other = resolved(tenants.fund_b, subjects)  # fund B sees the global rows only
    assert other.for_group("coinbase", "A") == pair("0.30", "0.40")  # global + counterparty
    assert other.for_group("okx", "B") == pair("0.10", "0.15")  # global + tier

    policy = resolved(tenants.fund_a, subjects)
    assert policy.for_group("kraken", "A") == pair("0.12", "0.13")  # portfolio + counterparty
    assert policy.for_group("okx", "B") == pair("0.05", "0.06")  # portfolio + tier
    assert policy.for_group("coinbase", "A") == pair("0.30", "0.40")  # global + counterparty
    assert policy.for_group("binance", "A") == pair("0.20", "0.25")  # global + tier

    add(mine, "group", "0.15", "0.18", user=ada)  # 3: portfolio general beats every global row
    policy = resolved(tenants.fund_a, subjects)
    assert policy.for_group("coinbase", "A") == pair("0.15", "0.18")
    assert policy.for_group("kraken", "A") == pair("0.12", "0.13")
    assert policy.for_group("okx", "B") == pair("0.05", "0.06")


def test_portfolio_general_limit_beats_the_global_one(tenants):
    mine = RiskPolicy.objects.create(portfolio=tenants.fund_a, name="Fund A")
    add(mine, "hhi_third_party", "3000", "4000", user=tenants.ada)
    assert resolved(tenants.fund_a).thresholds["hhi_third_party"] == pair("3000", "4000")
    assert resolved(tenants.fund_b).thresholds["hhi_third_party"] == pair("1800", "2500")


def test_tier_scoped_issuer_limit_applies_to_every_issuer_of_the_tier(tenants):
    circle = CounterpartyFactory.create(slug="circle", kind="issuer", rating_tier="B")
    tether = CounterpartyFactory.create(slug="tether", kind="issuer", rating_tier="C")
    add(global_policy(), "stablecoin_issuer", "0.05", "0.10", user=tenants.ada, tier="C")
    subjects = [Subject(c.slug, c.rating_tier) for c in (circle, tether)]
    policy = resolved(tenants.fund_a, subjects)
    assert policy.for_subject("stablecoin_issuer", "tether") == pair("0.05", "0.10")
    assert policy.for_subject("stablecoin_issuer", "circle") == pair("0.15", "0.25")


@pytest.mark.parametrize(
    ("rule", "warn", "breach", "field"),
    [
        ("group", "0.30", "0.25", "warn"),  # warn above breach
        ("group", "0.2", "1.5", "breach"),  # a share above 1
        ("exchange_custody", "-0.1", "0.5", "warn"),  # a share below 0
        ("hhi_third_party", "1800", "10001", "breach"),  # HHI above 10,000
        ("stale_data", "0", "24", "warn"),  # staleness must be positive
        ("stale_data", None, None, "warn"),  # no level at all
        ("no_such_rule", "0.1", "0.2", "rule"),  # the engine's rule names only
    ],
)
def test_invalid_limits_are_refused(tenants, rule, warn, breach, field):
    with pytest.raises(ValidationError) as error:
        add(fund_policy(tenants.fund_a), rule, warn, breach, user=tenants.ada)
    assert field in error.value.message_dict


def test_scopes_only_for_counterparty_rules(tenants):
    binance = exchange("binance")
    with pytest.raises(ValidationError) as error:
        add(global_policy(), "hhi_third_party", "1", "2", user=tenants.ada, counterparty=binance)
    assert "rule" in error.value.message_dict


def test_counterparty_limits_name_a_group_not_an_entity(tenants):
    entity = CounterpartyFactory.create(slug="binance-us", parent=exchange("binance"))
    with pytest.raises(ValidationError) as error:
        add(global_policy(), "group", "0.1", "0.2", user=tenants.ada, counterparty=entity)
    assert "binance" in str(error.value.message_dict["counterparty"])
    # A distressed entity is a subject of its own (Binance.US halting withdrawals).
    add(
        global_policy(),
        "distressed_counterparty",
        None,
        "0.01",
        user=tenants.ada,
        counterparty=entity,
    )


@pytest.mark.parametrize(
    ("rule", "warn", "breach"),
    [
        ("group", "0.30", "0.25"),
        ("group", "0.2", "1.5"),
        ("hhi_third_party", "1800", "10001"),
        ("stale_data", "0", "24"),
        ("no_such_rule", "0.1", "0.2"),
        ("hhi_third_party", None, "-1"),
    ],
)
def test_database_refuses_invalid_limits_too(rule, warn, breach):
    policy = fund_policy(PortfolioFactory.create())
    with pytest.raises(IntegrityError), transaction.atomic():
        Limit.objects.create(
            policy=policy,
            rule=rule,
            warn=None if warn is None else D(warn),
            breach=None if breach is None else D(breach),
        )


def test_every_change_is_recorded(tenants):
    coinbase = exchange("coinbase")
    limit = add(global_policy(), "group", "0.1", "0.2", user=tenants.ada, counterparty=coinbase)
    limit.breach = D("0.3")
    save_limit(limit=limit, user=tenants.ada)
    save_limit(limit=limit, user=tenants.ada)  # nothing changed: nothing recorded
    delete_limit(limit=limit, user=tenants.ada)
    changes = PolicyChange.objects.filter(scope="counterparty coinbase").order_by("pk")
    assert [
        (c.action, c.old_warn, c.old_breach, c.new_warn, c.new_breach, c.changed_by)
        for c in changes
    ] == [
        ("created", None, None, D("0.1"), D("0.2"), tenants.ada),
        ("changed", D("0.1"), D("0.2"), D("0.1"), D("0.3"), tenants.ada),
        ("deleted", D("0.1"), D("0.3"), None, None, tenants.ada),
    ]
    assert {c.policy_name for c in changes} == {"Global default"}


def test_deleting_a_policy_records_its_limits_and_keeps_the_history(tenants):
    mine = RiskPolicy.objects.create(portfolio=tenants.fund_a, name="Fund A")
    add(mine, "exchange_custody", "0.3", "0.4", user=tenants.ada)
    delete_policy(policy=mine, user=tenants.ada)
    changes = PolicyChange.objects.filter(policy_name="Fund A").order_by("pk")
    assert [(c.action, c.policy) for c in changes] == [("created", None), ("deleted", None)]


def test_limits_are_no_longer_edited_in_the_django_admin(tenants):
    # The Risk policy page edits them (tests/riskmodels/test_policy_views.py).
    limit = global_policy().limits.get(rule="exchange_custody")
    client = login(tenants.ada)
    assert client.get(f"/admin/riskmodels/limit/{limit.pk}/change/").status_code == 404
    policy_url = reverse("admin:riskmodels_riskpolicy_change", args=[limit.policy_id])
    assert client.post(policy_url, {"name": "renamed"}).status_code == 403


def test_policy_history_is_read_only_and_for_admins_only(tenants):
    changes = reverse("admin:riskmodels_policychange_changelist")
    assert login(tenants.ada).get(changes).status_code == 200
    assert login(tenants.ada).get(reverse("admin:riskmodels_policychange_add")).status_code == 403
    assert login(tenants.alice).get(changes).status_code == 302  # to the admin login
    policies = reverse("admin:riskmodels_riskpolicy_changelist")
    assert login(tenants.alice).get(policies).status_code == 302

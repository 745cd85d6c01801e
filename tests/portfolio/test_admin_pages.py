"""The admin as admins use it: every page opens, tiers are edited in the registry's list."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib import admin
from django.urls import reverse

from portfolio.models import Counterparty
from riskmodels.models import Limit, PolicyChange, RiskPolicy
from tests.conftest import login
from tests.factories import CounterpartyFactory, HoldingFactory, worked_check

APP_LABELS = ("accounts", "portfolio", "riskmodels")


@pytest.fixture
def registry(tenants):
    worked_check(tenants.fund_a)
    HoldingFactory.create(snapshot__location__portfolio=tenants.fund_b)
    return tenants


def _admin_urls(page: str) -> list[tuple[str, str]]:
    models = [m for m in admin.site._registry if m._meta.app_label in APP_LABELS]
    names = [f"admin:{m._meta.app_label}_{m._meta.model_name}_{page}" for m in models]
    return [(name, reverse(name)) for name in names]


def test_admin_walks_every_changelist_and_add_page(registry):
    client = login(registry.ada)
    for page in ("changelist", "add"):
        for name, url in _admin_urls(page):
            response = client.get(url)
            addable = admin.site._registry[
                response.wsgi_request.resolver_match.func.model_admin.model
            ]
            allowed = page == "changelist" or addable.has_add_permission(response.wsgi_request)
            assert response.status_code == (200 if allowed else 403), name


def test_admin_edits_a_counterparty_tier_and_status_in_the_list(registry):
    binance = Counterparty.objects.get(slug="binance")
    rows = list(Counterparty.objects.order_by("name"))
    data = {
        "form-TOTAL_FORMS": str(len(rows)),
        "form-INITIAL_FORMS": str(len(rows)),
        "_save": "Save",
    }
    for index, row in enumerate(rows):
        tier, status = (
            ("C", "withdrawals_halted") if row == binance else (row.rating_tier, row.status)
        )
        data |= {
            f"form-{index}-id": str(row.pk),
            f"form-{index}-rating_tier": tier,
            f"form-{index}-status": status,
        }
    response = login(registry.ada).post(reverse("admin:portfolio_counterparty_changelist"), data)
    assert response.status_code == 302
    binance.refresh_from_db()
    assert (binance.rating_tier, binance.status) == ("C", "withdrawals_halted")


def test_counterparty_list_offers_tier_and_status_inputs(registry):
    page = login(registry.ada).get(reverse("admin:portfolio_counterparty_changelist"))
    html = page.content.decode()
    assert 'name="form-0-rating_tier"' in html and 'name="form-0-status"' in html


def test_policy_admin_is_read_only_shows_percent_and_links_to_the_policy_page(registry):
    policy = RiskPolicy.objects.get(portfolio=None)
    url = reverse("admin:riskmodels_riskpolicy_change", args=[policy.pk])
    client = login(registry.ada)
    html = client.get(url).content.decode()
    assert reverse("riskmodels:policy") in html
    assert "20 %" in html and "0.200000" not in html
    data = {
        "name": policy.name,
        "limits-TOTAL_FORMS": "1",
        "limits-INITIAL_FORMS": "0",
        "limits-0-rule": "group",
        "limits-0-rating_tier": "A",
        "limits-0-warn": "0.3",
        "limits-0-breach": "0.5",
    }
    assert client.post(url, data).status_code == 403
    assert Limit.objects.get(policy=policy, rule="group", rating_tier="A").warn == Decimal("0.2")
    assert not PolicyChange.objects.exclude(changed_by_name="migration").exists()


def test_user_page_shows_grants_and_stakes_inline(registry):
    url = reverse("admin:accounts_user_change", args=[registry.bob.pk])
    html = login(registry.ada).get(url).content.decode()
    assert "investor stakes (share" in html.lower() and "access grants (view" in html.lower()
    assert 'name="stakes-0-share"' in html


def test_portfolio_page_shows_its_grants_and_stakes_inline(registry):
    url = reverse("admin:portfolio_portfolio_change", args=[registry.fund_a.pk])
    html = login(registry.ada).get(url).content.decode()
    assert 'name="grants-0-level"' in html and 'name="stakes-0-share"' in html


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_non_admins_never_reach_the_admin(registry, who):
    client = login(getattr(registry, who))
    CounterpartyFactory.create(slug="some-bank")
    response = client.get(reverse("admin:portfolio_counterparty_changelist"))
    assert response.status_code == 302
    assert reverse("admin:index") not in response.url or "login" in response.url


def test_policy_history_in_the_admin_reads_in_percent(registry):
    html = login(registry.ada).get(reverse("admin:riskmodels_policychange_changelist")).text
    assert "warn 20 % · breach 25 %" in html and "0.200000" not in html

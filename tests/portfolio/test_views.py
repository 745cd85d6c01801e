from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.conftest import login
from tests.factories import AssetFactory, HoldingFactory, SnapshotFactory


@pytest.fixture
def holdings(tenants):
    snapshot = SnapshotFactory.create(
        location__portfolio=tenants.fund_a, location__name="Anchorage"
    )
    HoldingFactory.create(
        snapshot=snapshot, asset=AssetFactory.create(code="BTC"), amount=Decimal("10.5")
    )
    return snapshot.location


def _portfolio_url(fund) -> str:
    return reverse("portfolio:portfolio_detail", args=[fund.slug])


def test_manager_sees_whole_amounts(holdings, tenants):
    page = login(tenants.alice).get(_portfolio_url(tenants.fund_a)).content.decode()
    assert "10.5" in page and "Anchorage" in page


def test_investor_with_stake_sees_their_share(holdings, tenants):
    page = login(tenants.bob).get(_portfolio_url(tenants.fund_a)).content.decode()
    assert "2.625" in page  # 25% of 10.5
    assert "10.5" not in page


def test_latest_snapshot_replaces_older_ones(holdings, tenants):
    newer = SnapshotFactory.create(location=holdings)
    HoldingFactory.create(
        snapshot=newer, asset=AssetFactory.create(code="BTC"), amount=Decimal("7")
    )
    page = login(tenants.alice).get(_portfolio_url(tenants.fund_a)).content.decode()
    assert '<td class="num">7</td>' in page and "10.5" not in page


@pytest.mark.parametrize("who", ["charlie", "dora"])
def test_another_tenant_gets_404_on_portfolio_and_location(holdings, tenants, who):
    client = login(getattr(tenants, who))
    assert client.get(_portfolio_url(tenants.fund_a)).status_code == 404
    url = reverse("portfolio:location_detail", args=[holdings.pk])
    assert client.get(url).status_code == 404


def test_location_page_shows_its_holdings(holdings, tenants):
    url = reverse("portfolio:location_detail", args=[holdings.pk])
    page = login(tenants.ada).get(url).content.decode()
    assert "BTC" in page and "10.5" in page


def test_anonymous_is_sent_to_login(holdings, tenants, client):
    response = client.get(_portfolio_url(tenants.fund_a))
    assert response.status_code == 302

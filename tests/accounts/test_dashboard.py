"""The home dashboards: each portfolio with value, freshness, limits, alerts, sync health."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccessLevel
from portfolio.models import SyncOutcome
from riskmodels.models import AlertLevel, AlertState
from riskmodels.services import compute_exposure
from tests.conftest import login
from tests.factories import (
    AlertFactory,
    AssetFactory,
    LocationFactory,
    PortfolioFactory,
    SyncRunFactory,
    book,
    grant,
    worked_check,
)

pytestmark = pytest.mark.django_db


def text_of(response) -> str:
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def fund_a(tenants):
    locations = worked_check(tenants.fund_a)
    compute_exposure(portfolio_id=tenants.fund_a.pk)
    SyncRunFactory.create(
        location=locations["okx"],
        outcome=SyncOutcome.FAILED,
        error_message="The API key was revoked on the exchange.",
    )
    SyncRunFactory.create(location=locations["binance"], outcome=SyncOutcome.SUCCESS)
    return locations


def test_manager_sees_value_limit_alerts_and_sync_health(tenants, fund_a):
    AlertFactory.create(portfolio=tenants.fund_a, subject="x", level=AlertLevel.BREACH)
    AlertFactory.create(portfolio=tenants.fund_a, subject="y", level=AlertLevel.WARN)
    AlertFactory.create(portfolio=tenants.fund_a, subject="z", level=AlertLevel.WARN)
    AlertFactory.create(
        portfolio=tenants.fund_a,
        subject="seen",
        state=AlertState.ACKNOWLEDGED,
        acknowledge_reason="moving",
    )
    text = text_of(login(tenants.alice).get(reverse("home")))
    assert "Your portfolios" in text
    assert "Fund A holdings 10,000,000" in text
    # The status is the worst over every rule, beside the largest exposure by name.
    assert "breach Binance · 30.00% breach 20.00% / 25.00%" in text
    # compute_exposure opened 3 breaches (binance, exchange custody, third-party HHI); the
    # acknowledged alert is not open.
    assert "4 breach 2 warn" in text
    assert "okx: failed The API key was revoked on the exchange." in text
    assert "binance: success" in text
    assert "stale" not in text
    assert "Fund B" not in text


def test_old_data_is_flagged_stale(tenants):
    worked_check(tenants.fund_a, taken_at=timezone.now() - timedelta(hours=7))
    compute_exposure(portfolio_id=tenants.fund_a.pk)
    assert "stale" in text_of(login(tenants.alice).get(reverse("home")))


def test_portfolio_without_report_says_so(tenants):
    text = text_of(login(tenants.alice).get(reverse("home")))
    assert "Fund A holdings not computed no data yet" in text


def test_investor_dashboard_shows_their_share_only(tenants, fund_a):
    AlertFactory.create(portfolio=tenants.fund_a, subject="x", level=AlertLevel.BREACH)
    text = text_of(login(tenants.bob).get(reverse("home")))
    assert "Fund A 25.00% 2,500,000" in text
    assert "Binance · 30.00%" in text
    assert "10,000,000" not in text
    assert "revoked" not in text and "breach" not in text
    assert "Turn on two-factor authentication" in text


def test_admin_dashboard_lists_every_portfolio(tenants, fund_a):
    response = login(tenants.ada).get(reverse("home"))
    rows = response.context["dashboard"]
    assert [row.portfolio.slug for row in rows] == ["fund-a", "fund-b"]
    assert rows[0].top["status"] == "breach"


def add_portfolios(manager, count: int, locations: int) -> None:
    """``count`` computed portfolios of ``locations`` locations each, granted to ``manager``."""
    btc = AssetFactory.create(code="BTC")
    for _ in range(count):
        portfolio = PortfolioFactory.create()
        grant(manager, portfolio, AccessLevel.MANAGE)
        for _ in range(locations):
            location = LocationFactory.create(portfolio=portfolio)
            book(location, {btc: "1"})
            SyncRunFactory.create(
                location=location, outcome=SyncOutcome.FAILED, error_message="down"
            )
        compute_exposure(portfolio_id=portfolio.pk)
        AlertFactory.create(portfolio=portfolio)


def home_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("home")).status_code == 200
    return len(queries)


def test_dashboard_queries_grow_by_at_most_one_per_portfolio(tenants):
    client = login(tenants.charlie)
    home_queries(client)  # warm the session
    add_portfolios(tenants.charlie, count=2, locations=2)
    two = home_queries(client)
    add_portfolios(tenants.charlie, count=2, locations=6)
    four = home_queries(client)
    assert four - two <= 2  # one locations query per portfolio, never per location


def test_dashboard_query_budget(tenants, django_assert_max_num_queries):
    add_portfolios(tenants.charlie, count=5, locations=4)
    client = login(tenants.charlie)
    client.get(reverse("home"))
    with django_assert_max_num_queries(16):
        client.get(reverse("home"))

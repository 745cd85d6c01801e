"""The alerts page: who may see it, filters, history with acknowledgements, and where
acknowledging returns to."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import timezone

from portfolio.models import CounterpartyKind
from riskmodels.models import SYNC_RULE, AlertLevel, AlertState
from tests.conftest import login
from tests.factories import (
    AlertFactory,
    CounterpartyFactory,
    LocationFactory,
    computed_exposure,
    worked_check,
)

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def alerts_url(slug: str = "fund-a") -> str:
    return reverse("riskmodels:alerts", args=[slug])


@pytest.fixture
def history(tenants):
    """Fund A: an open breach on Kraken (Payward), a warning on Binance that alice
    acknowledged, one resolved a month ago; fund B: one open alert."""
    CounterpartyFactory.create(
        slug="payward", name="Kraken", legal_name="Payward, Inc.", kind=CounterpartyKind.GROUP
    )
    CounterpartyFactory.create(slug="binance", name="Binance")
    fund_a = tenants.fund_a
    alerts = {
        "open": AlertFactory.create(
            portfolio=fund_a,
            subject="payward",
            level=AlertLevel.BREACH,
            value=D("0.3"),
            threshold=D("0.25"),
            first_seen=NOW - timedelta(days=2),
        ),
        "acknowledged": AlertFactory.create(
            portfolio=fund_a,
            subject="binance",
            state=AlertState.ACKNOWLEDGED,
            acknowledged_by=tenants.alice,
            acknowledged_at=NOW - timedelta(days=1),
            acknowledge_reason="Moving 2m to cold storage",
            first_seen=NOW - timedelta(days=3),
        ),
        "resolved": AlertFactory.create(
            portfolio=fund_a,
            rule=SYNC_RULE,
            subject="Cold wallet",
            state=AlertState.RESOLVED,
            first_seen=NOW - timedelta(days=40),
            resolved_at=NOW - timedelta(days=30),
        ),
        "other": AlertFactory.create(portfolio=tenants.fund_b, subject="other-tenant-subject"),
    }
    return alerts


def shown(response) -> set[int]:
    return {row["alert"].pk for row in response.context["rows"]}


def test_manager_sees_every_alert_of_the_portfolio_including_resolved(tenants, history):
    response = login(tenants.alice).get(alerts_url())
    assert response.status_code == 200
    assert shown(response) == {history[k].pk for k in ("open", "acknowledged", "resolved")}
    page = response.content.decode()
    assert "Kraken (Payward)" in page and "<td>payward</td>" not in page
    assert "alice, " in page and "Moving 2m to cold storage" in page
    assert "other-tenant-subject" not in page
    # One acknowledge form: for the open alert only.
    assert page.count('name="reason"') == 1


@pytest.mark.parametrize("who", ["charlie", "dora"])
def test_another_tenant_gets_404(tenants, history, who):
    assert login(getattr(tenants, who)).get(alerts_url()).status_code == 404


def test_admin_sees_any_portfolio(tenants, history):
    response = login(tenants.ada).get(alerts_url("fund-b"))
    assert shown(response) == {history["other"].pk}


def test_investor_with_a_stake_sees_alerts_but_not_who_acknowledged_nor_forms(tenants, history):
    response = login(tenants.bob).get(alerts_url())
    assert response.status_code == 200
    assert history["acknowledged"].pk in shown(response)
    page = response.content.decode()
    assert "Moving 2m to cold storage" not in page and "alice" not in page
    assert 'name="reason"' not in page


def test_granted_investor_sees_own_portfolio_without_forms(tenants, history):
    response = login(tenants.dora).get(alerts_url("fund-b"))
    assert shown(response) == {history["other"].pk}
    assert 'name="reason"' not in response.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"level": "breach"}, {"open"}),
        ({"state": "resolved"}, {"resolved"}),
        ({"state": "acknowledged"}, {"acknowledged"}),
        ({"rule": SYNC_RULE}, {"resolved"}),
        ({"counterparty": "binance"}, {"acknowledged"}),
        # Live at some moment of the range: the resolved one ended before it.
        ({"since": (NOW - timedelta(days=5)).date().isoformat()}, {"open", "acknowledged"}),
        ({"until": (NOW - timedelta(days=35)).date().isoformat()}, {"resolved"}),
        (
            {
                "since": (NOW - timedelta(days=45)).date().isoformat(),
                "until": (NOW - timedelta(days=29)).date().isoformat(),
            },
            {"resolved"},
        ),
    ],
)
def test_filters(tenants, history, query, expected):
    response = login(tenants.alice).get(alerts_url(), query)
    assert shown(response) == {history[k].pk for k in expected}


def test_counterparty_filter_offers_display_names(tenants, history):
    response = login(tenants.alice).get(alerts_url())
    choices = dict(response.context["form"].fields["counterparty"].choices)
    assert choices == {"": "Any counterparty", "payward": "Kraken (Payward)", "binance": "Binance"}


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"since": "2026-13-45"}, "Enter a valid date."),
        ({"level": "catastrophe"}, "Select a valid choice."),
        ({"counterparty": "other-tenant-subject"}, "Select a valid choice."),
        (
            {"since": "2026-02-01", "until": "2026-01-01"},
            "The end of the range must not be before its start.",
        ),
    ],
)
def test_bad_filters_say_what_to_correct_and_never_fail(tenants, history, query, error):
    response = login(tenants.alice).get(alerts_url(), query)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert len(shown(response)) == 3  # unfiltered until corrected


def acknowledge(client, alert, **data):
    url = reverse("riskmodels:acknowledge_alert", args=[alert.pk])
    return client.post(url, {"reason": "Known, moving funds", **data})


def test_acknowledging_returns_to_next(tenants, history):
    back = alerts_url() + "?level=breach"
    client = login(tenants.alice)
    response = acknowledge(client, history["open"], next=back)
    assert (response.status_code, response["Location"]) == (302, back)
    message = client.get(back).content.decode()
    assert "Alert acknowledged: One counterparty group (look-through), Kraken (Payward)." in message
    report = reverse("riskmodels:report", args=["fund-a"])
    other = AlertFactory.create(portfolio=tenants.fund_a, subject="okx")
    assert acknowledge(login(tenants.alice), other, next=report)["Location"] == report


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/phish",
        "//evil.example/phish",
        "http://testserver.evil.example/",
        "javascript:alert(1)",
        "",
    ],
)
def test_acknowledging_never_redirects_off_site(tenants, history, target):
    response = acknowledge(login(tenants.alice), history["open"], next=target)
    assert (response.status_code, response["Location"]) == (302, alerts_url())
    history["open"].refresh_from_db()
    assert history["open"].state == AlertState.ACKNOWLEDGED


def test_acknowledged_alert_shows_who_and_when_on_the_page(tenants, history):
    client = login(tenants.alice)
    acknowledge(client, history["open"], next=alerts_url())
    response = client.get(alerts_url(), {"state": "acknowledged"})
    rows = {row["alert"].pk: row for row in response.context["rows"]}
    row = rows[history["open"].pk]
    assert (row["acknowledged_by"], row["reason"]) == ("alice", "Known, moving funds")
    assert row["acknowledged_at"] is not None


def test_subjects_that_are_no_counterparty_are_named_in_words(tenants):
    location = LocationFactory.create(
        portfolio=tenants.fund_a, name="Treasury wallet", custodian__name="Fireblocks"
    )
    AlertFactory.create(portfolio=tenants.fund_a, rule="hhi_third_party", subject="third_party")
    AlertFactory.create(portfolio=tenants.fund_a, rule="stale_data", subject=str(location.pk))
    manager = login(tenants.alice).get(alerts_url())
    assert {row["subject"] for row in manager.context["rows"]} == {
        "All third parties",
        "Treasury wallet",
    }
    # Seen through a stake, a location is named by its custodian, as on the report.
    investor = login(tenants.bob).get(alerts_url())
    assert {row["subject"] for row in investor.context["rows"]} == {
        "All third parties",
        "Fireblocks",
    }


def test_hhi_and_age_values_carry_their_unit(tenants):
    AlertFactory.create(
        portfolio=tenants.fund_a, rule="hhi_third_party", subject="third_party", value=D("2900")
    )
    row = login(tenants.alice).get(alerts_url()).context["rows"][0]
    assert (row["value"], row["unit"]) == (D("2900"), " points")


def test_report_links_the_alerts_page_and_its_forms_come_back_to_it(tenants):
    worked_check(tenants.fund_a)
    computed_exposure(tenants.fund_a)
    report = reverse("riskmodels:report", args=["fund-a"])
    html = login(tenants.alice).get(report).content.decode()
    assert f'href="{alerts_url()}"' in html
    assert f'<input type="hidden" name="next" value="{report}">' in html
    stress = reverse("riskmodels:stress", args=["fund-a"])
    assert f'href="{stress}"' in html
    holdings = reverse("portfolio:portfolio_detail", args=["fund-a"])
    detail = login(tenants.alice).get(holdings).content.decode()
    assert f'href="{alerts_url()}"' in detail and f'href="{stress}"' in detail

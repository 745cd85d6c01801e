"""The stress page and the custom scenario form: access, exact losses, validation, audit and
the recompute that brings a new scenario into the report."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.urls import reverse

from accounts.models import AuditAction, AuditEvent
from portfolio.models import AssetKind
from riskmodels.models import ExposureSnapshot, StressScenario
from riskmodels.services import ShockSpec, create_stress_scenario
from tests.conftest import login
from tests.factories import computed_exposure, exchange, priced, worked_check

pytestmark = pytest.mark.django_db


def stress_url(slug: str = "fund-a") -> str:
    return reverse("riskmodels:stress", args=[slug])


def new_url(slug: str = "fund-a") -> str:
    return reverse("riskmodels:new_scenario", args=[slug])


@pytest.fixture
def fund(tenants):
    """The worked check in fund A (NAV 10m: Binance 3.0m, Coinbase 2.0m, OKX 1.5m, Kraken 1.0m,
    self 2.5m, all BTC) and a custom scenario: LGD 50% at Binance, BTC -20%."""
    worked_check(tenants.fund_a)
    shocks = [
        ShockSpec(D("0.5"), custody_group=exchange("binance")),
        ShockSpec(D("0.2"), asset=priced("BTC", "50000")),
    ]
    create_stress_scenario(user=tenants.alice, portfolio=tenants.fund_a, name="Asia", shocks=shocks)
    return tenants


def scenario_row(response, name: str) -> dict:
    rows = [row for row in response.context["page"].scenarios if row["name"] == name]
    assert len(rows) == 1, [row["name"] for row in response.context["page"].scenarios]
    return rows[0]


def test_manager_sees_every_scenario_with_assumptions_hits_and_exact_loss(fund):
    response = login(fund.alice).get(stress_url())
    assert response.status_code == 200
    asia = scenario_row(response, "Asia")
    # Binance 3.0m: 1 - 0.5 x 0.8 = 60%; the other 7.0m of BTC lose 20%.
    assert asia["loss"] == D("3200000") and asia["loss_pct"] == D("32")
    assert asia["assumptions"] == [
        "Loss given default 50% on what Binance holds",
        "Price shock −20% on BTC",
    ]
    assert [(h["held_at"], h["loss_pct"], h["loss"]) for h in asia["hits"]] == [
        ("Binance", "60", D("1800000")),
        ("Self-custody", "20", D("500000")),
        ("Coinbase", "20", D("400000")),
        ("Okx", "20", D("300000")),
        ("Kraken", "20", D("200000")),
    ]
    assert sum(h["loss"] for h in asia["hits"]) == asia["loss"]
    base = scenario_row(response, "binance default (base)")
    assert base["preset"]
    assert base["assumptions"][0] == "Loss given default 60% on what Binance holds"
    assert base["loss"] == D("1800000")
    page = response.content.decode()
    assert "New scenario" in page and "created by alice" in page
    assert "Not in the stored report yet" in page  # nothing computed since it was made


def test_custom_scenarios_come_first(fund):
    response = login(fund.alice).get(stress_url())
    assert response.context["page"].scenarios[0]["name"] == "Asia"


def test_investor_sees_own_share_without_forms_or_names(fund):
    response = login(fund.bob).get(stress_url())
    assert response.status_code == 200
    asia = scenario_row(response, "Asia")
    assert asia["loss"] == D("800000") and asia["loss_pct"] == D("32")  # 25% of 3.2m
    page = response.content.decode()
    assert "New scenario" not in page and "alice" not in page
    assert login(fund.bob).get(new_url()).status_code == 404


@pytest.mark.parametrize("who", ["charlie", "dora"])
def test_another_tenant_gets_404(fund, who):
    client = login(getattr(fund, who))
    assert client.get(stress_url()).status_code == 404
    assert client.get(new_url()).status_code == 404
    assert client.post(new_url(), {"name": "x"}).status_code == 404


def test_a_portfolio_without_holdings_has_an_empty_page(tenants):
    response = login(tenants.charlie).get(stress_url("fund-b"))
    assert response.status_code == 200
    assert "No holdings yet" in response.content.decode()


def form_data(**extra: str) -> dict[str, str]:
    return {"name": "Binance run", **extra}


def test_manager_creates_a_scenario_that_the_next_compute_includes(
    fund, eager_celery, django_capture_on_commit_callbacks
):
    binance = exchange("binance")
    btc = priced("BTC", "50000")
    data = form_data(
        lgd_group_0=str(binance.pk),
        lgd_percent_0="35",
        shock_target_0=str(btc.pk),
        shock_percent_0="12.5",
        shock_target_1=f"kind:{AssetKind.EXCHANGE_TOKEN}",
        shock_percent_1="90",
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = login(fund.alice).post(new_url(), data)
    assert (response.status_code, response["Location"]) == (302, stress_url())
    scenario = StressScenario.objects.get(name="Binance run")
    assert (scenario.portfolio, scenario.created_by) == (fund.fund_a, fund.alice)
    shocks = {
        (s.fraction, s.custody_group_id, s.asset_id, s.asset_kind) for s in scenario.shocks.all()
    }
    assert shocks == {
        (D("0.35"), binance.pk, None, ""),
        (D("0.125"), None, btc.pk, ""),
        (D("0.9"), None, None, AssetKind.EXCHANGE_TOKEN),
    }
    event = AuditEvent.objects.get(
        action=AuditAction.SCENARIO_CREATED, target__endswith="Binance run"
    )
    assert (event.actor, event.portfolio) == (fund.alice, fund.fund_a)
    assert event.changes["shocks"][1] == (
        "0.35 custody_group=binance; 0.125 asset=BTC; 0.9 asset_kind=exchange_token"
    )
    # The recompute enqueued on commit ran: the stored report has the scenario, exactly.
    report = ExposureSnapshot.objects.filter(portfolio=fund.fund_a).latest().report
    run = next(s for s in report["scenarios"] if s["name"] == "Binance run")
    # Binance 3.0m: 1 - 0.65 x 0.875 = 43.125%; the other 7.0m: 12.5%.
    assert run["loss"] == "2168750"
    page = login(fund.alice).get(stress_url())
    assert scenario_row(page, "Binance run")["in_report"]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"name": ""}, "This field is required."),
        ({}, "Give at least one loss given default or one price shock."),
        ({"lgd_percent_0": "35"}, "Give both the choice and the percentage."),
        ({"lgd_group_0": "BINANCE"}, "Give both the choice and the percentage."),
        ({"lgd_group_0": "BINANCE", "lgd_percent_0": "101"}, "less than or equal to 100"),
        ({"lgd_group_0": "BINANCE", "lgd_percent_0": "-1"}, "greater than or equal to 0"),
        ({"lgd_group_0": "BINANCE", "lgd_percent_0": "0"}, "A loss of 0% changes nothing"),
        ({"lgd_group_0": "BINANCE", "lgd_percent_0": "abc"}, "Enter a number."),
        ({"lgd_group_0": "BINANCE", "lgd_percent_0": "NaN"}, "Enter a number."),
        ({"lgd_group_0": "BINANCE", "lgd_percent_0": "1.23456"}, "decimal places"),
        ({"lgd_group_0": "999999", "lgd_percent_0": "10"}, "Select a valid choice."),
        ({"shock_target_0": "kind:bogus", "shock_percent_0": "10"}, "Select a valid choice."),
        (
            {
                "lgd_group_0": "BINANCE",
                "lgd_percent_0": "10",
                "lgd_group_1": "BINANCE",
                "lgd_percent_1": "20",
            },
            "Chosen twice",
        ),
        ({"name": "asia", "lgd_group_0": "BINANCE", "lgd_percent_0": "10"}, "exists already"),
        (
            {"name": "Binance default (base)", "lgd_group_0": "BINANCE", "lgd_percent_0": "10"},
            "exists already",
        ),
        ({"name": "x" * 121, "lgd_group_0": "BINANCE", "lgd_percent_0": "10"}, "at most 120"),
    ],
)
def test_bad_input_gets_a_clear_error_and_saves_nothing(fund, data, error):
    computed_exposure(fund.fund_a)  # its presets' names are taken
    binance = str(exchange("binance").pk)
    data = {key: value.replace("BINANCE", binance) for key, value in data.items()}
    before = (StressScenario.objects.count(), AuditEvent.objects.count())
    response = login(fund.alice).post(new_url(), {**form_data(), **data})
    assert response.status_code == 200
    assert error in response.content.decode()
    assert (StressScenario.objects.count(), AuditEvent.objects.count()) == before


def test_the_form_offers_groups_by_display_name_not_entities(fund):
    response = login(fund.alice).get(new_url())
    assert response.status_code == 200
    page = response.content.decode()
    assert ">Binance</option>" in page
    assert "Every exchange token" in page


def delete_url(scenario: StressScenario) -> str:
    return reverse("riskmodels:delete_scenario", args=[scenario.pk])


def test_manager_deletes_a_custom_scenario_audited_and_recomputed(
    fund, eager_celery, django_capture_on_commit_callbacks
):
    asia = StressScenario.objects.get(name="Asia")
    computed_exposure(fund.fund_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = login(fund.alice).post(delete_url(asia))
    assert (response.status_code, response["Location"]) == (302, stress_url())
    assert not StressScenario.objects.filter(name="Asia").exists()
    event = AuditEvent.objects.get(action=AuditAction.SCENARIO_DELETED)
    assert (event.actor, event.portfolio) == (fund.alice, fund.fund_a)
    assert event.changes["shocks"] == ["0.5 custody_group=binance; 0.2 asset=BTC", None]
    report = ExposureSnapshot.objects.filter(portfolio=fund.fund_a).latest().report
    assert "Asia" not in {s["name"] for s in report["scenarios"]}


def test_only_the_portfolios_managers_delete_its_scenarios(fund):
    asia = StressScenario.objects.get(name="Asia")
    for who in (fund.bob, fund.charlie, fund.dora):
        assert login(who).post(delete_url(asia)).status_code == 404
    assert login(fund.alice).get(delete_url(asia)).status_code == 405
    everywhere = create_stress_scenario(
        user=fund.ada, name="Global", shocks=[ShockSpec(D("0.1"), asset_kind=AssetKind.NATIVE)]
    )
    # A scenario for every portfolio is the admins' business (in the Django admin).
    assert login(fund.alice).post(delete_url(everywhere)).status_code == 404
    assert StressScenario.objects.filter(name__in=["Asia", "Global"]).count() == 2
    page = login(fund.alice).get(stress_url()).content.decode()
    assert page.count("Delete this scenario") == 1

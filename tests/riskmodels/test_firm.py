"""The firm-wide view: group exposures summed over portfolios, exactly, against the firm's NAV
and the global policy's group limits; who may see it; when it is not current."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from portfolio.models import Counterparty
from riskmodels.engine import DEFAULT_POLICY, Policy, Threshold
from riskmodels.engine.firm import firm_report
from riskmodels.firm import exposure_rows, finding_rows, firm_page
from riskmodels.models import Limit, RiskPolicy
from tests.conftest import login
from tests.factories import (
    ExchangeAccountFactory,
    LocationFactory,
    SelfCustodyFactory,
    SyncRunFactory,
    book,
    computed_exposure,
    exchange,
    priced,
    worked_check,
)
from tests.riskmodels.test_engine_builders import BIG_FOUR, NOW, WORKED, cp, held, report

D = Decimal


# The engine, without a database.


def test_group_exposures_are_summed_exactly_over_portfolios():
    a = report(WORKED, BIG_FOUR)
    b = report(
        [held("binance", "0.000000000000000001"), held("okx", "1234.5678"), held(None, "1")],
        BIG_FOUR,
    )
    firm = firm_report({"fund-a": a, "fund-b": b}, DEFAULT_POLICY)
    assert firm.nav == D("10001235.567800000000000001")
    binance = firm.exposure("binance")
    assert binance is not None
    assert binance.total == D("3000000.000000000000000001")
    assert binance.custody == D("3000000.000000000000000001")
    assert [(p.portfolio, p.total) for p in binance.parts] == [
        ("fund-a", D("3000000")),
        ("fund-b", D("0.000000000000000001")),
    ]
    assert firm.exposure("okx").total == D("1501234.5678")


def test_the_firm_nav_is_the_denominator_of_the_group_limit():
    # Binance is 30% of fund A (a breach there) but 3,000,000 of a 20,000,000 firm: 15%, ok.
    a = report(WORKED, BIG_FOUR)
    b = report([held(None, "10000000")], BIG_FOUR)
    firm = firm_report({"fund-a": a, "fund-b": b}, DEFAULT_POLICY)
    binance = firm.exposure("binance")
    assert firm.nav == D("20000000")
    assert binance.share == D("0.15")
    assert (binance.warn, binance.breach, binance.level) == (D("0.20"), D("0.25"), "ok")
    assert firm.findings == ()


def test_a_group_override_of_the_policy_applies_at_firm_level():
    a = report([held("binance", "1900000"), held(None, "8100000")], BIG_FOUR)
    b = report([held("binance", "1900000"), held(None, "8100000")], BIG_FOUR)
    c = report([held("kraken", "2600000"), held(None, "7400000")], BIG_FOUR)
    assert firm_report({"a": a, "b": b, "c": c}, DEFAULT_POLICY).findings == ()
    policy = Policy(
        group_tier=DEFAULT_POLICY.group_tier,
        thresholds=DEFAULT_POLICY.thresholds,
        overrides={"group": {"binance": Threshold(D("0.10"), D("0.12"))}},
    )
    firm = firm_report({"a": a, "b": b, "c": c}, policy)
    binance = firm.exposure("binance")
    assert (binance.share, binance.level) == (D("0.126666666667"), "breach")
    assert binance.above_warn == D("800000")  # 3.8m - 10% of 30m
    assert [(f.rule, f.subject, f.level) for f in firm.findings] == [("group", "binance", "breach")]


def test_findings_list_breaches_first_then_the_largest():
    a = report(
        [held("binance", "3000000"), held("okx", "2100000"), held("kraken", "2200000"),
         held(None, "2700000")],
        BIG_FOUR,
    )  # fmt: skip
    firm = firm_report({"a": a}, DEFAULT_POLICY)
    assert [(f.subject, f.level) for f in firm.findings] == [
        ("binance", "breach"),
        ("kraken", "warn"),
        ("okx", "warn"),
    ]
    assert firm.findings[0].amount == D("3000000")


def test_a_distressed_group_is_a_firm_level_breach_however_small():
    registry = [*BIG_FOUR, cp("ftx", status="insolvent")]
    a = report([held("ftx", "1"), held(None, "999999")], registry)
    firm = firm_report({"a": a}, DEFAULT_POLICY)
    assert firm.exposure("ftx").level == "breach"
    assert ("distressed_counterparty", "ftx", "breach") in [
        (f.rule, f.subject, f.level) for f in firm.findings
    ]


def test_a_firm_without_positive_nav_has_no_shares_and_any_exposure_breaches():
    a = report([held("binance", "100"), held(None, "-200", asset="USDT", kind="fiat")], BIG_FOUR)
    firm = firm_report({"a": a}, DEFAULT_POLICY)
    binance = firm.exposure("binance")
    assert firm.nav <= 0
    assert (binance.share, binance.level, binance.above_warn) == (None, "breach", None)


def test_no_portfolio_means_an_empty_firm():
    firm = firm_report({}, DEFAULT_POLICY)
    assert (firm.nav, firm.exposures, firm.findings) == (D(0), (), ())


def test_tier_and_status_come_from_the_newest_report():
    old = report([held("okx", "10")], [cp("okx", tier="A")], as_of=NOW - timedelta(days=1))
    new = report([held("okx", "10")], [cp("okx", tier="C", status="withdrawals_halted")])
    firm = firm_report({"old": old, "new": new}, DEFAULT_POLICY)
    okx = firm.exposure("okx")
    assert (okx.tier, okx.status, okx.total) == ("C", "withdrawals_halted", D("20"))


# The page's data, from the stored reports.


def _fund_b_book(fund_b):
    btc = priced("BTC", "50000")
    binance = LocationFactory.create(
        portfolio=fund_b, name="binance b", kind="exchange", custodian=exchange("binance")
    )
    book(binance, {btc: "20.000000000000000001"})
    cold = SelfCustodyFactory.create(portfolio=fund_b, name="cold b")
    book(cold, {btc: "20"})


@pytest.fixture
def two_funds(tenants):
    worked_check(tenants.fund_a)
    _fund_b_book(tenants.fund_b)
    computed_exposure(tenants.fund_a)
    computed_exposure(tenants.fund_b)
    return tenants


def test_the_page_sums_the_latest_stored_reports(two_funds):
    page = firm_page([two_funds.fund_a, two_funds.fund_b], now=timezone.now())
    firm = page.report
    assert firm.nav == D("12000000.00000000000005")
    binance = firm.exposure("binance")
    assert binance.total == D("4000000.00000000000005")
    assert binance.share == D("0.333333333333")
    assert binance.level == "breach"
    assert binance.above_warn == D("1600000.00000000000004")  # 4.0m - 20% of 12.0m
    assert firm.exposure("coinbase").total == D("2000000")
    assert page.current


def test_the_firm_applies_the_global_policy(two_funds):
    policy = RiskPolicy.objects.get(portfolio=None)
    Limit.objects.filter(policy=policy, rule="group", rating_tier="A").update(
        warn=D("0.40"), breach=D("0.50")
    )
    page = firm_page([two_funds.fund_a, two_funds.fund_b], now=timezone.now())
    binance = page.report.exposure("binance")
    assert (binance.warn, binance.breach, binance.level) == (D("0.40"), D("0.50"), "ok")


def test_a_portfolio_whose_holdings_changed_since_its_report_makes_the_firm_not_current(
    two_funds,
):
    cold = two_funds.fund_b.locations.get(name="cold b")
    book(cold, {priced("ETH", "3000"): "1"})
    page = firm_page([two_funds.fund_a, two_funds.fund_b], now=timezone.now())
    assert not page.current
    (line,) = [line for line in page.portfolios if line.not_current]
    assert line.portfolio == two_funds.fund_b
    assert "holdings changed" in line.not_current[0]


def test_old_data_makes_the_firm_not_current(two_funds):
    later = timezone.now() + timedelta(hours=7)  # past the default 6 h stale-data warn
    page = firm_page([two_funds.fund_a, two_funds.fund_b], now=later)
    assert not page.current
    assert all("older than 6 h" in " ".join(line.not_current) for line in page.portfolios)


def test_a_location_whose_last_sync_failed_makes_the_firm_not_current(two_funds):
    binance = two_funds.fund_a.locations.get(name="binance")
    ExchangeAccountFactory.create(location=binance)
    SyncRunFactory.create(
        location=binance, outcome="failed", finished_at=timezone.now(), error_message="down"
    )
    page = firm_page([two_funds.fund_a, two_funds.fund_b], now=timezone.now())
    line_a = next(line for line in page.portfolios if line.portfolio == two_funds.fund_a)
    assert line_a.not_current == ("figures not current at binance",)
    assert not page.current


def test_a_portfolio_without_a_report_is_named_and_left_out(tenants):
    worked_check(tenants.fund_a)
    computed_exposure(tenants.fund_a)
    page = firm_page([tenants.fund_a, tenants.fund_b], now=timezone.now())
    assert page.report.nav == D("10000000")
    assert not page.current
    line_b = next(line for line in page.portfolios if line.portfolio == tenants.fund_b)
    assert line_b.not_current == ("no exposure report yet: not in the sums",)


# The page and who may see it.


def test_groups_are_named_as_the_registry_names_them(two_funds):
    Counterparty.objects.filter(slug="binance").update(name="Binance Holdings")
    page = firm_page([two_funds.fund_a, two_funds.fund_b], now=timezone.now())
    assert page.names["binance"] == "Binance Holdings"
    assert [row["name"] for row in finding_rows(page)] == ["Binance Holdings"]
    assert exposure_rows(page)[0]["name"] == "Binance Holdings"


def test_an_admin_sees_every_portfolio_summed(two_funds):
    response = login(two_funds.ada).get(reverse("riskmodels:firm"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "Fund A" in text and "Fund B" in text
    assert "12,000,000 USD" in text
    assert "4,000,000" in text  # binance, over both funds


def test_a_manager_sees_only_the_portfolios_granted(two_funds):
    response = login(two_funds.alice).get(reverse("riskmodels:firm"))
    assert response.status_code == 200
    page = response.context["page"]
    assert [line.portfolio for line in page.portfolios] == [two_funds.fund_a]
    assert page.report.nav == D("10000000")
    text = response.content.decode()
    assert "Fund B" not in text and "binance b" not in text


def test_the_other_manager_sees_only_theirs(two_funds):
    page = login(two_funds.charlie).get(reverse("riskmodels:firm")).context["page"]
    assert [line.portfolio for line in page.portfolios] == [two_funds.fund_b]
    assert page.report.exposure("binance").total == D("1000000.00000000000005")


@pytest.mark.parametrize("who", ["bob", "dora"])
def test_investors_never_see_the_firm_page(two_funds, who):
    response = login(getattr(two_funds, who)).get(reverse("riskmodels:firm"))
    assert response.status_code == 404


def test_the_firm_page_needs_a_login(two_funds, client):
    response = client.get(reverse("riskmodels:firm"))
    assert response.status_code == 302


def test_the_page_marks_its_figures_not_current(two_funds):
    book(two_funds.fund_b.locations.get(name="cold b"), {priced("ETH", "3000"): "1"})
    text = login(two_funds.ada).get(reverse("riskmodels:firm")).content.decode()
    assert 'id="firm-not-current"' in text
    notice = text.split('id="firm-not-current"')[1].split("</div>")[0]
    assert "Fund B" in notice and "holdings changed" in notice and "Fund A" not in notice


def test_the_page_reads_a_fixed_number_of_queries_whatever_the_groups(two_funds):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    funds = [two_funds.fund_a, two_funds.fund_b]
    with CaptureQueriesContext(connection) as before:
        firm_page(funds, now=timezone.now())
    btc = priced("BTC", "50000")
    for slug in ("bybit", "gate", "mexc"):
        location = LocationFactory.create(
            portfolio=two_funds.fund_b, name=slug, kind="exchange", custodian=exchange(slug)
        )
        book(location, {btc: "1"})
    computed_exposure(two_funds.fund_b)
    with CaptureQueriesContext(connection) as after:
        page = firm_page(funds, now=timezone.now())
    assert len(page.report.exposures) == 7
    assert len(after.captured_queries) == len(before.captured_queries)

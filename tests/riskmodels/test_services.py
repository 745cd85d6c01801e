"""compute_exposure end to end: holdings and prices in the database, a stored snapshot out."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portfolio.models import AssetKind, LocationKind
from riskmodels.models import ExposureSnapshot, Limit, RiskPolicy
from riskmodels.reports import load_report
from riskmodels.selectors import load_inputs, load_registry, top_groups
from riskmodels.services import compute_exposure, save_limit
from tests.factories import (
    AssetFactory,
    CounterpartyFactory,
    LocationFactory,
    PortfolioFactory,
    PriceFactory,
    SelfCustodyFactory,
    book,
    exchange,
    priced,
    worked_check,
)

pytestmark = pytest.mark.django_db


def finding(report, rule, subject):
    [found] = [f for f in report["findings"] if f["rule"] == rule and f["subject"] == subject]
    return found


def test_worked_check_through_the_database(tenants):
    worked_check(tenants.fund_a)
    snapshot = compute_exposure(portfolio_id=tenants.fund_a.pk)
    report = snapshot.report
    assert snapshot.nav == D("10000000")
    assert report["nav"] == "10000000"
    assert report["concentration"]["hhi"] == "2250"
    assert report["concentration"]["hhi_third_party"] == "2888.89"
    assert report["concentration"]["effective_n"] == "4.44"
    binance = finding(report, "group", "binance")
    assert (binance["value"], binance["level"], binance["breach"]) == ("0.3", "breach", "0.25")
    [move] = report["moves"]
    assert (move["group"], move["amount"], move["share_after"]) == ("binance", "1000000", "0.2")


def test_snapshot_keeps_oldest_location_time_and_digests(tenants):
    now = timezone.now()
    locations = worked_check(tenants.fund_a, taken_at=now - timedelta(minutes=5))
    btc = AssetFactory.create(code="BTC")
    book(locations["kraken"], {btc: "20"}, taken_at=now - timedelta(minutes=1))
    snapshot = compute_exposure(portfolio_id=tenants.fund_a.pk, as_of=now)
    assert snapshot.data_as_of == now - timedelta(minutes=5)
    assert snapshot.computed_at == now
    assert len(snapshot.inputs_digest) == len(snapshot.holdings_digest) == 64


def test_only_the_latest_snapshot_of_each_location_counts(tenants):
    locations = worked_check(tenants.fund_a, taken_at=timezone.now() - timedelta(hours=1))
    book(locations["binance"], {AssetFactory.create(code="BTC"): "10"})
    snapshot = compute_exposure(portfolio_id=tenants.fund_a.pk)
    assert snapshot.nav == D("7500000")  # Binance now 0.5m instead of 3.0m


def test_wrong_way_bnb_held_on_binance(tenants):
    binance = exchange("binance")
    bnb = priced("BNB", "500", kind=AssetKind.EXCHANGE_TOKEN, issuer=binance)
    btc = priced("BTC", "50000")
    on_binance = LocationFactory.create(
        portfolio=tenants.fund_a, kind=LocationKind.EXCHANGE, custodian=binance
    )
    book(on_binance, {bnb: "100"})  # 50,000 USD of BNB on Binance
    book(SelfCustodyFactory.create(portfolio=tenants.fund_a), {btc: "19"})  # 950,000 USD
    report = compute_exposure(portfolio_id=tenants.fund_a.pk).report
    [exposure] = report["exposures"]
    assert (exposure["custody"], exposure["issuer"], exposure["overlap"], exposure["total"]) == (
        "50000",
        "50000",
        "50000",
        "50000",
    )
    [held] = report["wrong_way"]
    assert (held["asset"], held["custody_group"], held["value"]) == ("BNB", "binance", "50000")
    wrong_way = finding(report, "wrong_way", "binance")
    assert (wrong_way["value"], wrong_way["level"]) == ("0.05", "breach")  # over 1%
    token = finding(report, "exchange_token", "BNB")
    assert (token["value"], token["level"]) == ("0.05", "warn")  # 2% < 5% ≤ 5%: warn, not breach
    fraud = next(s for s in report["scenarios"] if s["name"] == "binance default (fraud)")
    assert fraud["loss"] == "50000"  # lost once, not twice


def test_same_inputs_store_one_snapshot(tenants):
    worked_check(tenants.fund_a)
    first = compute_exposure(portfolio_id=tenants.fund_a.pk)
    second = compute_exposure(portfolio_id=tenants.fund_a.pk)
    assert second.pk == first.pk
    assert ExposureSnapshot.objects.filter(portfolio=tenants.fund_a).count() == 1


def test_a_price_move_stores_a_new_snapshot(tenants):
    worked_check(tenants.fund_a)
    first = compute_exposure(portfolio_id=tenants.fund_a.pk)
    PriceFactory.create(asset=AssetFactory.create(code="BTC"), price_usd=D("60000"))
    second = compute_exposure(portfolio_id=tenants.fund_a.pk)
    assert second.pk != first.pk
    assert second.nav == D("12000000")
    assert second.holdings_digest == first.holdings_digest
    assert second.inputs_digest != first.inputs_digest


def test_a_policy_change_stores_a_new_snapshot(tenants):
    worked_check(tenants.fund_a)
    first = compute_exposure(portfolio_id=tenants.fund_a.pk)
    policy = RiskPolicy.objects.create(portfolio=tenants.fund_a, name="Fund A")
    limit = Limit(policy=policy, rule="group", warn=D("0.30"), breach=D("0.35"))
    save_limit(limit=limit, user=tenants.ada)
    second = compute_exposure(portfolio_id=tenants.fund_a.pk)
    assert second.pk != first.pk
    assert finding(second.report, "group", "binance")["level"] == "ok"


def test_crossing_a_staleness_level_stores_a_new_snapshot(tenants):
    now = timezone.now()
    worked_check(tenants.fund_a, taken_at=now)
    first = compute_exposure(portfolio_id=tenants.fund_a.pk, as_of=now)
    later = compute_exposure(portfolio_id=tenants.fund_a.pk, as_of=now + timedelta(hours=5))
    assert later.pk == first.pk  # still under the 6 h warn level: nothing new to say
    stale = compute_exposure(portfolio_id=tenants.fund_a.pk, as_of=now + timedelta(hours=7))
    assert stale.pk != first.pk
    assert {s["age_hours"] for s in stale.report["stale"]} == {"7"}


def test_unpriced_asset_is_never_zero(tenants):
    worked_check(tenants.fund_a)
    mystery = AssetFactory.create(code="MYST", kind=AssetKind.UNCLASSIFIED)
    book(SelfCustodyFactory.create(portfolio=tenants.fund_a, name="hot"), {mystery: "5"})
    report = compute_exposure(portfolio_id=tenants.fund_a.pk).report
    [unpriced] = report["unpriced"]
    assert (unpriced["asset"], unpriced["value"]) == ("MYST", None)
    assert report["nav"] == "10000000"
    assert finding(report, "unpriced_asset", "MYST")["level"] == "warn"
    assert finding(report, "unclassified_asset", "MYST")["level"] == "warn"


def test_group_map_follows_parents_several_levels_deep(db):
    top = CounterpartyFactory.create(slug="holding")
    middle = CounterpartyFactory.create(slug="regional", parent=top)
    leaf = CounterpartyFactory.create(slug="local", parent=middle)
    registry = load_registry()
    assert {registry.groups[c.pk] for c in (top, middle, leaf)} == {"holding"}
    assert top_groups({1: None, 2: 1, 3: 2, 4: 3, 5: None}) == {1: 1, 2: 1, 3: 1, 4: 1, 5: 5}


def test_positions_are_grouped_through_nested_entities(tenants):
    group = exchange("bigex")
    entity = CounterpartyFactory.create(
        slug="bigex-eu", parent=CounterpartyFactory.create(slug="bigex-intl", parent=group)
    )
    location = LocationFactory.create(
        portfolio=tenants.fund_a, kind=LocationKind.EXCHANGE, custodian=entity
    )
    book(location, {priced("BTC", "50000"): "1"})
    report = compute_exposure(portfolio_id=tenants.fund_a.pk).report
    [exposure] = report["exposures"]
    assert (exposure["group"], exposure["entities"], exposure["total"]) == (
        "bigex",
        ["bigex-eu"],
        "50000",
    )


def fill(portfolio, holdings: int) -> None:
    """``holdings`` holdings over 5 locations, every asset priced."""
    assets = [priced(f"C{n:03d}", "2") for n in range(holdings // 5)]
    for n in range(5):
        location = LocationFactory.create(
            portfolio=portfolio,
            name=f"venue {n}",
            kind=LocationKind.EXCHANGE,
            custodian=exchange(f"venue{n}"),
        )
        book(location, dict.fromkeys(assets, "1"))


@pytest.mark.parametrize("holdings", [10, 500])
def test_queries_do_not_grow_with_holdings(tenants, holdings, django_assert_max_num_queries):
    fill(tenants.fund_a, holdings)
    # A fixed number: the locked balances and the off-exchange settlements are one query each.
    with django_assert_max_num_queries(18):
        snapshot = compute_exposure(portfolio_id=tenants.fund_a.pk)
    assert snapshot.nav == D(2 * holdings)


def test_same_query_count_at_ten_and_five_hundred_holdings(tenants):
    fill(tenants.fund_a, 10)
    fill(tenants.fund_b, 500)
    counts = []
    for portfolio in (tenants.fund_a, tenants.fund_b):
        with CaptureQueriesContext(connection) as queries:
            compute_exposure(portfolio_id=portfolio.pk)
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_inputs_load_as_plain_rows(tenants):
    worked_check(tenants.fund_a)
    registry = load_registry()
    inputs = load_inputs(tenants.fund_a.pk, registry)
    assert len(inputs.holdings) == 5
    assert {a.code: a.price for a in inputs.assets.values()} == {"BTC": D("50000")}
    assert {loc.custodian for loc in inputs.locations.values()} == {
        "binance",
        "coinbase",
        "okx",
        "kraken",
        None,
    }


def test_stored_report_loads_back_into_the_engine_report(tenants):
    worked_check(tenants.fund_a)
    snapshot = compute_exposure(portfolio_id=tenants.fund_a.pk)
    report = load_report(snapshot)
    assert report.nav == D("10000000")
    assert report.exposure("binance").share == D("0.3")
    assert report.as_of == snapshot.computed_at


def test_missing_portfolio_is_no_error(db):
    assert compute_exposure(portfolio_id=PortfolioFactory.create().pk + 1000) is None


def test_nav_with_36_decimals_is_exact_in_the_report(tenants):
    tiny = priced("DUST", "0.000000000000000003")
    book(SelfCustodyFactory.create(portfolio=tenants.fund_a), {tiny: "1.000000000000000001"})
    snapshot = compute_exposure(portfolio_id=tenants.fund_a.pk)
    assert snapshot.report["nav"] == "0.000000000000000003000000000000000003"
    assert snapshot.nav == D("0.000000000000000003")  # the column keeps 18 decimals

"""The presenter: names, the worst status over every rule, the action list, every dollar."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from portfolio.models import AssetKind, CounterpartyStatus, Holding, LocationKind
from riskmodels import presenter
from riskmodels.engine import investor_view
from riskmodels.presenter import Labels, display_name, group_status
from riskmodels.reports import snapshot_report
from riskmodels.services import compute_exposure
from tests.factories import (
    AssetFactory,
    LocationFactory,
    PriceFactory,
    book,
    exchange,
    priced,
    worked_check,
)
from tests.riskmodels.test_engine_builders import BIG_FOUR, WORKED, cp, held, report

T0 = timezone.now().replace(microsecond=0)


@pytest.mark.parametrize(
    ("slug", "name", "legal", "shown"),
    [
        ("payward", "Kraken", "Payward, Inc.", "Kraken (Payward)"),
        ("binance-group", "Binance", "Binance Holdings Limited", "Binance"),
        ("fmr", "Fidelity Investments", "FMR LLC", "Fidelity Investments (FMR)"),
        ("bitgo-holdings", "BitGo", "BitGo Holdings, Inc.", "BitGo"),
        ("ifinex", "iFinex (Bitfinex)", "iFinex Inc.", "iFinex (Bitfinex)"),
        ("coinbaseexchange", "Coinbase Exchange", "Coinbase, Inc.", "Coinbase Exchange"),
        ("anchorage", "Anchorage Digital", "Anchorage Digital Bank", "Anchorage Digital"),
        ("x", "Venue", "", "Venue"),
    ],
)
def test_display_name_says_who_a_slug_is(slug, name, legal, shown):
    assert display_name(slug, name, legal) == shown


def test_group_status_is_the_worst_finding_on_the_group_or_its_entities():
    findings = [("okx", "ok"), ("binance", "warn"), ("binanceus", "breach"), ("all", "breach")]
    assert group_status("binance", ["binance", "binanceus"], findings) == "breach"
    assert group_status("okx", ["okx"], findings) == "ok"


def test_an_insolvent_counterparty_with_a_tiny_exposure_is_a_breach_row():
    rep = report([held("ftx", "1"), held(None, "9999")], [cp("ftx", status="insolvent")])
    [row] = presenter.exposure_rows(rep, Labels({"ftx": "FTX"}))
    # 0.01% of NAV is far under the group limit; the distressed rule makes it a breach.
    assert (row["name"], row["share"], row["status"]) == ("FTX", "0.0001", "breach")
    assert (row["move_to_comply"], row["blocked"]) == (None, None)  # group limit itself is met
    rows = presenter.action_rows(rep, Labels({"ftx": "FTX"}), {})
    [action] = [r for r in rows if r["rule"] == "distressed_counterparty"]
    assert (action["name"], action["amount"], action["move"], action["blocked"]) == (
        "FTX",
        "1",
        "0",
        "1",
    )
    assert action["action"] == ("1 USD is blocked (withdrawals halted or insolvent): a claim.")


def test_issuer_exposure_is_never_offered_as_a_move():
    rows = [cp("tether", kind="issuer", tier="B"), cp("kraken")]
    rep = report(
        [
            held("kraken", "3000000", asset="USDT", kind="fiat_stablecoin", issuer="tether"),
            held(None, "7000000"),
        ],
        rows,
    )
    tether = next(r for r in presenter.exposure_rows(rep, Labels()) if r["group"] == "tether")
    assert (tether["move_to_comply"], tether["convert_to_comply"]) == (None, "2000000")


def test_the_action_list_is_worst_first_with_names_and_rules_in_words():
    rep = report(WORKED, BIG_FOUR)
    rows = presenter.action_rows(rep, Labels({"binance": "Binance"}), {})
    assert [(r["level"], r["name"], r["rule_label"]) for r in rows] == [
        ("breach", "All exchanges together", "All exchange custody together"),
        ("breach", "Binance", "One counterparty group (look-through)"),
        ("breach", "Third parties together", "Third-party HHI"),
    ]
    assert rows[1]["action"] == (
        "Move 1,000,000 USD from Binance to self-custody or another custodian."
    )
    assert (rows[1]["value"], rows[1]["warn"], rows[1]["breach"]) == ("0.3", "0.2", "0.25")


def test_accounting_lists_each_liability_and_reconciles_to_nav():
    rows = [cp("binance"), cp("okx")]
    positions = [
        held("binance", "3000"),
        held("binance", "-1250.5", asset="USDT", kind="fiat_stablecoin", product="margin"),
        held("okx", "-200", product="futures"),
        held(None, "1000"),
    ]
    accounts = presenter.accounting(report(positions, rows), Labels({"binance": "Binance"}))
    assert accounts == {
        "gross_assets": "4000",
        "liabilities": [
            {"bucket": "binance", "name": "Binance", "value": "1250.5"},
            {"bucket": "okx", "name": "okx", "value": "200"},
        ],
        "liabilities_total": "1450.5",
        "nav": "2549.5",
    }


amounts = st.decimals(min_value="-1000000", max_value="1000000", places=8, allow_nan=False)


@given(a=amounts, b=amounts, c=amounts)
def test_gross_minus_liabilities_is_nav_exactly(a, b, c):
    positions = [held("binance", a), held("okx", b), held(None, c, asset="ETH")]
    rep = report(positions, [cp("binance"), cp("okx")])
    for view in (rep, investor_view(rep, D("0.37"))):
        accounts = presenter.accounting(view, Labels())
        total = sum((D(row["value"]) for row in accounts["liabilities"]), D(0))
        assert D(accounts["liabilities_total"]) == total
        assert D(accounts["gross_assets"]) - total == D(accounts["nav"])


@pytest.mark.django_db
def test_the_json_reconciles_and_lists_unpriced_holdings(tenants):
    locations = worked_check(tenants.fund_a, taken_at=T0 - timedelta(minutes=1))
    usdt = priced("USDT", "1", kind=AssetKind.FIAT_STABLECOIN)
    nope = AssetFactory.create(code="NOPE")
    PriceFactory.create(asset=nope, price_usd=None, refused_reason="no market quotes it")
    debt = Holding(asset=usdt, product="margin", amount=D("-400000"))
    unpriced = Holding(asset=nope, product="spot", amount=D("12.5"))
    for location, holding in ((locations["binance"], debt), (locations["kraken"], unpriced)):
        holding.snapshot = location.snapshots.get()
        holding.save()
    snapshot = compute_exposure(portfolio_id=tenants.fund_a.pk, as_of=T0)
    document = snapshot_report(snapshot)
    accounts = document["accounting"]
    assert accounts["liabilities"] == [{"bucket": "binance", "name": "Binance", "value": "400000"}]
    assert (accounts["gross_assets"], accounts["liabilities_total"], accounts["nav"]) == (
        "10000000",
        "400000",
        "9600000",
    )
    assert D(accounts["gross_assets"]) - D(accounts["liabilities_total"]) == D(document["nav"])
    assert document["unpriced"] == [
        {
            "asset": "NOPE",
            "amount": "12.5",
            "product": "spot",
            "location": "kraken",
            "custodian": "Kraken",
            "reason": "price refused: no market quotes it",
        }
    ]
    assert document["metrics"]["exchange_custody_share"] == decimal_share("7500000", "9600000")


def decimal_share(amount: str, nav: str) -> str | None:
    from riskmodels.engine.arith import share
    from riskmodels.presenter import decimal_text

    return decimal_text(share(D(amount), D(nav)))


@pytest.mark.django_db
def test_an_insolvent_venues_row_is_a_breach_in_the_json(tenants):
    worked_check(tenants.fund_a, taken_at=T0 - timedelta(minutes=1))
    ftx = exchange("ftx", status=CounterpartyStatus.INSOLVENT, name="FTX", legal_name="FTX Ltd")
    location = LocationFactory.create(
        portfolio=tenants.fund_a, name="ftx", kind=LocationKind.EXCHANGE, custodian=ftx
    )
    book(location, {AssetFactory.create(code="BTC"): "0.01"}, T0 - timedelta(minutes=1))
    document = snapshot_report(compute_exposure(portfolio_id=tenants.fund_a.pk, as_of=T0))
    row = next(r for r in document["exposures"] if r["group"] == "ftx")
    assert (row["name"], row["total"], row["status"]) == ("FTX", "500", "breach")
    assert document["status"] == "breach"
    action = next(a for a in document["actions"] if a["subject"] == "ftx")
    assert (action["rule"], action["amount"], action["move"], action["blocked"]) == (
        "distressed_counterparty",
        "500",
        "0",
        "500",
    )

"""The exposure report: manage.py exposure_report (JSON and CSV), and the investor's view."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from riskmodels.reports import decimal_text, report_for_user
from riskmodels.services import compute_exposure
from tests.factories import AssetFactory, PriceFactory, worked_check

pytestmark = pytest.mark.django_db
T0 = timezone.now().replace(microsecond=0)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("exposure_report", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def worked(tenants):
    worked_check(tenants.fund_a, taken_at=T0 - timedelta(minutes=1))
    return compute_exposure(portfolio_id=tenants.fund_a.pk, as_of=T0)


def test_json_keys(worked):
    document = json.loads(run("fund-a"))
    assert list(document) == [
        "nav",
        "generated_at",
        "data_as_of",
        "status",
        "actions",
        "accounting",
        "allocation",
        "exposures",
        "metrics",
        "alerts",
        "unpriced",
        "stress",
        "locked",
    ]
    assert set(document["allocation"][0]) == {"bucket", "value", "share"}
    assert list(document["exposures"][0]) == [
        "group",
        "name",
        "entities",
        "tier",
        "custody",
        "issuer",
        "overlap",
        "total",
        "share",
        "warn",
        "breach",
        "status",
        "move_to_comply",
        "convert_to_comply",
        "blocked",
    ]
    assert list(document["metrics"]) == [
        "hhi",
        "hhi_third_party",
        "effective_n",
        "top1",
        "top3",
        "large_sum",
        "exchange_custody",
        "exchange_custody_share",
        "largest_group",
        "largest_name",
        "largest_share",
    ]
    assert set(document["stress"][0]) == {"scenario", "loss", "loss_share"}


def test_json_values_of_the_worked_check(worked):
    document = json.loads(run("fund-a", "--format", "json"))
    assert document["nav"] == "10000000"
    assert document["generated_at"] == T0.isoformat()
    assert document["data_as_of"] == (T0 - timedelta(minutes=1)).isoformat()
    assert [(a["bucket"], a["value"], a["share"]) for a in document["allocation"]] == [
        ("binance", "3000000", "0.3"),
        ("self-custody", "2500000", "0.25"),
        ("coinbase", "2000000", "0.2"),
        ("okx", "1500000", "0.15"),
        ("kraken", "1000000", "0.1"),
    ]
    binance = document["exposures"][0]
    assert binance == {
        "group": "binance",
        "name": "Binance",
        "entities": ["binance"],
        "tier": "A",
        "custody": "3000000",
        "issuer": "0",
        "overlap": "0",
        "total": "3000000",
        "share": "0.3",
        "warn": "0.2",
        "breach": "0.25",
        "status": "breach",
        "move_to_comply": "1000000",
        "convert_to_comply": None,
        "blocked": None,
    }
    coinbase = document["exposures"][1]
    assert (coinbase["status"], coinbase["move_to_comply"]) == ("ok", None)
    assert document["metrics"] == {
        "hhi": "2250",
        "hhi_third_party": "2888.89",
        "effective_n": "4.44",
        "top1": "0.3",
        "top3": "0.65",
        "large_sum": "7500000",
        "exchange_custody": "7500000",
        "exchange_custody_share": "0.75",
        "largest_group": "binance",
        "largest_name": "Binance",
        "largest_share": "0.3",
    }
    base = next(s for s in document["stress"] if s["scenario"] == "binance default (base)")
    assert (base["loss"], base["loss_share"]) == ("1800000", "0.18")


def test_json_alerts_carry_their_state_and_age(worked):
    later = T0 + timedelta(hours=2)
    PriceFactory.create(asset=AssetFactory.create(code="BTC"), price_usd=D("50001"), as_of=later)
    compute_exposure(portfolio_id=worked.portfolio_id, as_of=later)
    document = json.loads(run("fund-a"))
    alert = next(a for a in document["alerts"] if a["rule"] == "group")
    assert {k: alert[k] for k in ("subject", "level", "value", "breach", "state", "cause")} == {
        "subject": "binance",
        "level": "breach",
        "value": "0.3",
        "breach": "0.25",
        "state": "open",
        "cause": "active",
    }
    assert (alert["first_seen"], alert["over_limit_hours"]) == (T0.isoformat(), "2")
    assert {a["rule"] for a in document["alerts"]} == {
        "group",
        "exchange_custody",
        "hhi_third_party",
    }


def test_csv_has_one_row_per_exposure(worked):
    rows = list(csv.DictReader(io.StringIO(run("fund-a", "--format", "csv"))))
    assert [r["group"] for r in rows] == ["binance", "coinbase", "okx", "kraken"]
    assert (rows[0]["total"], rows[0]["status"], rows[0]["move_to_comply"]) == (
        "3000000",
        "breach",
        "1000000",
    )
    assert rows[1]["move_to_comply"] == ""


def test_at_picks_the_latest_snapshot_at_or_before(worked):
    PriceFactory.create(asset=AssetFactory.create(code="BTC"), price_usd=D("60000"))
    compute_exposure(portfolio_id=worked.portfolio_id, as_of=T0 + timedelta(hours=1))
    assert json.loads(run("fund-a"))["nav"] == "12000000"
    at = (T0 + timedelta(minutes=30)).isoformat()
    assert json.loads(run("fund-a", "--at", at))["nav"] == "10000000"


def test_no_snapshot_is_a_clear_error(worked, tenants):
    with pytest.raises(CommandError, match="No exposure snapshot of fund-a at or before"):
        run("fund-a", "--at", (T0 - timedelta(days=1)).isoformat())
    with pytest.raises(CommandError, match="No exposure snapshot of fund-b"):
        run("fund-b")
    with pytest.raises(CommandError, match="No portfolio 'nope'"):
        run("nope")
    with pytest.raises(CommandError, match="not an ISO 8601"):
        run("fund-a", "--at", "yesterday")


def test_investor_sees_stake_times_every_figure(worked, tenants):
    whole = report_for_user(tenants.alice, worked)
    mine = report_for_user(tenants.bob, worked)  # 25%
    assert mine["nav"] == "2500000"
    assert [e["total"] for e in mine["exposures"]] == ["750000", "500000", "375000", "250000"]
    assert [e["share"] for e in mine["exposures"]] == [e["share"] for e in whole["exposures"]]
    assert mine["exposures"][0]["move_to_comply"] == "250000"
    assert mine["metrics"]["hhi"] == whole["metrics"]["hhi"] == "2250"
    assert mine["metrics"]["large_sum"] == "1875000"
    for theirs, ours in zip(whole["stress"], mine["stress"], strict=True):
        assert D(ours["loss"]) == D(theirs["loss"]) * D("0.25")
        assert ours["loss_share"] == theirs["loss_share"]


def test_admin_and_manager_see_the_whole_report(worked, tenants):
    assert report_for_user(tenants.ada, worked)["nav"] == "10000000"
    assert report_for_user(tenants.alice, worked)["nav"] == "10000000"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("3000000.000000000000000000"), "3000000"),
        (D("0.300000000000"), "0.3"),
        (D("0E-12"), "0"),
        (D("1E+3"), "1000"),
        (D("-0.50"), "-0.5"),
        (D("0.000000000000000000000000000000000001"), "0.000000000000000000000000000000000001"),
    ],
)
def test_decimal_text_is_exact_fixed_point(value, text):
    assert decimal_text(value) == text
    assert D(text) == value


def test_csv_marks_a_group_not_current_today_but_not_a_past_snapshot(worked, tenants):
    from portfolio.models import CustodyLocation, ExchangeAccount, SyncOutcome
    from tests.factories import SyncRunFactory

    okx = CustodyLocation.objects.get(portfolio=tenants.fund_a, name="okx")
    ExchangeAccount.objects.create(location=okx, exchange_id="okx")
    SyncRunFactory.create(
        location=okx, outcome=SyncOutcome.FAILED, finished_at=T0, error_message="OKX is down."
    )
    latest = {r["group"]: r for r in csv.DictReader(io.StringIO(run("fund-a", "--format", "csv")))}
    since = (T0 - timedelta(minutes=1)).isoformat()
    assert latest["okx"]["not_current"] == (
        f"Not current: okx since {since} (The last sync failed: OKX is down.)"
    )
    assert latest["binance"]["not_current"] == ""
    past = run("fund-a", "--format", "csv", "--at", T0.isoformat())
    assert all(r["not_current"] == "" for r in csv.DictReader(io.StringIO(past)))

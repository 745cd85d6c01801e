"""Issue 15, points 4 and 7 in Chromium: the report says what changed until its recompute
lands, "Data as of" names the newest, oldest and stale locations, and the holdings pages show
prices, values, shares and totals. Screenshots go to var/screenshots/ (i15-fresh-*)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from portfolio.models import HoldingSnapshot
from riskmodels.models import PendingChange
from riskmodels.services import compute_exposure

pytestmark = pytest.mark.browser


def banner(visitor) -> str:
    found = visitor.page.locator("#freshness-pending")
    return " ".join(found.inner_text().split()) if found.count() else ""


def test_a_manual_holding_marks_the_report_until_the_recompute(visit, site):
    alice = visit(site.alice)
    alice.visit(reverse("manual:holdings", args=["fund-a"]))
    alice.page.select_option("#id_location", label="cold (Self-custody wallet)")
    alice.page.fill("#id_asset", "BTC")
    alice.page.fill("#id_amount", "60")
    alice.page.click("form[action$='/manual/holding/'] button[type=submit]")
    alice.page.wait_for_load_state("load")
    assert "cold now holds 60 BTC." in alice.page.content()

    report = reverse("riskmodels:report", args=["fund-a"])
    alice.visit(report, shot="i15-fresh-report-recomputing")
    text = banner(alice)
    assert text.startswith("Not current: recomputing. Holdings changed at ")
    assert "by alice: figures below are from " in text and ", recomputing." in text
    assert "cold: BTC (Spot) set to 60" in text
    bob = visit(site.bob)  # the investor is told too, without who or what
    bob.visit(report, shot="i15-fresh-report-recomputing")
    assert banner(bob).startswith("Not current: recomputing. Holdings changed at ")
    assert "alice" not in banner(bob)

    compute_exposure(portfolio_id=site.fund_a.pk)  # what the queued task does
    alice.visit(report, shot="i15-fresh-report-current")
    assert banner(alice) == ""
    assert PendingChange.objects.count() == 0


def test_data_as_of_names_newest_oldest_and_stale_locations(visit, site):
    old = timezone.now() - timedelta(hours=30)
    HoldingSnapshot.objects.filter(location=site.locations["kraken"]).update(taken_at=old)
    compute_exposure(portfolio_id=site.fund_a.pk)
    alice = visit(site.alice)
    alice.visit(reverse("riskmodels:report", args=["fund-a"]), shot="i15-fresh-data-as-of")
    line = " ".join(alice.page.locator("#data-as-of").inner_text().split())
    assert line.startswith("Location data: newest ")
    assert "oldest " in line and "(kraken)" in line
    assert line.endswith("Stale older than 6 h: kraken (30.0 h).")


def test_holdings_pages_show_prices_values_shares_and_totals(visit, site):
    alice = visit(site.alice)
    alice.visit(reverse("portfolio:portfolio_detail", args=["fund-a"]), shot="i15-fresh-holdings")
    total = alice.page.locator("#holdings-total").inner_text()
    assert total == "10,000,000.00"  # 200 BTC at 50,000 USD
    row = alice.page.locator("#holdings tbody tr", has_text="binance").inner_text().split("\t")
    assert [cell.strip() for cell in row] == [
        "binance", "BTC", "Spot", "60", "50,000.00 manual", "3,000,000.00", "30.00%",
    ]  # fmt: skip
    cold = site.locations["cold"]
    alice.visit(reverse("portfolio:location_detail", args=[cold.pk]), shot="i15-fresh-location")
    assert alice.page.locator("#holdings-total").inner_text() == "2,500,000.00"
    alice.visit(reverse("manual:holdings", args=["fund-a"]), shot="i15-fresh-manual")
    assert "2,500,000.00" in alice.page.content()

    bob = visit(site.bob)  # 25% stake: his share of every amount and value
    bob.visit(reverse("portfolio:portfolio_detail", args=["fund-a"]), shot="i15-fresh-holdings")
    assert bob.page.locator("#holdings-total").inner_text() == "2,500,000.00"
    assert "3,000,000.00" not in bob.page.content()

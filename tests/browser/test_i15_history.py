"""Issue 15, points 5 and 6 in Chromium: the exposure bars and custody split, history with the
limits in force then, a date range, a past report, what changed between two reports."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from portfolio.models import Counterparty, HoldingSnapshot, Price
from riskmodels.models import Alert, ExposureSnapshot, Limit, RiskPolicy
from riskmodels.services import compute_exposure, save_limit
from tests.factories import book, priced

pytestmark = pytest.mark.browser


@pytest.fixture
def two_reports(site):
    """The site's first report moved a day back; then binance's limit raised to 30% / 40% and
    OKX grown from 30 to 70 BTC, computed again now."""
    day = timedelta(days=1)
    HoldingSnapshot.objects.update(taken_at=F("taken_at") - day)
    Price.objects.update(as_of=F("as_of") - day)
    Alert.objects.update(first_seen=F("first_seen") - day, last_seen=F("last_seen") - day)
    ExposureSnapshot.objects.update(
        computed_at=F("computed_at") - day, data_as_of=F("data_as_of") - day
    )
    first = ExposureSnapshot.objects.get(portfolio=site.fund_a)
    policy = RiskPolicy.objects.create(portfolio=site.fund_a, name="Fund A")
    limit = Limit(
        policy=policy,
        rule="group",
        counterparty=Counterparty.objects.get(slug="binance"),
        warn=D("0.30"),
        breach=D("0.40"),
    )
    save_limit(limit=limit, user=site.ada)
    book(site.locations["okx"], {priced("BTC", "50000"): "70"})
    second = compute_exposure(portfolio_id=site.fund_a.pk)
    return first, second


def _overlap(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_report_leads_with_sorted_exposure_bars_and_a_custody_split(visit, site, two_reports):
    alice = visit(site.alice)
    alice.visit(reverse("riskmodels:report", args=["fund-a"]))
    page = alice.page
    page.wait_for_selector("[data-figure=chart-exposure] .main-svg")
    page.wait_for_selector("[data-figure=chart-custody] .main-svg")
    assert page.locator("[data-figure=chart-allocation]").count() == 0  # no sunburst
    ticks = page.query_selector_all("[data-figure=chart-exposure] .ytick text")
    labels = [tick.bounding_box() or {} for tick in ticks]
    top_down = [
        t.text_content() for _, t in sorted(zip([b["y"] for b in labels], ticks, strict=True))
    ]
    assert top_down[:2] == ["Okx", "Binance"]  # 29.17% then 25%: the largest on top
    assert len(labels) >= 4
    assert not any(_overlap(a, b) for i, a in enumerate(labels) for b in labels[i + 1 :])
    kinds = page.locator("[data-figure=chart-custody] .ytick text").all_text_contents()
    assert sorted(kinds) == ["Exchange account", "Self-custody wallet"]
    assert page.locator(".main-svg a").count() == 0  # no live link in any chart
    alice.assert_clean("report")
    page.locator("[data-figure=chart-exposure]").scroll_into_view_if_needed()
    alice.screenshot("i15-exposure-bars")
    page.locator("[data-figure=chart-exposure]").screenshot(
        path=str(_shots() / "alice-i15-exposure-chart.png")
    )
    page.locator("[data-figure=chart-custody]").screenshot(
        path=str(_shots() / "alice-i15-custody-split.png")
    )


def _shots():
    from tests.browser.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def test_history_draws_the_limits_in_force_then_and_filters_dates(visit, site, two_reports):
    _, second = two_reports
    alice = visit(site.alice)
    path = reverse("riskmodels:history", args=["fund-a"])
    alice.visit(path)
    page = alice.page
    page.wait_for_selector("[data-figure=chart-share-1] .main-svg")
    assert page.locator("#past-reports tbody tr").count() == 2
    alice.screenshot("i15-history")

    today = timezone.localdate(second.computed_at).isoformat()
    page.fill("input[name=from]", today)
    page.fill("input[name=to]", today)
    page.click("#date-range button[type=submit]")
    page.wait_for_load_state("load")
    assert page.locator("#past-reports tbody tr").count() == 1
    alice.assert_clean("history in a range")

    alice.visit(path + "?from=2026-03-02&to=2026-03-01", status=400)
    assert "From must be on or before To." in page.text_content("#date-range")
    alice.screenshot("i15-history-bad-range")


def test_past_report_and_what_changed_since(visit, site, two_reports):
    first, _ = two_reports
    alice = visit(site.alice)
    alice.visit(reverse("riskmodels:history", args=["fund-a"]))
    page = alice.page
    page.click(f"a[href='{reverse('riskmodels:past_report', args=['fund-a', first.pk])}']")
    page.wait_for_selector("#past-report")
    banner = page.text_content("#past-report") or ""
    assert "Report of" in banner and "not current" in banner
    page.wait_for_selector("[data-figure=chart-exposure] .main-svg")
    alice.assert_clean("past report")
    alice.screenshot("i15-past-report")

    page.click("#past-report a:text('Changes since this report')")
    page.wait_for_selector("#position-changes")
    changes = page.text_content("#position-changes + table") or ""
    assert "okx" in changes and "changed" in changes
    opened = page.text_content("#alerts-opened + table") or ""
    assert "okx" in opened
    alice.assert_clean("since")
    alice.screenshot("i15-since")


def test_investor_opens_own_past_reports_only(visit, site, two_reports):
    first, _ = two_reports
    other = compute_exposure(portfolio_id=site.fund_b.pk)
    assert other is not None
    bob = visit(site.bob)
    bob.visit(reverse("riskmodels:past_report", args=["fund-a", first.pk]))
    assert "Your NAV" in (bob.page.text_content("main") or "")
    bob.screenshot("i15-past-report")
    bob.visit(reverse("riskmodels:past_report", args=["fund-a", other.pk]), status=404)
    bob.visit(reverse("riskmodels:past_report", args=["fund-b", other.pk]), status=404)
    bob.visit(reverse("riskmodels:since", args=["fund-a"]))
    assert bob.page.locator("#alerts-opened").count() == 0

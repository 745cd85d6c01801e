"""Issue 15, points 11, 12 and 14 in Chromium: the firm-wide page per role, every main page at
390 px without sideways scrolling, and the demo fund's report loading in under a second."""

from __future__ import annotations

import pytest
from django.urls import NoReverseMatch, reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.browser.conftest import Visitor, report_path
from tests.factories import PASSWORD, LocationFactory, book, computed_exposure, exchange, priced

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
ALL_CHARTS_DRAWN = (
    "[...document.querySelectorAll('[data-figure]')]"
    ".every(chart => chart.classList.contains('js-plotly-plot'))"
)


@pytest.fixture
def firm_site(site):
    """Fund A (the worked check, computed by `site`) and fund B with 1,000,000 at Binance."""
    location = LocationFactory.create(
        portfolio=site.fund_b, name="binance b", kind="exchange", custodian=exchange("binance")
    )
    book(location, {priced("BTC", "50000"): "20"})
    computed_exposure(site.fund_b)
    return site


def _row(visitor, group: str):
    return visitor.page.locator(f"#firm-exposures tr[data-group='{group}']")


def test_the_admin_sees_each_group_summed_over_every_fund(visit, firm_site):
    ada = visit(firm_site.ada)
    ada.visit("/")
    ada.page.click("header.top >> text=Firm")
    ada.page.wait_for_url("**/firm/")
    ada.assert_clean("firm")
    ada.screenshot("firm")
    assert ada.page.locator("#firm-nav").inner_text() == "11,000,000 USD"
    binance = _row(ada, "binance")
    assert binance.locator("td.total").inner_text() == "4,000,000"
    assert binance.locator(".badge").inner_text() == "breach"
    assert "Fund A: 3,000,000\nFund B: 1,000,000" in binance.inner_text()
    findings = ada.page.locator("#firm-findings-table tbody tr")
    first = findings.first.inner_text().split("\t")
    assert first[:2] == ["breach", "Binance"] and first[-1] == "4,000,000"
    assert ada.page.locator("#firm-not-current").count() == 0


def test_a_manager_sees_only_the_funds_granted(visit, firm_site):
    alice = visit(firm_site.alice)
    alice.visit(reverse("riskmodels:firm"), shot="firm")
    assert alice.page.locator("#firm-nav").inner_text() == "10,000,000 USD"
    assert alice.page.locator("#firm-portfolios tbody tr").count() == 1
    assert "Fund B" not in alice.page.content()


def test_an_investor_has_no_firm_page_nor_link(visit, firm_site):
    bob = visit(firm_site.bob)
    bob.visit("/")
    assert bob.page.locator("header.top >> text=Firm").count() == 0
    bob.visit(reverse("riskmodels:firm"), status=404)


def _wait_for_every_chart(visitor, seconds: int = 30) -> None:
    # Polled from here: the page's CSP refuses wait_for_function's string evaluation.
    for _ in range(seconds * 10):
        if visitor.page.evaluate(ALL_CHARTS_DRAWN):
            return
        visitor.page.wait_for_timeout(100)
    raise AssertionError(f"the charts were not all drawn within {seconds} s")


def _fits_a_phone(visitor, path: str, shot: str) -> None:
    visitor.visit(path)
    if visitor.page.locator("[data-figure]").count():  # every chart drawn (plotly marks them)
        _wait_for_every_chart(visitor)
    width = visitor.page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], (visitor.role, path, width)
    visitor.screenshot(f"390-{shot}")


def _path_if_any(name: str, *args: str) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _pages_of_other_points(slug: str) -> dict[str, str]:
    """The alerts, stress and history pages of issue 15's other points, once they exist."""
    names = {"alerts": "riskmodels:alerts", "stress": "riskmodels:stress",
             "history": "riskmodels:history"}  # fmt: skip
    paths = {shot: _path_if_any(name, slug) for shot, name in names.items()}
    return {shot: path for shot, path in paths.items() if path is not None}


def test_the_main_pages_fit_390_px(visit, firm_site):
    alice = visit(firm_site.alice)
    alice.page.set_viewport_size(PHONE)
    pages = {
        "home": "/",
        "report": report_path("fund-a"),
        "portfolio": reverse("portfolio:portfolio_detail", args=["fund-a"]),
        "location": reverse("portfolio:location_detail", args=[firm_site.account.pk]),
        "manual-holdings": reverse("manual:holdings", args=["fund-a"]),
        "account-add": reverse("sources:add_exchange_account", args=["fund-a"]),
        "firm": reverse("riskmodels:firm"),
    }
    pages |= _pages_of_other_points("fund-a")
    for shot, path in pages.items():
        _fits_a_phone(alice, path, shot)
    ada = visit(firm_site.ada)
    ada.page.set_viewport_size(PHONE)
    for shot, name in (("policy", "riskmodels:policy"),):
        if (path := _path_if_any(name)) is not None:
            _fits_a_phone(ada, path, shot)
    bob = visit(firm_site.bob)
    bob.page.set_viewport_size(PHONE)
    for shot, path in {"home": "/", "report": report_path("fund-a")}.items():
        _fits_a_phone(bob, path, shot)


def test_a_wide_table_scrolls_inside_its_box_at_390_px(visit, firm_site):
    ada = visit(firm_site.ada)
    ada.page.set_viewport_size(PHONE)
    ada.visit(reverse("riskmodels:firm"))
    box = ada.page.locator("#firm-exposures").evaluate(
        "t => [t.parentElement.scrollWidth, t.parentElement.clientWidth]"
    )
    assert box[0] > box[1]  # wider than its box, which scrolls
    assert ada.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


# The demo fund's report, first load (point 12): seeded and synced as `make demo` does.


@pytest.fixture
def demo_fund(browser, live_server, db, settings):
    from django.core.management import call_command

    from accounts.models import User
    from portfolio.models import CustodyLocation
    from portfolio.sync import SyncRequest, sync_location
    from riskmodels.services import compute_exposure
    from sandbox.demo import DEMO_SCENARIO, seed_demo
    from sandbox.emulator import run_emulator

    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    call_command("load_registry", verbosity=0)
    seed_demo()
    exchanges = CustodyLocation.objects.filter(
        portfolio__slug="aurora-fund", exchange_account__isnull=False
    )
    with run_emulator(DEMO_SCENARIO) as emulator:
        settings.EXCHANGE_EMULATOR_URL = emulator.url
        for location in exchanges:
            sync_location(SyncRequest(location.pk))
    compute_exposure(portfolio_id=exchanges[0].portfolio_id)
    manager = User.objects.get(username="manager")
    manager.set_password(PASSWORD)
    manager.save()
    TOTPDevice.objects.get_or_create(user=manager, name="phone", confirmed=True)
    return manager


NAVIGATION = """(() => {
  const n = performance.getEntriesByType("navigation")[0];
  const plotly = performance.getEntriesByType("resource")
    .find(e => e.name.includes("/plotly/plotly.min."));
  return {html: n.responseEnd - n.startTime, load: n.loadEventEnd - n.startTime,
          plotly_sent: plotly.encodedBodySize, plotly_size: plotly.decodedBodySize,
          charts_drawn: performance.now()};
})()"""


def test_the_demo_funds_report_first_loads_in_under_a_second(browser, live_server, demo_fund):
    """Navigation timing in a fresh browser (nothing cached but the login page's stylesheet):
    the page, its figures and tables load in under a second; plotly.js (4.8 MB, seconds of
    parsing on this machine) comes gzipped and only after the load event, then draws the charts."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        visitor = Visitor(context.new_page(), live_server.url, "manager")
        visitor.listen()
        visitor.log_in(demo_fund)
        visitor.visit(report_path("aurora-fund"))
        _wait_for_every_chart(visitor)
        visitor.assert_clean("demo report")
        visitor.screenshot("demo-report")
        timing = visitor.page.evaluate(NAVIGATION)
        visitor.visit(reverse("riskmodels:firm"), shot="demo-firm")  # only Aurora is synced
        assert "Borealis Opportunities: no exposure report yet" in visitor.page.inner_text(
            "#firm-not-current"
        )
    finally:
        context.close()
    print(f"demo report, first load (ms and bytes): {timing}")
    assert timing["plotly_sent"] < timing["plotly_size"] / 3  # gzip on the wire
    assert timing["load"] < 1000, timing

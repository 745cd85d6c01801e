"""The exposure report page: figures from a real compute_exposure, roles, charts, query counts."""

from __future__ import annotations

import base64
import hashlib
import re
from decimal import Decimal as D
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.db import connection
from django.template.defaultfilters import floatformat
from django.templatetags.static import static
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccessGrant, AccessLevel
from portfolio.models import Asset, Holding, LocationKind, Price
from riskmodels.models import ExposureSnapshot
from riskmodels.services import compute_exposure
from riskmodels.views import PLOTLY_STYLE_HASHES
from tests.conftest import login
from tests.factories import (
    AlertFactory,
    LocationFactory,
    PortfolioFactory,
    SnapshotFactory,
    exchange,
    grant,
    worked_check,
)

pytestmark = pytest.mark.django_db

CHART_IDS = ("chart-exposure", "chart-custody", "chart-share-0", "chart-hhi")


def report_url(slug: str = "fund-a") -> str:
    return reverse("riskmodels:report", args=[slug])


@pytest.fixture
def computed(tenants):
    """Fund A holds DESIGN's worked check, computed by the real service."""
    worked_check(tenants.fund_a)
    return compute_exposure(portfolio_id=tenants.fund_a.pk)


def text_of(response) -> str:
    """The page's visible text with whitespace collapsed, for exact phrase checks."""
    html = response.content.decode()
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def row_of(text: str, group: str) -> str:
    """The limit table row of one group, as text."""
    start = text.index("Limits by counterparty group")
    found = re.search(rf"\b{group} A .*? (ok|warn|breach) [\d,—]+", text[start:])
    assert found is not None, f"no limit row for {group}"
    return found.group(0)


def test_report_shows_the_worked_check(tenants, computed):
    response = login(tenants.alice).get(report_url())
    assert response.status_code == 200
    text = text_of(response)
    assert "NAV 10,000,000 USD" in text
    binance = row_of(text, "Binance")
    assert binance == ("Binance A 3,000,000 30.00% 20.00% 25.00% -500,000 breach 1,000,000")
    assert "HHI with self-custody 2,250" in text
    assert "HHI of third parties alone 2,889" in text
    assert "Effective number of counterparties 4.44" in text
    assert "Top 3 share 65.00%" in text


def test_report_lists_the_allocation_and_stress_losses(tenants, computed):
    text = text_of(login(tenants.alice).get(report_url()))
    assert "Self-custody 2,500,000 25.00%" in text
    stress = computed.report["scenarios"][0]
    loss = floatformat(stress["loss"], "0g")
    assert f"{stress['name']} {loss}" in text


def test_report_draws_every_chart_from_json_script(tenants, computed):
    html = login(tenants.alice).get(report_url()).content.decode()
    # By their hashed names (config.storage), which WhiteNoise caches forever; plotly.js and
    # charts.js are loaded by load_charts.js once the page has loaded.
    assert (
        f'<script src="{static("riskmodels/load_charts.js")}"'
        f' data-plotly="{static("plotly/plotly.min.js")}"'
        f' data-charts="{static("riskmodels/charts.js")}"></script>'
    ) in html
    for chart_id in CHART_IDS:
        assert f'data-figure="{chart_id}"' in html
        assert f'<script id="{chart_id}" type="application/json">' in html
    assert " style=" not in html  # the CSP allows no inline style attribute


def test_plotly_is_served_from_the_installed_package():
    found = finders.find("plotly/plotly.min.js")
    assert found and "site-packages/plotly/package_data" in found


def test_report_csp_allows_plotlys_two_style_elements_and_nothing_inline(tenants, computed):
    csp = login(tenants.alice).get(report_url())["Content-Security-Policy"]
    [style] = [d.split() for d in csp.split(";") if d.strip().startswith("style-src")]
    assert set(style[1:]) == {"'self'", *PLOTLY_STYLE_HASHES}
    assert "unsafe-inline" not in csp and "script-src 'self';" in csp + ";"


def csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_style_hashes_match_the_installed_plotly():
    """An upgraded plotly.js changes maplibre's stylesheet: this says so before a browser does."""
    script = Path(finders.find("plotly/plotly.min.js")).read_text()
    css = re.search(r"e\.id=\"[0-9a-f]{64}\",e\.textContent='((?:[^'\\]|\\.)*)'", script)
    assert css, "plotly.min.js no longer injects maplibre's CSS this way: recheck the CSP"
    assert PLOTLY_STYLE_HASHES == [csp_hash(""), csp_hash(css.group(1))]


def test_manager_sees_alerts_with_an_acknowledge_form(tenants, computed):
    alert = AlertFactory.create(portfolio=tenants.fund_a, subject="okx")
    html = login(tenants.alice).get(report_url()).content.decode()
    assert reverse("riskmodels:acknowledge_alert", args=[alert.pk]) in html
    assert reverse("riskmodels:compute_now", args=["fund-a"]) in html


def test_investor_sees_a_quarter_of_every_money_figure(tenants, computed):
    response = login(tenants.bob).get(report_url())
    text = text_of(response)
    assert "Your share: 25.00% of Fund A" in text
    assert "Your NAV 2,500,000 USD" in text
    assert "Binance A 750,000 30.00% breach" in text
    assert "Self-custody 625,000 25.00%" in text
    for scenario in computed.report["scenarios"]:
        quarter = floatformat(D(scenario["loss"]) * D("0.25"), "0g")
        assert f"{scenario['name']} {quarter}" in text
    assert "10,000,000" not in text and "3,000,000" not in text


def test_investor_page_has_no_forms_alerts_or_locations(tenants, computed):
    AlertFactory.create(portfolio=tenants.fund_a, subject="okx")
    html = login(tenants.bob).get(report_url()).content.decode()
    assert "<form" not in html.split("<main>")[1]
    assert "Acknowledge" not in html and "Compute now" not in html
    assert "Open alerts" not in html and "Sync" not in html


def test_viewer_without_stake_sees_the_whole_portfolio_read_only(tenants):
    worked_check(tenants.fund_b)
    compute_exposure(portfolio_id=tenants.fund_b.pk)
    AlertFactory.create(portfolio=tenants.fund_b, subject="okx")
    response = login(tenants.dora).get(report_url("fund-b"))
    text = text_of(response)
    assert "NAV 10,000,000 USD" in text and "Open alerts" in text
    assert "Acknowledge" not in text and "Compute now" not in text


def test_empty_state_offers_compute_now_to_managers_only(tenants):
    manager = login(tenants.alice).get(report_url()).content.decode()
    assert "No exposure report yet" in manager
    assert reverse("riskmodels:compute_now", args=["fund-a"]) in manager
    investor = login(tenants.bob).get(report_url()).content.decode()
    assert "No exposure report yet" in investor and "Compute now" not in investor


def test_compute_now_enqueues_after_commit(
    tenants, eager_celery, django_capture_on_commit_callbacks
):
    worked_check(tenants.fund_a)
    with django_capture_on_commit_callbacks() as callbacks:
        response = login(tenants.alice).post(reverse("riskmodels:compute_now", args=["fund-a"]))
    assert response.status_code == 302 and response["Location"] == report_url()
    assert not ExposureSnapshot.objects.exists()  # nothing runs before the commit
    [enqueue] = callbacks
    enqueue()
    assert ExposureSnapshot.objects.get(portfolio=tenants.fund_a).nav == D("10000000")


def assert_compute_now_enqueues_nothing(user, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = login(user).post(reverse("riskmodels:compute_now", args=["fund-a"]))
    assert response.status_code == 404
    assert callbacks == []  # nothing enqueued: the eager task would have stored a snapshot
    assert not ExposureSnapshot.objects.exists()


@pytest.mark.parametrize("who", ["bob", "charlie", "dora"])
def test_compute_now_needs_a_manage_grant(
    tenants, who, eager_celery, django_capture_on_commit_callbacks
):
    worked_check(tenants.fund_a)
    assert_compute_now_enqueues_nothing(getattr(tenants, who), django_capture_on_commit_callbacks)


def test_compute_now_refuses_a_manager_with_a_view_grant(
    tenants, eager_celery, django_capture_on_commit_callbacks
):
    AccessGrant.objects.filter(user=tenants.alice).update(level=AccessLevel.VIEW)
    worked_check(tenants.fund_a)
    assert_compute_now_enqueues_nothing(tenants.alice, django_capture_on_commit_callbacks)


def test_compute_now_is_post_only(tenants):
    response = login(tenants.alice).get(reverse("riskmodels:compute_now", args=["fund-a"]))
    assert response.status_code == 405


@pytest.mark.parametrize(
    "name", ["report", "export_holdings_csv", "export_exposures_csv", "export_pdf"]
)
@pytest.mark.parametrize("who", ["charlie", "dora"])
def test_another_tenant_gets_404_on_every_url(tenants, computed, name, who):
    response = login(getattr(tenants, who)).get(reverse(f"riskmodels:{name}", args=["fund-a"]))
    assert response.status_code == 404


def test_anonymous_is_sent_to_login(computed, client):
    response = client.get(report_url())
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def large_portfolio(slug: str, assets_per_location: int, locations: int = 5):
    """A portfolio of ``locations`` × ``assets_per_location`` priced positions, bulk-created."""
    portfolio = PortfolioFactory.create(slug=slug)
    assets = Asset.objects.bulk_create(
        Asset(code=f"{slug.upper()}{n}", kind="native") for n in range(assets_per_location)
    )
    now = timezone.now()
    Price.objects.bulk_create(
        Price(asset=a, price_usd=D("1.5"), source="manual", as_of=now) for a in assets
    )
    for n in range(locations):
        location = LocationFactory.create(
            portfolio=portfolio,
            name=f"venue {n}",
            kind=LocationKind.EXCHANGE,
            custodian=exchange(f"venue-{n}"),
        )
        snapshot = SnapshotFactory.create(location=location, taken_at=now)
        Holding.objects.bulk_create(
            Holding(snapshot=snapshot, asset=a, amount=D(n + 1)) for a in assets
        )
    compute_exposure(portfolio_id=portfolio.pk)
    return portfolio


def report_queries(client, portfolio) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(report_url(portfolio.slug))
    assert response.status_code == 200
    return len(queries)


def test_report_queries_do_not_grow_with_positions(tenants):
    small = large_portfolio("small", assets_per_location=10)  # 50 positions
    large = large_portfolio("large", assets_per_location=1000)  # 5,000 positions
    for portfolio in (small, large):
        grant(tenants.alice, portfolio, "manage")
    client = login(tenants.alice)
    report_queries(client, small)  # warm the session and the user's device
    counts = {}
    for name, portfolio in (("small", small), ("large", large)):
        cache.clear()  # first the page built from the database, then served from the cache
        counts[name] = (report_queries(client, portfolio), report_queries(client, portfolio))
    assert counts["small"] == counts["large"]
    cold, warm = counts["large"]
    # 17: the live marks of figures not current (locations, held drops, prices) cost three;
    # the names shown (counterparties, locations) two more, and the freshness banner's pending
    # changes and location data times two more: 21.
    assert cold <= 21 and warm < cold

"""History: limits in force at each point, the date range, past reports and the since page."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccessLevel
from portfolio.models import Counterparty, Price
from riskmodels.charts import limits_in_force
from riskmodels.engine.rules import Rule
from riskmodels.history import compare_reports, history_page
from riskmodels.models import Alert, Limit, RiskPolicy
from riskmodels.selectors import exposure_history
from riskmodels.services import save_limit
from tests.conftest import login
from tests.factories import book, computed_exposure, grant, priced, worked_check

pytestmark = pytest.mark.django_db

START = timezone.now().replace(microsecond=0) - timedelta(days=10)


def text_of(response) -> str:
    html = response.content.decode()
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def two_reports(tenants):
    """Fund A's worked check computed on day 0; on day 2 OKX holds 70 BTC (not 30) and the
    fund's binance limit was raised to 30% / 40% before the second compute."""
    locations = worked_check(tenants.fund_a, taken_at=START)
    Price.objects.update(as_of=START)  # the price was known then
    first = computed_exposure(tenants.fund_a, as_of=START + timedelta(minutes=1))
    policy = RiskPolicy.objects.create(portfolio=tenants.fund_a, name="Fund A")
    binance = Counterparty.objects.get(slug="binance")
    limit = Limit(
        policy=policy, rule="group", counterparty=binance, warn=D("0.30"), breach=D("0.40")
    )
    save_limit(limit=limit, user=tenants.ada)
    book(locations["okx"], {priced("BTC", "50000"): "70"}, START + timedelta(days=2))
    second = computed_exposure(tenants.fund_a, as_of=START + timedelta(days=2, minutes=1))
    return first, second


def test_history_point_uses_the_limit_in_force_then(two_reports):
    first, second = two_reports
    history = exposure_history(first.portfolio_id)
    points = limits_in_force(history, Rule.GROUP, "binance")
    assert [p.at for p in points] == [first.computed_at, second.computed_at]
    assert (points[0].warn, points[0].breach) == (D("0.2"), D("0.25"))
    assert (points[1].warn, points[1].breach) == (D("0.3"), D("0.4"))
    assert points[0].value == D("0.3")  # 3,000,000 of 10,000,000


def test_share_chart_draws_each_points_own_limit(tenants, two_reports):
    page = history_page(tenants.fund_a, stake=None)
    binance = next(c for c in page["charts"]["shares"] if c["title"] == "Binance")
    lines = {trace["name"]: trace["y"] for trace in binance["figure"]["data"]}
    assert lines["warn level then"] == [20.0, 30.0]
    assert lines["breach level then"] == [25.0, 40.0]


def test_date_range_keeps_only_reports_in_it(tenants, two_reports):
    first, second = two_reports
    day = (START + timedelta(days=2)).date().isoformat()
    url = reverse("riskmodels:history", args=["fund-a"])
    response = login(tenants.alice).get(url, {"from": day, "to": day})
    assert response.status_code == 200
    rows = response.context["history"]["rows"]
    assert [row["pk"] for row in rows] == [second.pk]
    everything = login(tenants.alice).get(url)
    assert [row["pk"] for row in everything.context["history"]["rows"]] == [second.pk, first.pk]


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"from": "2026-02-31"}, "From: enter a date between 2000-01-01 and 2100-12-31"),
        ({"to": "9999-12-31"}, "To: enter a date between 2000-01-01 and 2100-12-31."),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "From must be on or before To."),
        ({"from": "<script>"}, "From: enter a date"),
    ],
)
def test_bad_date_range_is_a_clear_error_never_a_500(tenants, two_reports, query, error):
    url = reverse("riskmodels:history", args=["fund-a"])
    response = login(tenants.alice).get(url, query)
    assert response.status_code == 400
    assert error in text_of(response)
    assert "Showing every date until the range is corrected." in text_of(response)


def test_past_report_is_labelled_not_current(tenants, two_reports):
    first, _ = two_reports
    url = reverse("riskmodels:past_report", args=["fund-a", first.pk])
    response = login(tenants.alice).get(url)
    assert response.status_code == 200
    text = text_of(response)
    date = timezone.localtime(first.computed_at).strftime("%Y-%m-%d %H:%M")
    assert f"Report of {date}" in text and "not current" in text
    assert "Okx A 1,500,000 15.00%" in text  # OKX as it was then, not its 3,500,000 now
    assert "Compute now" not in text
    custody = response.context["page"]["charts"]["custody"]["figure"]["data"]
    okx = next(trace for trace in custody if trace["name"] == "Okx")
    assert okx["x"] == [1_500_000.0, None]  # 30 BTC at the price of then; no self-custody


def test_investor_sees_past_report_through_their_stake(tenants, two_reports):
    first, _ = two_reports
    url = reverse("riskmodels:past_report", args=["fund-a", first.pk])
    text = text_of(login(tenants.bob).get(url))
    assert "Your NAV 2,500,000 USD" in text


def test_another_tenants_report_is_404(tenants, two_reports):
    first, _ = two_reports
    other = computed_exposure(tenants.fund_b)
    for user, slug, pk in (
        (tenants.charlie, "fund-b", first.pk),  # fund A's report under fund B's slug
        (tenants.charlie, "fund-a", first.pk),  # fund A itself
        (tenants.alice, "fund-a", other.pk),  # fund B's report under fund A's slug
        (tenants.dora, "fund-b", first.pk),
    ):
        url = reverse("riskmodels:past_report", args=[slug, pk])
        assert login(user).get(url).status_code == 404, (user, slug, pk)
    since = reverse("riskmodels:since", args=["fund-a"])
    response = login(tenants.alice).get(since, {"before": other.pk, "after": first.pk})
    assert response.status_code == 404


def test_since_lists_a_changed_position_and_a_newly_opened_alert(tenants, two_reports):
    first, second = two_reports
    url = reverse("riskmodels:since", args=["fund-a"])
    response = login(tenants.alice).get(url, {"before": first.pk, "after": second.pk})
    assert response.status_code == 200
    comparison = response.context["comparison"]
    okx = next(p for p in comparison.positions if p.key == ("okx", "BTC", "spot"))
    assert (okx.before, okx.after, okx.delta, okx.kind) == (D("30"), D("70"), D("40"), "changed")
    opened = [(a.rule, a.subject) for a in comparison.opened]
    assert ("group", "okx") in opened
    assert Alert.objects.get(rule="group", subject="okx").first_seen == second.computed_at
    text = text_of(response)
    assert "okx BTC spot 30 70 40 changed" in text
    okx_row = next(r for r in comparison.exposure_rows() if r["group"] == "okx")
    assert okx_row["total_delta"] == D("2000000")
    assert (okx_row["status_before"], okx_row["status_after"]) == ("ok", "breach")


def test_since_defaults_to_the_latest_and_the_one_before(tenants, two_reports):
    first, second = two_reports
    response = login(tenants.alice).get(reverse("riskmodels:since", args=["fund-a"]))
    comparison = response.context["comparison"]
    assert (comparison.before.pk, comparison.after.pk) == (first.pk, second.pk)


def test_since_in_either_order_compares_earlier_to_later(tenants, two_reports):
    first, second = two_reports
    comparison = compare_reports(tenants.fund_a, second, first, stake=None, alerts=True)
    assert comparison.nav_before == D("10000000")
    assert comparison.nav_after == D("12000000")
    assert comparison.nav_delta == D("2000000")


def test_since_bad_ids_are_a_clear_error(tenants, two_reports):
    url = reverse("riskmodels:since", args=["fund-a"])
    response = login(tenants.alice).get(url, {"before": "abc"})
    assert response.status_code == 400
    assert "Enter a whole number" in text_of(response)


def test_investor_since_hides_alerts_and_scales_positions(tenants, two_reports):
    first, second = two_reports
    url = reverse("riskmodels:since", args=["fund-a"])
    response = login(tenants.bob).get(url, {"before": first.pk, "after": second.pk})
    comparison = response.context["comparison"]
    assert comparison.opened == []
    okx = next(p for p in comparison.positions if p.key == ("okx", "BTC", "spot"))
    assert (okx.before, okx.after) == (D("7.5"), D("17.5"))
    assert "Alerts opened" not in text_of(response)


def test_viewer_of_the_fund_opens_its_history(tenants, two_reports):
    grant(tenants.dora, tenants.fund_a, AccessLevel.VIEW)
    url = reverse("riskmodels:history", args=["fund-a"])
    assert login(tenants.dora).get(url).status_code == 200
    assert login(tenants.charlie).get(url).status_code == 404


def test_history_lists_the_limit_changes_of_the_range(tenants, two_reports):
    url = reverse("riskmodels:history", args=["fund-a"])
    text = text_of(login(tenants.alice).get(url))
    assert "Fund A One counterparty group (look-through) counterparty binance Created" in text
    assert "none / none 30% / 40% ada" in text
    before = (START - timedelta(days=1)).date().isoformat()
    ranged = login(tenants.alice).get(url, {"to": before})
    assert ranged.context["policy_changes"] == []
    assert "Limit changes" not in text_of(login(tenants.bob).get(url))  # investors: no limits


def test_past_report_lists_the_alerts_live_then_with_their_figures_then(tenants, two_reports):
    first, _ = two_reports
    binance = Alert.objects.get(rule="group", subject="binance")
    assert binance.state == "resolved"  # 25% under the raised limit: resolved since
    url = reverse("riskmodels:past_report", args=["fund-a", first.pk])
    text = text_of(login(tenants.alice).get(url))
    alerts = text[text.index("Open alerts") :]
    assert "breach One counterparty group (look-through) Binance 30.00% 25.00%" in alerts
    assert "okx" not in alerts  # opened only later
    assert "Open alerts" not in text_of(login(tenants.bob).get(url))


def test_an_id_past_any_bigint_is_404_or_a_clear_error(tenants, two_reports):
    huge = 2**64
    url = reverse("riskmodels:past_report", args=["fund-a", huge])
    assert login(tenants.alice).get(url).status_code == 404
    since = reverse("riskmodels:since", args=["fund-a"])
    response = login(tenants.alice).get(since, {"before": huge})
    assert response.status_code == 400
    assert "less than or equal to" in text_of(response)


def test_investor_history_shows_their_share_of_nav(tenants, two_reports):
    url = reverse("riskmodels:history", args=["fund-a"])
    response = login(tenants.bob).get(url)
    assert [row["nav"] for row in response.context["history"]["rows"]] == [
        D("3000000"),
        D("2500000"),
    ]
    assert "chart-hhi" not in response.content.decode()  # as on the report: no HHI for investors


def test_history_page_queries_do_not_grow_with_reports(tenants, two_reports):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("riskmodels:history", args=["fund-a"])
    client = login(tenants.alice)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    before = queries()
    for hours in range(1, 6):
        book(
            Counterparty.objects.get(slug="okx").locations.get(),
            {priced("BTC", "50000"): str(70 + hours)},
            START + timedelta(days=2, hours=hours),
        )
        computed_exposure(tenants.fund_a, as_of=START + timedelta(days=2, hours=hours, minutes=1))
    assert queries() == before


def test_history_and_since_without_reports_say_so(tenants):
    client = login(tenants.charlie)
    history = client.get(reverse("riskmodels:history", args=["fund-b"]))
    assert history.status_code == 200
    assert "No report in this range." in text_of(history)
    since = client.get(reverse("riskmodels:since", args=["fund-b"]))
    assert since.status_code == 200
    assert "a comparison needs two reports of this portfolio" in text_of(since)

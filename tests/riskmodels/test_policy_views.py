"""The risk policy page: admins only, limits in percent, a preview, an audited save."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from riskmodels.models import Alert, Limit, PolicyChange, RiskPolicy
from tests.conftest import login
from tests.factories import computed_exposure, six_venues

URL = "/policy/"


def _post_data(client, url: str = URL, **changes: tuple[str, str]) -> dict[str, str]:
    """The page's form as shown, with `changes` (rule:scope -> (warn, breach)) applied."""
    formset = client.get(url).context["formset"]
    data = {
        "form-TOTAL_FORMS": str(len(formset.initial)),
        "form-INITIAL_FORMS": str(len(formset.initial)),
    }
    for index, row in enumerate(formset.initial):
        warn, breach = changes.get(f"{row['rule']}:{row['scope']}", (row["warn"], row["breach"]))
        data |= {
            f"form-{index}-rule": row["rule"],
            f"form-{index}-scope": row["scope"],
            f"form-{index}-warn": warn,
            f"form-{index}-breach": breach,
        }
    return data


def _save(client, data: dict[str, str], url: str = URL, **options):
    """Preview, then save what was previewed, as the page's two buttons do."""
    preview = client.post(url, {**data, "action": "preview"})
    fingerprint = preview.context["previewed"]
    return client.post(url, {**data, "action": "save", "previewed": fingerprint}, **options)


def _tier_a(policy: RiskPolicy | None = None) -> Limit:
    return Limit.objects.get(
        policy__portfolio=None if policy is None else policy.portfolio,
        rule="group",
        rating_tier="A",
    )


def test_url_is_the_policy_page():
    assert reverse("riskmodels:policy") == URL


@pytest.mark.parametrize("who", ["alice", "bob", "charlie", "dora"])
def test_managers_and_investors_cannot_open_the_policy_page(tenants, who):
    client = login(getattr(tenants, who))
    assert client.get(URL).status_code == 403
    assert client.get(f"/policy/{tenants.fund_a.slug}/").status_code == 403
    assert client.post(URL, {"action": "save"}).status_code == 403
    assert _tier_a().warn == Decimal("0.2")


def test_anonymous_is_sent_to_login(db, client):
    assert client.get(URL).status_code == 302


def test_admin_sees_limits_in_percent_and_hours_with_units(tenants):
    response = login(tenants.ada).get(URL)
    assert response.status_code == 200
    rows = {(r["rule"], r["scope"]): r for r in response.context["formset"].initial}
    assert (rows["group", "tier:A"]["warn"], rows["group", "tier:A"]["breach"]) == ("20", "25")
    assert rows["hhi_third_party", ""]["warn"] == "1,800"
    assert rows["stale_data", ""]["breach"] == "24"
    html = response.content.decode()
    assert "0.200000" not in html and "1800.000000" not in html
    assert "hours" in html and "points" in html


def test_preview_shows_a_status_change_for_a_portfolio_crossing_the_new_limit(tenants):
    six_venues(tenants.fund_a)
    client = login(tenants.ada)
    data = _post_data(client, **{"group:tier:A": ("5", "25")})
    response = client.post(URL, {**data, "action": "preview"})
    assert response.status_code == 200
    previews = {row["portfolio"].slug: row for row in response.context["previews"]}
    fund_a = previews["fund-a"]
    assert (fund_a["before"], fund_a["after"], fund_a["changed"]) == ("ok", "warn", True)
    binance = next(f for f in fund_a["findings"] if f["subject"] == "Binance")
    assert (binance["before"], binance["after"], binance["value"]) == ("ok", "warn", "6 %")
    assert binance["limits_after"] == "warn 5 % · breach 25 %"
    assert (previews["fund-b"]["before"], previews["fund-b"]["changed"]) == ("ok", False)
    assert 'id="save-policy"' in response.content.decode()
    assert _tier_a().warn == Decimal("0.2")  # a preview saves nothing
    assert not PolicyChange.objects.exclude(changed_by_name="migration").exists()


def test_save_stores_the_exact_fraction_and_is_audited(tenants):
    client = login(tenants.ada)
    data = _post_data(client, **{"group:tier:A": ("10", "12.5")})
    response = _save(client, data)
    assert response.status_code == 302 and response.url == URL
    limit = _tier_a()
    assert (limit.warn, limit.breach) == (Decimal("0.1"), Decimal("0.125"))
    change = PolicyChange.objects.get(changed_by=tenants.ada)
    assert (change.rule, change.scope, change.action) == ("group", "tier A", "changed")
    assert (change.old_warn, change.new_warn) == (Decimal("0.2"), Decimal("0.1"))
    event = AuditEvent.objects.get(actor=tenants.ada, action="limit_saved")
    assert event.changes == {"warn": ["0.2", "0.1"], "breach": ["0.25", "0.125"]}


def test_save_recomputes_the_exposures_after_commit(
    tenants, eager_celery, django_capture_on_commit_callbacks
):
    six_venues(tenants.fund_a)
    computed_exposure(tenants.fund_a)
    assert not Alert.objects.filter(portfolio=tenants.fund_a).exists()
    client = login(tenants.ada)
    data = _post_data(client, **{"group:tier:A": ("5", "25")})
    with django_capture_on_commit_callbacks(execute=True):
        _save(client, data)
    alerts = Alert.objects.filter(portfolio=tenants.fund_a, rule="group", level="warn")
    assert alerts.count() == 6


def test_save_of_numbers_not_previewed_previews_them_first(tenants):
    client = login(tenants.ada)
    previewed = _post_data(client, **{"group:tier:A": ("10", "12.5")})
    fingerprint = client.post(URL, {**previewed, "action": "preview"}).context["previewed"]
    edited = _post_data(client, **{"group:tier:A": ("5", "12.5")})
    response = client.post(URL, {**edited, "action": "save", "previewed": fingerprint})
    assert response.status_code == 200
    assert "Not saved yet: the limits differ from the last preview" in response.content.decode()
    assert response.context["previews"] is not None
    assert _tier_a().warn == Decimal("0.2")
    without = client.post(URL, {**previewed, "action": "save"})
    assert without.status_code == 200 and _tier_a().warn == Decimal("0.2")


def test_unchanged_save_records_nothing(tenants):
    client = login(tenants.ada)
    response = _save(client, _post_data(client), follow=True)
    assert "Nothing changed" in response.content.decode()
    assert not PolicyChange.objects.filter(changed_by=tenants.ada).exists()


@pytest.mark.parametrize(
    ("warn", "breach", "message"),
    [
        ("-1", "25", "A limit cannot be negative."),
        ("20", "120", "A share of NAV cannot be above 100 %."),
        ("30", "25", "The warn level (30 %) must not be above the breach level (25 %)."),
        ("abc", "25", "Enter a number, such as 10 or 12.5"),
        ("", "", "Set a warn level, a breach level, or both."),
    ],
)
def test_invalid_levels_give_form_errors_and_save_nothing(tenants, warn, breach, message):
    client = login(tenants.ada)
    data = _post_data(client, **{"group:tier:A": (warn, breach)})
    for action in ("preview", "save"):
        response = client.post(URL, {**data, "action": action})
        assert response.status_code == 200
        assert message in response.content.decode()
        assert response.context["previews"] is None
    assert (_tier_a().warn, _tier_a().breach) == (Decimal("0.2"), Decimal("0.25"))


def test_tampered_management_form_is_a_form_error_not_a_500(tenants):
    client = login(tenants.ada)
    response = client.post(URL, {"form-TOTAL_FORMS": "x", "action": "save"})
    assert response.status_code == 200


def test_admin_adds_a_counterparty_override_in_percent(tenants):
    six_venues(tenants.fund_a)
    client = login(tenants.ada)
    data = _post_data(client)
    index = int(data["form-TOTAL_FORMS"])
    data |= {
        "form-TOTAL_FORMS": str(index + 1),
        f"form-{index}-rule": "group",
        f"form-{index}-scope": "counterparty:binance",
        f"form-{index}-warn": "4",
        f"form-{index}-breach": "5.5",
    }
    assert _save(client, data).status_code == 302
    limit = Limit.objects.get(counterparty__slug="binance")
    assert (limit.warn, limit.breach) == (Decimal("0.04"), Decimal("0.055"))
    assert limit.policy.portfolio is None
    # Emptied again, the override is removed, and the removal recorded.
    data = _post_data(client, **{"group:counterparty:binance": ("", "")})
    assert _save(client, data).status_code == 302
    assert not Limit.objects.filter(counterparty__slug="binance").exists()
    assert PolicyChange.objects.filter(action="deleted", scope="counterparty binance").exists()


def test_portfolio_overrides_are_edited_and_previewed_for_that_portfolio_only(tenants):
    six_venues(tenants.fund_a)
    client = login(tenants.ada)
    url = f"/policy/{tenants.fund_a.slug}/"
    page = client.get(url)
    assert page.status_code == 200 and page.context["formset"].initial == []
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "0",
        "form-0-rule": "group",
        "form-0-scope": "tier:A",
        "form-0-warn": "5",
        "form-0-breach": "",
    }
    preview = client.post(url, {**data, "action": "preview"})
    assert [row["portfolio"].slug for row in preview.context["previews"]] == ["fund-a"]
    assert preview.context["previews"][0]["after"] == "warn"
    assert _save(client, data, url).status_code == 302
    limit = Limit.objects.get(policy__portfolio=tenants.fund_a)
    assert (limit.rating_tier, limit.warn, limit.breach) == ("A", Decimal("0.05"), None)
    assert _tier_a().warn == Decimal("0.2")  # the global default is untouched


def test_unknown_portfolio_policy_page_is_404(tenants):
    assert login(tenants.ada).get("/policy/no-such-fund/").status_code == 404


def test_portfolio_override_of_a_portfolio_wide_rule_is_in_its_unit(tenants):
    client = login(tenants.ada)
    url = f"/policy/{tenants.fund_a.slug}/"
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "0",
        "form-0-rule": "hhi_third_party",
        "form-0-scope": "",
        "form-0-warn": "2,000",
        "form-0-breach": "3000",
    }
    assert _save(client, data, url).status_code == 302
    limit = Limit.objects.get(policy__portfolio=tenants.fund_a)
    assert (limit.rule, limit.warn, limit.breach) == ("hhi_third_party", Decimal(2000), 3000)


def test_a_standard_row_without_a_stored_limit_shows_the_level_in_force(tenants):
    """Without its rows (a database flushed after the seed, say), the engine applies its
    defaults: the page shows those, never an empty box the admin might think is "no limit"."""
    Limit.objects.filter(policy__portfolio=None).delete()
    form = login(tenants.ada).get(URL).context["formset"]
    levels = {
        (f.initial["rule"], f.initial["scope"]): (f.initial["warn"], f.initial["breach"])
        for f in form.forms
        if f.initial
    }
    assert levels[("group", "tier:A")] == ("20", "25")
    assert levels[("exchange_custody", "")] == ("40", "50")

"""Issue 15 point 8 in Chromium: an admin edits limits in percent, previews, saves."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from riskmodels.models import Limit, PolicyChange

pytestmark = pytest.mark.browser

TIER_A = "One counterparty group (look-through), Tier A"
CUSTODY = "All exchange custody together, All"
HHI = "Third-party HHI, All"


def _fill(page, label: str, warn: str, breach: str) -> None:
    page.get_by_label(f"{label}: warn").fill(warn)
    page.get_by_label(f"{label}: breach").fill(breach)


def test_admin_edits_a_limit_previews_and_saves(visit, site):
    ada = visit(site.ada)
    ada.visit("/")
    ada.page.click("header.top >> text=Risk policy")
    ada.page.wait_for_url(ada.base_url + reverse("riskmodels:policy"))
    page = ada.page
    assert page.get_by_label(f"{TIER_A}: warn").input_value() == "20"
    assert page.get_by_label(f"{HHI}: warn").input_value() == "1,800"
    ada.screenshot("policy")

    # A wrong value: a clear error, nothing previewed.
    _fill(page, TIER_A, "abc", "40")
    page.click("button[value=preview]")
    page.wait_for_selector(".errorlist")
    assert "Enter a number" in page.text_content("#policy-form")
    assert page.query_selector("#policy-preview") is None
    ada.assert_clean("policy error")
    ada.screenshot("policy-error")

    # Fund A (Binance 30 %, exchange custody 75 %, HHI 2,888.89) is in breach; with these
    # limits nothing is over a level any more.
    _fill(page, TIER_A, "35", "40")
    _fill(page, CUSTODY, "80", "90")
    _fill(page, HHI, "3,000", "4,000")
    page.click("button[value=preview]")
    page.wait_for_selector("#policy-preview")
    fund_a = page.locator("tr.preview-row[data-portfolio=fund-a]")
    assert fund_a.locator("td").nth(1).inner_text().strip() == "breach"
    assert fund_a.locator("td").nth(2).inner_text().strip().startswith("ok")
    assert "Binance at 30 %" in fund_a.inner_text()
    assert "warn 35 % · breach 40 %" in fund_a.inner_text()
    assert Limit.objects.get(policy__portfolio=None, rule="group", rating_tier="A").warn == (
        Decimal("0.2")
    )
    ada.assert_clean("policy preview")
    ada.screenshot("policy-preview")

    page.click("#save-policy")
    page.wait_for_selector("ul.messages")
    assert "Policy saved: 3 limits changed" in page.text_content("ul.messages")
    limit = Limit.objects.get(policy__portfolio=None, rule="group", rating_tier="A")
    assert (limit.warn, limit.breach) == (Decimal("0.35"), Decimal("0.4"))
    assert PolicyChange.objects.filter(changed_by=site.ada).count() == 3
    assert page.get_by_label(f"{TIER_A}: warn").input_value() == "35"
    assert "warn 20 % · breach 25 %" in page.text_content("main")  # the recorded change
    ada.assert_clean("policy saved")
    ada.screenshot("policy-saved")


def test_manager_and_investor_are_refused_the_policy_page(visit, site):
    for user in (site.alice, site.bob):
        visitor = visit(user)
        assert "Risk policy" not in visitor.page.text_content("header.top")
        visitor.visit(reverse("riskmodels:policy"), status=403)

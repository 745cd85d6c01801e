"""Each role logs in through the real form and walks its main pages in Chromium."""

from __future__ import annotations

import pytest
from django.urls import reverse

from config.celery import app as celery_app
from portfolio.models import SyncRound
from portfolio.tasks import sync_location
from tests.browser.conftest import report_path

pytestmark = pytest.mark.browser

REPORT_MISSING = "riskmodels:report does not exist yet: the exposure report page was not checked"


def _walk_report(visitor, slug: str) -> None:
    """The exposure report with its charts drawn (plotly's SVG), or a skip while it is missing."""
    path = report_path(slug)
    if path is None:
        pytest.skip(REPORT_MISSING)
    visitor.visit(path)
    visitor.page.wait_for_selector(".main-svg")
    visitor.assert_clean(path)
    visitor.screenshot("exposure-report")


def test_admin_walks_main_pages_and_admin(visit, site):
    ada = visit(site.ada)
    ada.visit("/", shot="home")
    ada.visit(reverse("portfolio:portfolio_detail", args=["fund-a"]), shot="portfolio")
    ada.visit(reverse("portfolio:location_detail", args=[site.locations["binance"].pk]))
    ada.visit(reverse("sources:add_exchange_account", args=["fund-b"]))
    ada.visit(reverse("admin:index"), shot="admin")
    ada.visit(reverse("admin:portfolio_counterparty_changelist"), shot="admin-counterparties")
    ada.visit(reverse("admin:riskmodels_riskpolicy_changelist"))
    ada.visit(reverse("admin:accounts_user_change", args=[site.bob.pk]), shot="admin-user")
    _walk_report(ada, "fund-a")


def test_manager_walks_main_pages(visit, site):
    alice = visit(site.alice)
    alice.visit("/", shot="home")
    alice.visit(reverse("portfolio:portfolio_detail", args=["fund-a"]), shot="portfolio")
    alice.visit(reverse("portfolio:location_detail", args=[site.account.pk]), shot="location")
    alice.visit(reverse("manual:holdings", args=["fund-a"]), shot="manual-holdings")
    alice.visit(reverse("sources:add_exchange_account", args=["fund-a"]), shot="account-add")
    alice.visit(reverse("sources:edit_exchange_account", args=[site.account.pk]), shot="account")
    alice.visit(reverse("portfolio:portfolio_detail", args=["fund-b"]), status=404)
    _walk_report(alice, "fund-a")


def test_investor_walks_own_pages_and_gets_404_elsewhere(visit, site):
    bob = visit(site.bob)
    bob.visit("/", shot="home")
    page = bob.visit(reverse("portfolio:portfolio_detail", args=["fund-a"]), shot="portfolio")
    assert "Your share" in page.text()
    bob.visit(reverse("portfolio:location_detail", args=[site.locations["binance"].pk]))
    for path in (
        reverse("portfolio:portfolio_detail", args=["fund-b"]),
        reverse("manual:holdings", args=["fund-a"]),
        reverse("sources:edit_exchange_account", args=[site.account.pk]),
        report_path("fund-b") or reverse("portfolio:portfolio_detail", args=["fund-b"]),
    ):
        bob.visit(path, status=404)
    _walk_report(bob, "fund-a")


def test_manager_tests_a_connection_and_adds_an_account(visit, site, emulator):
    alice = visit(site.alice)
    alice.visit(reverse("sources:add_exchange_account", args=["fund-a"]))
    page = alice.page
    page.fill("#id_name", "Binance second")
    page.select_option("#id_exchange", "binance")
    page.fill("#id_api_key", "test-binance-key")
    page.fill("#id_secret", "test-binance-secret")
    page.click("button[name=test]")
    page.wait_for_selector(".connection-result")
    assert "balances found" in page.text_content(".connection-result")
    assert "This API key can trade" in page.text_content(".connection-result")
    assert page.input_value("#id_secret") == ""  # write-only: never sent back
    alice.assert_clean("connection test")
    alice.screenshot("connection-test")
    # The same key is already the fund's "Binance API" location: refused, in words.
    page.fill("#id_api_key", "test-binance-key")
    page.fill("#id_secret", "test-binance-secret")
    page.click("button[name=save]")
    page.wait_for_selector("text=This API key is already used by the location")
    alice.assert_clean("same key refused")
    page.select_option("#id_exchange", "kraken")
    page.fill("#id_api_key", "test-kraken-key")
    page.fill("#id_secret", "dGVzdC1rcmFrZW4tc2VjcmV0")
    page.click("button[name=save]")
    page.wait_for_selector("text=Added Binance second")
    alice.assert_clean("account added")


def test_sync_now_progress_updates_until_the_round_completes(visit, site, emulator):
    # The page's sync goes to the real broker; no worker consumes it here, so the round
    # stays at "0 of 1" until this test does the worker's part.
    alice = visit(site.alice)
    alice.visit(reverse("portfolio:portfolio_detail", args=["fund-a"]))
    alice.page.click("text=Sync now")
    alice.page.wait_for_selector("[data-sync-status-url][data-complete=false]")
    assert "0 of 1" in alice.page.text_content("[data-sync-text]")
    alice.screenshot("sync-running")
    # The worker's part, done here while the page polls: it must notice on its own and reload.
    sync_round = SyncRound.objects.get()
    for location_id in sync_round.location_ids:
        sync_location.apply(args=[location_id], kwargs={"round_id": sync_round.pk})
    celery_app.control.purge()  # the undelivered copies of those tasks
    alice.page.wait_for_selector("[data-sync-status-url][data-complete=true]")
    alice.page.wait_for_selector("text=Finished: 1 of 1")
    assert SyncRound.objects.get().completed_at is not None
    alice.assert_clean("sync progress")
    alice.screenshot("sync-finished")

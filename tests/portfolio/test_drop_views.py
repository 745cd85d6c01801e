"""What the pages say about figures that are not current, and the manager's decision on a drop."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portfolio.models import DropState, ExchangeAccount, SyncOutcome, UnconfirmedDrop
from portfolio.services import create_exchange_account
from tests.conftest import login
from tests.factories import CounterpartyFactory
from tests.portfolio.test_sync import KEYS, holdings_of, run

SPOT = "/api/v3/account"


@pytest.fixture
def held(tenants, emulator):
    """Fund A's binance account, synced once, then a read of an empty spot wallet held."""
    CounterpartyFactory.create(slug="binance", name="Binance")
    account = create_exchange_account(
        portfolio=tenants.fund_a, name="binance main", exchange_id="binance",
        credentials=KEYS["binance"],
    )  # fmt: skip
    assert run(account).outcome == SyncOutcome.SUCCESS
    emulator.add_fault("binance", SPOT, status=200, body={"balances": []})
    assert run(account).outcome == SyncOutcome.UNCONFIRMED
    return account


def drop_url(account: ExchangeAccount, action: str) -> str:
    drop = UnconfirmedDrop.objects.get(location=account.location)
    return reverse(f"portfolio:{action}_drop", args=[account.pk, drop.pk])


def test_the_location_page_shows_the_held_drop_and_the_decision_buttons(held, tenants):
    page = login(tenants.alice).get(reverse("portfolio:location_detail", args=[held.pk]))
    text = page.content.decode()
    assert "Drop of 158,250.82 USD awaiting confirmation" in text
    assert "These figures are not current." in text
    assert drop_url(held, "confirm") in text and drop_url(held, "reject") in text


def test_an_investor_sees_the_figures_marked_but_no_reason_and_no_buttons(held, tenants):
    page = login(tenants.bob).get(reverse("portfolio:location_detail", args=[held.pk]))
    text = page.content.decode()
    assert "These figures are not current." in text
    assert "awaiting confirmation" not in text
    assert drop_url(held, "confirm") not in text


def test_a_manager_confirms_from_the_page(held, tenants):
    answer = login(tenants.alice).post(drop_url(held, "confirm"))
    assert answer.status_code == 302
    assert UnconfirmedDrop.objects.get().state == DropState.CONFIRMED
    assert not [key for key in holdings_of(held) if key[1] == "spot"]


def test_a_manager_rejects_from_the_page_and_a_second_decision_is_refused(held, tenants):
    client = login(tenants.alice)
    client.post(drop_url(held, "reject"))
    assert UnconfirmedDrop.objects.get().state == DropState.REJECTED
    again = client.post(drop_url(held, "confirm"), follow=True)
    assert "This drop was already settled." in again.content.decode()
    assert UnconfirmedDrop.objects.get().state == DropState.REJECTED


@pytest.mark.parametrize("who", ["bob", "charlie"])
def test_only_the_funds_managers_may_decide(held, tenants, who):
    answer = login(getattr(tenants, who)).post(drop_url(held, "confirm"))
    assert answer.status_code == 404
    assert UnconfirmedDrop.objects.get().state == DropState.PENDING


def test_the_portfolio_page_lists_the_location_as_not_current(held, tenants):
    page = login(tenants.alice).get(reverse("portfolio:portfolio_detail", args=["fund-a"]))
    assert "Some figures are not current." in page.content.decode()


def test_the_report_marks_the_location_not_current(held, tenants):
    from riskmodels.services import compute_exposure

    compute_exposure(portfolio_id=tenants.fund_a.pk)
    page = login(tenants.alice).get(reverse("riskmodels:report", args=["fund-a"]))
    text = page.content.decode()
    assert "Some figures are not current." in text
    assert "binance main, data from" in text


def test_a_sync_alert_is_mailed_to_the_managers_and_sent_to_webhooks(
    tenants, emulator, mailoutbox, django_capture_on_commit_callbacks
):
    from riskmodels.models import SYNC_RULE, WebhookEndpoint, WebhookEvent

    tenants.alice.email = "alice@fund-a.test"
    tenants.alice.save()
    WebhookEndpoint.objects.create(
        portfolio=tenants.fund_a, url="http://127.0.0.1:9/hook", secret_encrypted="x"
    )
    CounterpartyFactory.create(slug="binance", name="Binance")
    account = create_exchange_account(
        portfolio=tenants.fund_a, name="binance main", exchange_id="binance",
        credentials=KEYS["binance"],
    )  # fmt: skip
    emulator.add_fault("binance", SPOT, status=503, body="<html>down</html>")
    with django_capture_on_commit_callbacks(execute=True):
        assert run(account).outcome == SyncOutcome.FAILED
    assert [message.to for message in mailoutbox] == [["alice@fund-a.test"]]
    assert "sync failing or unconfirmed" in mailoutbox[0].body.lower()
    event = WebhookEvent.objects.get()
    assert (event.type, event.payload["alert"]["rule"]) == ("alert.opened", SYNC_RULE)
    assert event.payload["alert"]["subject"] == str(account.pk)


def test_unknown_key_permissions_are_said_and_the_last_flags_kept(tenants, emulator):
    CounterpartyFactory.create(slug="binance", name="Binance")
    account = create_exchange_account(
        portfolio=tenants.fund_a, name="binance main", exchange_id="binance",
        credentials=KEYS["binance"],
    )  # fmt: skip
    run(account)
    emulator.add_fault("binance", "/sapi/v1/account/apiRestrictions", status=200, body={})
    assert run(account).outcome == SyncOutcome.SUCCESS
    account.refresh_from_db()
    assert account.key_permissions == {"read": True, "trade": True, "withdraw": False}
    page = login(tenants.alice).get(reverse("portfolio:location_detail", args=[account.pk]))
    text = page.content.decode()
    assert "Key permissions unknown: Binance&#x27;s answer about the key&#x27;s permissions" in text
    assert "This API key can trade." in text  # the warning stays, from the last known flags
    run(account)  # readable again: the mark goes
    account.refresh_from_db()
    assert account.key_permissions_problem == ""


def test_a_price_older_than_allowed_is_marked_on_the_report(held, tenants, settings):
    from datetime import timedelta

    from django.core.cache import cache
    from django.utils import timezone

    from portfolio.models import Price
    from riskmodels.services import compute_exposure

    Price.objects.filter(asset__code="BNB").update(as_of=timezone.now() - timedelta(hours=25))
    compute_exposure(portfolio_id=tenants.fund_a.pk)
    client = login(tenants.alice)
    text = client.get(reverse("riskmodels:report", args=["fund-a"])).content.decode()
    assert "Prices not current:" in text and "BNB (700.07 USD from" in text
    settings.PRICE_STALE_HOURS = 48
    cache.clear()  # the notes are kept a few minutes per page version
    assert (
        "Prices not current:"
        not in client.get(reverse("riskmodels:report", args=["fund-a"])).content.decode()
    )

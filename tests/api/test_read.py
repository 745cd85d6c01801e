"""Every read endpoint for each role: scoped as the pages are, investors see their stake."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from portfolio.models import SyncOutcome
from tests.api.conftest import bearer
from tests.factories import AlertFactory, ExchangeAccountFactory, SyncRunFactory


def get(client, name, **kwargs):
    return client.get(reverse(f"api:{name}", kwargs=kwargs or None))


def test_anonymous_requests_get_401_with_a_bearer_challenge(world):
    response = get(APIClient(), "portfolio-list")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("user", "slugs"),
    [
        ("ada", ["fund-a", "fund-b"]),
        ("alice", ["fund-a"]),
        ("bob", ["fund-a"]),
        ("dora", ["fund-b"]),
    ],
)
def test_portfolio_list_is_scoped_to_the_user(world, user, slugs):
    response = get(bearer(getattr(world.tenants, user)), "portfolio-list")
    assert response.status_code == 200
    assert [p["slug"] for p in response.json()["results"]] == slugs


def test_portfolio_shows_the_investors_stake_and_manage_right(world):
    bob = get(bearer(world.tenants.bob), "portfolio-detail", slug="fund-a").json()
    alice = get(bearer(world.tenants.alice), "portfolio-detail", slug="fund-a").json()
    assert (bob["stake"], bob["can_manage"]) == ("0.25", False)
    assert (alice["stake"], alice["can_manage"]) == (None, True)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("portfolio-detail", lambda w: {"slug": "fund-b"}),
        ("location-list", lambda w: {"slug": "fund-b"}),
        ("location-detail", lambda w: {"pk": w.locations_b["binance"].pk}),
        ("holding-list", lambda w: {"slug": "fund-b"}),
        ("exposure-list", lambda w: {"slug": "fund-b"}),
        ("exposure-latest", lambda w: {"slug": "fund-b"}),
        ("exposure-detail", lambda w: {"pk": w.exposure_b.pk}),
        ("stress", lambda w: {"slug": "fund-b"}),
        ("alert-detail", lambda w: {"pk": AlertFactory.create(portfolio=w.tenants.fund_b).pk}),
        ("webhook-list", lambda w: {"slug": "fund-b"}),
    ],
)
@pytest.mark.parametrize("user", ["alice", "bob"])
def test_another_tenants_objects_are_404(world, name, kwargs, user):
    response = get(bearer(getattr(world.tenants, user)), name, **kwargs(world))
    assert response.status_code == 404


def test_another_tenants_alerts_are_not_listed(world):
    AlertFactory.create(portfolio=world.tenants.fund_b)
    mine = AlertFactory.create(portfolio=world.tenants.fund_a)
    response = get(bearer(world.tenants.alice), "alert-list")
    ids = [a["id"] for a in response.json()["results"]]
    assert mine.pk in ids
    assert all(a["portfolio"] == "fund-a" for a in response.json()["results"])


def test_manager_sees_whole_figures(world):
    client = bearer(world.tenants.alice)
    latest = get(client, "exposure-latest", slug="fund-a").json()
    assert latest["stake"] is None
    assert latest["report"]["nav"] == "10000000"
    binance = next(e for e in latest["report"]["exposures"] if e["group"] == "binance")
    assert (binance["total"], binance["share"]) == ("3000000", "0.3")


def test_investor_sees_stake_scaled_figures(world):
    client = bearer(world.tenants.bob)
    latest = get(client, "exposure-latest", slug="fund-a").json()
    assert latest["stake"] == "0.25"
    assert latest["report"]["nav"] == "2500000"
    binance = next(e for e in latest["report"]["exposures"] if e["group"] == "binance")
    assert (binance["total"], binance["share"]) == ("750000", "0.3")
    history = get(client, "exposure-list", slug="fund-a").json()["results"]
    assert [row["nav"] for row in history] == ["2500000"]
    detail = get(client, "exposure-detail", pk=world.exposure_a.pk).json()
    assert detail["report"] == latest["report"]


def test_investor_holdings_are_their_share(world):
    bob = get(bearer(world.tenants.bob), "holding-list", slug="fund-a").json()["results"]
    alice = get(bearer(world.tenants.alice), "holding-list", slug="fund-a").json()["results"]
    binance_bob = next(row for row in bob if row["location"] == "binance")
    binance_alice = next(row for row in alice if row["location"] == "binance")
    assert (binance_bob["amount"], binance_bob["value"]) == ("15", "750000")
    assert (binance_alice["amount"], binance_alice["value"]) == ("60", "3000000")
    assert binance_bob["price"] == "50000"


def test_investor_stress_losses_are_their_share(world):
    bob = get(bearer(world.tenants.bob), "stress", slug="fund-a").json()
    ada = get(bearer(world.tenants.ada), "stress", slug="fund-a").json()
    assert (bob["nav"], ada["nav"]) == ("2500000", "10000000")
    assert len(bob["results"]) == len(ada["results"]) > 0
    for mine, whole in zip(bob["results"], ada["results"], strict=True):
        assert mine["scenario"] == whole["scenario"]
        assert Decimal(mine["loss"]) == Decimal(whole["loss"]) * Decimal("0.25")
        assert mine["loss_share"] == whole["loss_share"]


def test_locations_show_sync_errors_only_to_those_who_see_the_fund_whole(world):
    SyncRunFactory.create(
        location=world.locations_a["binance"],
        outcome=SyncOutcome.FAILED,
        error_message="binance said no",
    )
    alice = get(bearer(world.tenants.alice), "location-list", slug="fund-a").json()["results"]
    bob = get(bearer(world.tenants.bob), "location-list", slug="fund-a").json()["results"]
    assert next(row for row in alice if row["name"] == "binance")["last_error"] == "binance said no"
    assert all("last_error" not in row and "last_outcome" not in row for row in bob)
    pk = world.locations_a["binance"].pk
    assert "last_error" not in get(bearer(world.tenants.bob), "location-detail", pk=pk).json()
    assert (
        get(bearer(world.tenants.alice), "location-detail", pk=pk).json()["last_outcome"]
        == "failed"
    )


def test_no_response_carries_a_credential_field(world):
    from portfolio.services import create_exchange_account
    from tests.portfolio.test_sync import KEYS

    account = create_exchange_account(
        portfolio=world.tenants.fund_a,
        name="Binance main",
        exchange_id="binance",
        credentials=KEYS["binance"],
    )
    client = bearer(world.tenants.ada)
    texts = [
        get(client, "location-list", slug="fund-a").content,
        get(client, "location-detail", pk=account.location.pk).content,
    ]
    secrets = [value for value in KEYS["binance"].values() if value]
    for text in texts:
        assert b"credential" not in text
        assert not any(secret.encode() in text for secret in secrets)


def test_latest_exposure_is_404_before_the_first_report(tenants):
    assert get(bearer(tenants.alice), "exposure-latest", slug="fund-a").status_code == 404
    assert get(bearer(tenants.alice), "stress", slug="fund-a").status_code == 404


def test_lists_are_paginated(world):
    response = get(bearer(world.tenants.alice), "holding-list", slug="fund-a")
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 5
    page = bearer(world.tenants.alice).get(
        reverse("api:holding-list", kwargs={"slug": "fund-a"}) + "?page_size=2"
    )
    assert len(page.json()["results"]) == 2 and page.json()["next"]


def test_investors_with_a_stake_do_not_see_who_acknowledged(world):
    from riskmodels.services import acknowledge_alert

    alert = AlertFactory.create(portfolio=world.tenants.fund_a)
    acknowledge_alert(alert=alert, user=world.tenants.alice, reason="moving funds")
    bob = get(bearer(world.tenants.bob), "alert-detail", pk=alert.pk).json()
    alice = get(bearer(world.tenants.alice), "alert-detail", pk=alert.pk).json()
    assert (bob["state"], bob["acknowledged_by"], bob["acknowledge_reason"]) == (
        "acknowledged",
        None,
        "",
    )
    assert (alice["acknowledged_by"], alice["acknowledge_reason"]) == ("alice", "moving funds")


def test_a_location_whose_figures_are_not_current_says_why(world):
    account = ExchangeAccountFactory.create(location__portfolio=world.tenants.fund_a)
    SyncRunFactory.create(
        location=account.location, outcome=SyncOutcome.FAILED, error_message="binance said no"
    )
    alice = bearer(world.tenants.alice)
    rows = get(alice, "location-list", slug="fund-a").json()["results"]
    marks = {row["id"]: row["not_current"] for row in rows}
    assert marks.pop(account.pk) == "The last sync failed: binance said no"
    assert set(marks.values()) == {None}  # the others are current
    one = get(alice, "location-detail", pk=account.pk).json()
    assert one["not_current"] == "The last sync failed: binance said no"

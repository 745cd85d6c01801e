"""Off-exchange settlement: the collateral leg counts against the custodian, the unsettled profit
against the exchange; set on the account page by a manager, audited."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditAction, AuditEvent
from portfolio.models import OffExchangeSettlement, SettlementNetwork
from portfolio.services import save_off_exchange_settlement
from riskmodels.reports import report_for_user
from tests.conftest import login
from tests.factories import (
    CounterpartyFactory,
    ExchangeAccountFactory,
    book,
    computed_exposure,
    exchange,
    priced,
)

D = Decimal


@pytest.fixture
def settled(tenants):
    """Binance account settled through Copper ClearLoop every 24 h, last at 00:00 today."""
    account = ExchangeAccountFactory.create(
        location__portfolio=tenants.fund_a, location__custodian=exchange("binance")
    )
    copper = CounterpartyFactory.create(slug="copper", kind="custodian")
    midnight = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    save_off_exchange_settlement(
        account=account,
        network=SettlementNetwork.CLEARLOOP,
        custodian=copper,
        interval_hours=24,
        settled_at=midnight - timedelta(days=3),
        actor=tenants.alice,
    )
    return account, midnight


def legs(snapshot):
    return {row["bucket"]: D(row["value"]) for row in snapshot.report["allocation"]}


def exposures(document):
    return {row["group"]: (D(row["custody"]), row["total"]) for row in document["exposures"]}


def test_profit_since_the_last_settlement_is_owed_by_the_exchange(settled, tenants):
    account, midnight = settled
    btc = priced("BTC", "50000")
    book(account.location, {btc: "10"}, taken_at=midnight - timedelta(hours=1))  # settled: 10
    book(account.location, {btc: "12"}, taken_at=timezone.now())  # 2 BTC of profit since
    snapshot = computed_exposure(tenants.fund_a)
    assert legs(snapshot) == {"copper": D("500000"), "binance": D("100000")}
    document = report_for_user(tenants.alice, snapshot)
    assert exposures(document)["copper"][0] == D("500000")
    assert exposures(document)["binance"][0] == D("100000")


def test_a_loss_since_the_last_settlement_leaves_only_collateral(settled, tenants):
    account, midnight = settled
    btc = priced("BTC", "50000")
    book(account.location, {btc: "10"}, taken_at=midnight - timedelta(hours=1))
    book(account.location, {btc: "8"}, taken_at=timezone.now())
    assert legs(computed_exposure(tenants.fund_a)) == {"copper": D("400000")}


def test_an_asset_bought_since_the_settlement_is_at_the_exchange(settled, tenants):
    account, midnight = settled
    btc, eth = priced("BTC", "50000"), priced("ETH", "2000")
    book(account.location, {btc: "10"}, taken_at=midnight - timedelta(hours=1))
    book(account.location, {btc: "9", eth: "25"}, taken_at=timezone.now())
    assert legs(computed_exposure(tenants.fund_a)) == {
        "copper": D("450000"),
        "binance": D("50000"),
    }


def test_without_a_snapshot_at_a_settlement_nothing_is_taken_as_secured(settled, tenants):
    account, _ = settled
    btc = priced("BTC", "50000")
    book(account.location, {btc: "10"}, taken_at=timezone.now())  # the first read is after it
    assert legs(computed_exposure(tenants.fund_a)) == {"binance": D("500000")}


def test_the_next_settlement_moves_the_profit_to_the_custodian(settled, tenants):
    account, midnight = settled
    btc = priced("BTC", "50000")
    book(account.location, {btc: "10"}, taken_at=midnight - timedelta(hours=1))
    book(account.location, {btc: "12"}, taken_at=midnight + timedelta(hours=1))
    tomorrow = midnight + timedelta(days=1, minutes=5)
    later = computed_exposure(tenants.fund_a, as_of=tomorrow)
    assert legs(later) == {"copper": D("600000")}


def test_a_manager_sets_it_on_the_account_page_audited(tenants):
    account = ExchangeAccountFactory.create(location__portfolio=tenants.fund_a)
    CounterpartyFactory.create(slug="ceffu", name="Ceffu", kind="custodian")
    client = login(tenants.alice)
    url = reverse("sources:save_settlement", args=[account.pk])
    response = client.post(
        url,
        {"network": "mirrorx", "custodian": CounterpartyFactory.create(slug="ceffu").pk,
         "interval_hours": "8", "settled_at": "2026-11-30T00:00"},
    )  # fmt: skip
    assert response.status_code == 302
    saved = OffExchangeSettlement.objects.get(pk=account.pk)
    assert (saved.network, saved.custodian.slug, saved.interval_hours) == ("mirrorx", "ceffu", 8)
    event = AuditEvent.objects.get(action=AuditAction.SETTLEMENT_SAVED)
    assert event.actor == tenants.alice
    assert event.changes["custodian"] == [None, "ceffu"]
    page = client.get(reverse("sources:edit_exchange_account", args=[account.pk])).content
    assert "settled every 8 h" in page.decode()


def test_an_interval_out_of_range_is_a_form_error_not_a_500(tenants):
    account = ExchangeAccountFactory.create(location__portfolio=tenants.fund_a)
    custodian = CounterpartyFactory.create(slug="copper", kind="custodian")
    response = login(tenants.alice).post(
        reverse("sources:save_settlement", args=[account.pk]),
        {"network": "clearloop", "custodian": custodian.pk, "interval_hours": "0",
         "settled_at": "not a date"},
    )  # fmt: skip
    assert response.status_code == 400
    assert not OffExchangeSettlement.objects.exists()


def test_only_a_manager_of_the_portfolio_may_set_it(tenants):
    account = ExchangeAccountFactory.create(location__portfolio=tenants.fund_a)
    custodian = CounterpartyFactory.create(slug="copper", kind="custodian")
    data = {"network": "clearloop", "custodian": custodian.pk, "interval_hours": "24",
            "settled_at": "2026-11-30T00:00"}  # fmt: skip
    for user in (tenants.bob, tenants.charlie, tenants.dora):
        response = login(user).post(reverse("sources:save_settlement", args=[account.pk]), data)
        assert response.status_code == 404, user.username
    assert not OffExchangeSettlement.objects.exists()

"""Locked earn and staking end to end: stored with the snapshot, in the report, the API's
document, the page, and an investor's stake-scaled view; a held read keeps its locks."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from portfolio.exchanges import FetchedBalance, Lock
from portfolio.models import HoldingLock, LocationKind
from portfolio.sync import balance_of, held_row, store_read_snapshot
from riskmodels.reports import report_for_user
from tests.conftest import login
from tests.factories import (
    LocationFactory,
    SyncRunFactory,
    book,
    computed_exposure,
    exchange,
    priced,
)

D = Decimal


def staked_at_kraken(portfolio):
    eth = priced("ETH", "2000")
    location = LocationFactory.create(
        portfolio=portfolio,
        name="kraken main",
        kind=LocationKind.EXCHANGE,
        custodian=exchange("kraken"),
    )
    snapshot = book(location, {eth: "10"}, product="staking")
    now = timezone.now()
    HoldingLock.objects.create(
        snapshot=snapshot,
        asset=eth,
        product="staking",
        amount=D("4"),
        unlocks_at=now + timedelta(days=3),
    )
    HoldingLock.objects.create(
        snapshot=snapshot,
        asset=eth,
        product="staking",
        amount=D("2.5"),
        unlocks_at=now + timedelta(days=20),
    )
    HoldingLock.objects.create(
        snapshot=snapshot,
        asset=eth,
        product="staking",
        amount=D("1"),
        unlocks_at=now + timedelta(days=60),
    )
    return location


def test_the_report_shows_the_value_locked_beyond_7_and_30_days_per_group(tenants):
    staked_at_kraken(tenants.fund_a)
    snapshot = computed_exposure(tenants.fund_a)
    document = report_for_user(tenants.alice, snapshot)
    # 2.5 + 1 ETH beyond a week = 7,000 USD; 1 ETH beyond a month = 2,000 USD.
    assert document["locked"] == [
        {"group": "kraken", "beyond_7d": "7000", "beyond_30d": "2000", "unpriced": 0}
    ]
    html = login(tenants.alice).get(reverse("riskmodels:report", args=["fund-a"])).content.decode()
    assert "Locked: cannot be withdrawn soon" in html
    assert "7,000" in html and "2,000" in html


def test_an_investor_sees_the_locked_value_times_the_stake(tenants):
    staked_at_kraken(tenants.fund_a)
    snapshot = computed_exposure(tenants.fund_a)
    document = report_for_user(tenants.bob, snapshot)  # bob holds 25% of fund A
    assert document["locked"] == [
        {"group": "kraken", "beyond_7d": "1750", "beyond_30d": "500", "unpriced": 0}
    ]


def test_a_lock_ending_recomputes_the_report_though_nothing_else_changed(tenants):
    staked_at_kraken(tenants.fund_a)
    first = computed_exposure(tenants.fund_a)
    later = computed_exposure(tenants.fund_a, as_of=timezone.now() + timedelta(days=25))
    assert later.pk != first.pk
    assert later.report["locked"][0]["beyond_7d"] == "2000"


def test_a_held_read_keeps_its_locks_when_confirmed(tenants):
    location = LocationFactory.create(
        portfolio=tenants.fund_a, kind=LocationKind.EXCHANGE, custodian=exchange("kraken")
    )
    priced("DOT", "5")
    until = (timezone.now() + timedelta(days=28)).replace(microsecond=0)
    balance = FetchedBalance("DOT.S", "DOT", "staking", D("100"), (Lock(D("40"), until),))
    assert balance_of(held_row(balance)) == balance
    run = SyncRunFactory.create(location=location)
    snapshot = store_read_snapshot(run, [held_row(balance)], taken_at=timezone.now())
    assert list(snapshot.locks.values_list("asset__code", "product", "amount", "unlocks_at")) == [
        ("DOT", "staking", D("40"), until)
    ]


def test_a_row_held_before_locks_were_kept_still_reads():
    assert balance_of(["BTC", "spot", "1.5", "XXBT"]) == FetchedBalance(
        "XXBT", "BTC", "spot", D("1.5")
    )


def test_locks_beyond_the_balance_or_without_a_zone_are_a_malformed_answer():
    from portfolio.sync import storable_problem

    until = timezone.now() + timedelta(days=9)
    over = FetchedBalance(
        "ETH", "ETH", "earn", D("1"), (Lock(D("0.6"), until), Lock(D("0.5"), until))
    )
    naive = FetchedBalance(
        "ETH", "ETH", "earn", D("1"), (Lock(D("0.5"), until.replace(tzinfo=None)),)
    )
    assert storable_problem(over) == "locked amounts of ETH exceed its balance 1"
    assert storable_problem(naive) == "lock end date of ETH has no time zone"
    assert (
        storable_problem(FetchedBalance("ETH", "ETH", "earn", D("1"), (Lock(D("1"), until),))) == ""
    )

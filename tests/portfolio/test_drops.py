"""Large drops wait for a second read or a manager: against the emulator, real ccxt, real DB."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import AuditAction, AuditEvent, Role
from portfolio import drops
from portfolio.drops import Drop, agrees, find_drop
from portfolio.models import DropState, HoldingSnapshot, SyncOutcome, UnconfirmedDrop
from riskmodels.models import SYNC_RULE, Alert, AlertLevel, AlertState
from tests.factories import UserFactory
from tests.portfolio.test_sync import holdings_of, make_account, run

SPOT = "/api/v3/account"
# binance's spot wallet in the test scenario at the test prices: 1.5 BTC x 100,000 (BTC/USD on
# kraken) + 1,250 USDT x 1.0001 (USDT/USD on kraken) + 10 BNB x 700 x 1.0001 (BNB/USDT).
SPOT_USD = Decimal("158250.825")
PRICES = {"BTC": Decimal(100), "USD": Decimal(1)}


@pytest.fixture
def binance(db, emulator):
    account = make_account("binance")
    assert run(account).outcome == SyncOutcome.SUCCESS
    return account


def empty_spot(emulator, times: int | None = 1) -> None:
    emulator.add_fault("binance", SPOT, status=200, body={"balances": []}, times=times)


def sync_alert(account) -> Alert | None:
    return Alert.objects.filter(rule=SYNC_RULE, subject=str(account.pk)).order_by("-pk").first()


def test_an_empty_answer_is_held_and_the_confirmed_holdings_stay(binance, emulator):
    before = holdings_of(binance)
    empty_spot(emulator)
    held = run(binance)
    assert held.outcome == SyncOutcome.UNCONFIRMED
    assert held.error_message.startswith(f"Drop of {SPOT_USD:,.2f} USD awaiting confirmation")
    assert holdings_of(binance) == before
    assert HoldingSnapshot.objects.filter(location=binance.location).count() == 1
    drop = UnconfirmedDrop.objects.get()
    assert (drop.state, drop.drop_usd) == (DropState.PENDING, SPOT_USD)
    assert drop.detail == f"spot wallet {SPOT_USD:,.2f} → 0.00 USD"


def test_a_held_drop_opens_a_warn_alert_that_the_next_good_read_resolves(binance, emulator):
    empty_spot(emulator)
    run(binance)
    alert = sync_alert(binance)
    assert alert is not None
    assert (alert.level, alert.state) == (AlertLevel.WARN, AlertState.OPEN)
    second = run(binance)  # the fault is gone: the drop was not real
    assert second.outcome == SyncOutcome.SUCCESS
    assert UnconfirmedDrop.objects.get().state == DropState.SUPERSEDED
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED
    assert holdings_of(binance)[("BTC", "spot")] == Decimal("1.5")


def test_a_second_read_that_agrees_confirms_the_drop(binance, emulator):
    empty_spot(emulator, times=None)  # the money really left the spot wallet
    run(binance)
    confirmed = run(binance)
    assert confirmed.outcome == SyncOutcome.SUCCESS
    drop = UnconfirmedDrop.objects.get()
    assert drop.state == DropState.CONFIRMED
    assert drop.snapshot == HoldingSnapshot.objects.get(sync_run=confirmed)
    assert not [key for key in holdings_of(binance) if key[1] == "spot"]
    assert sync_alert(binance).state == AlertState.RESOLVED


def test_a_second_drop_that_differs_replaces_the_first(binance, emulator):
    empty_spot(emulator)
    run(binance)
    emulator.add_fault("binance", "/sapi/v1/asset/get-funding-asset", status=200, body=[])
    emulator.add_fault("binance", SPOT, status=200, body={"balances": []})
    again = run(binance)
    assert again.outcome == SyncOutcome.UNCONFIRMED
    states = list(UnconfirmedDrop.objects.order_by("pk").values_list("state", flat=True))
    assert states == [DropState.SUPERSEDED, DropState.PENDING]


def test_a_small_change_is_stored_at_once(binance, emulator):
    emulator.set_balance("binance", "test-binance-key", "spot", "BTC", "1.4")
    assert run(binance).outcome == SyncOutcome.SUCCESS
    assert holdings_of(binance)[("BTC", "spot")] == Decimal("1.4")
    assert not UnconfirmedDrop.objects.exists()


def test_a_manager_confirms_a_drop_and_it_is_audited(binance, emulator):
    empty_spot(emulator)
    run(binance)
    manager = UserFactory.create(role=Role.MANAGER)
    snapshot = drops.confirm_drop(drop=UnconfirmedDrop.objects.get(), user=manager)
    assert HoldingSnapshot.objects.filter(location=binance.location).latest() == snapshot
    assert not [key for key in holdings_of(binance) if key[1] == "spot"]
    drop = UnconfirmedDrop.objects.get()
    assert (drop.state, drop.decided_by) == (DropState.CONFIRMED, manager)
    event = AuditEvent.objects.get(action=AuditAction.DROP_CONFIRMED)
    assert event.actor == manager
    assert event.changes["state"] == ["pending", "confirmed"]
    assert sync_alert(binance).state == AlertState.RESOLVED


def test_a_manager_rejects_a_drop_and_the_holdings_stay(binance, emulator):
    before = holdings_of(binance)
    empty_spot(emulator)
    run(binance)
    manager = UserFactory.create(role=Role.MANAGER)
    drops.reject_drop(drop=UnconfirmedDrop.objects.get(), user=manager)
    assert holdings_of(binance) == before
    assert UnconfirmedDrop.objects.get().state == DropState.REJECTED
    assert AuditEvent.objects.get(action=AuditAction.DROP_REJECTED).actor == manager


def test_the_second_read_is_started_once_when_it_is_due(
    binance, emulator, eager_celery, django_capture_on_commit_callbacks
):
    empty_spot(emulator)
    run(binance)
    drop = UnconfirmedDrop.objects.get()
    assert drops.dispatch_due_rereads(now=drop.found_at) == 0  # not due yet
    later = drop.reread_due_at + timedelta(seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert drops.dispatch_due_rereads(now=later) == 1
    assert drops.dispatch_due_rereads(now=later) == 0  # claimed: never twice
    drop.refresh_from_db()
    assert drop.state == DropState.SUPERSEDED  # the eager round read the real balances


def test_a_failed_sync_opens_a_warn_alert_and_a_good_one_resolves_it(binance, emulator):
    emulator.add_fault("binance", SPOT, status=503, body="<html>down</html>")
    failed = run(binance)
    assert failed.outcome == SyncOutcome.FAILED
    alert = sync_alert(binance)
    assert (alert.level, alert.state, alert.threshold) == (AlertLevel.WARN, "open", 0)
    assert run(binance).outcome == SyncOutcome.SUCCESS
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED


def test_failing_longer_than_the_staleness_breach_level_is_a_breach(binance, emulator):
    day_ago = timezone.now() - timedelta(hours=25)
    HoldingSnapshot.objects.filter(location=binance.location).update(taken_at=day_ago)
    emulator.add_fault("binance", SPOT, status=503, body="<html>down</html>")
    run(binance)
    alert = sync_alert(binance)
    assert (alert.level, alert.threshold) == (AlertLevel.BREACH, Decimal(24))
    assert Decimal(25) <= alert.value < Decimal(26)


def test_rejected_credentials_are_a_breach_at_once(binance, emulator):
    emulator.add_fault("binance", SPOT, status=401, body={"code": -2015, "msg": "Invalid API-key."})
    run(binance)
    assert sync_alert(binance).level == AlertLevel.BREACH


# ----------------------------------------------------------------------------- pure rules


def test_find_drop_measures_each_wallet_at_the_same_prices():
    before = [("BTC", "spot", Decimal(10)), ("BTC", "earn", Decimal(10))]
    after = [("BTC", "spot", Decimal(4)), ("BTC", "earn", Decimal(10))]
    # The location lost 30%, the spot wallet 60%: the wallet's fall alone needs confirming.
    assert find_drop(before, after, PRICES, Decimal("0.5")) == Drop(
        Decimal(2000), Decimal(1400), Decimal(600), "spot wallet 1,000.00 → 400.00 USD"
    )
    assert find_drop(before, after, PRICES, Decimal("0.7")) is None


def test_find_drop_counts_an_emptied_wallet_even_when_unpriced():
    before = [("XYZ", "earn", Decimal(5)), ("BTC", "spot", Decimal(1))]
    after = [("BTC", "spot", Decimal(1))]
    found = find_drop(before, after, PRICES, Decimal("0.5"))
    assert found is not None
    assert found.detail == "earn wallet 0.00 → 0.00 USD"


def test_a_first_read_or_a_rise_is_never_a_drop():
    assert find_drop([], [("BTC", "spot", Decimal(1))], PRICES, Decimal("0.5")) is None
    rise = [("BTC", "spot", Decimal(2))]
    assert find_drop([("BTC", "spot", Decimal(1))], rise, PRICES, Decimal("0.5")) is None


def test_reads_agree_within_one_percent_per_wallet():
    held = [("BTC", "spot", Decimal(100))]
    assert agrees(held, [("BTC", "spot", Decimal("100.9"))], PRICES)
    assert not agrees(held, [("BTC", "spot", Decimal("102"))], PRICES)
    assert not agrees(held, [("BTC", "spot", Decimal(100)), ("BTC", "earn", Decimal(1))], PRICES)


amounts = st.decimals(min_value=0, max_value=10**9, places=8, allow_nan=False)
wallets = st.sampled_from(["spot", "funding", "earn", "staking"])
reads = st.lists(st.tuples(st.sampled_from(["BTC", "USD"]), wallets, amounts), max_size=6)


@given(before=reads, factor=st.decimals(min_value=1, max_value=100, places=2))
def test_no_rise_is_ever_a_drop(before, factor):
    after = [(code, product, amount * factor) for code, product, amount in before]
    assert find_drop(before, after, PRICES, Decimal("0.5")) is None


@given(read=reads)
def test_a_read_always_agrees_with_itself(read):
    assert agrees(read, read, PRICES)


@given(before=reads, wallet=wallets)
def test_emptying_a_wallet_that_held_something_always_needs_confirming(before, wallet):
    after = [row for row in before if row[1] != wallet]
    held = any(amount != 0 for _, product, amount in before if product == wallet)
    found = find_drop(before, after, PRICES, Decimal("0.5"))
    assert (found is not None) if held else True
    if found is not None:
        assert found.drop_usd >= 0


def test_an_open_positions_pnl_swing_or_close_is_no_drop():
    """Unrealised PnL is booked as futures: it swings, and moves into spot on closing."""
    before = [("USD", "spot", Decimal(10_000)), ("USD", "futures", Decimal(100))]
    swing = [("USD", "spot", Decimal(10_000)), ("USD", "futures", Decimal(-50))]
    closed = [("USD", "spot", Decimal(10_100))]
    assert find_drop(before, swing, PRICES, Decimal("0.5")) is None
    assert find_drop(before, closed, PRICES, Decimal("0.5")) is None
    assert agrees(
        swing, [("USD", "spot", Decimal(10_000)), ("USD", "futures", Decimal(-60))], PRICES
    )


def test_a_location_whose_total_falls_through_futures_still_needs_confirming():
    before = [("USD", "spot", Decimal(100)), ("USD", "futures", Decimal(10_000))]
    after = [("USD", "spot", Decimal(100))]
    found = find_drop(before, after, PRICES, Decimal("0.5"))
    assert found is not None and found.drop_usd == Decimal(10_000)
    assert found.detail == "location 10,100.00 → 100.00 USD"

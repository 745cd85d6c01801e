"""Fresh numbers: changes to holdings, prices and policy are pending on the report until the
recompute they enqueue (debounced) lands; "Data as of" names the newest, oldest and stale
locations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import dateformat, timezone

from portfolio.imports import import_holdings, import_prices, set_manual_holding
from portfolio.models import LocationKind
from riskmodels import freshness, tasks
from riskmodels.models import ChangeKind, ExposureSnapshot, Limit, PendingChange, RiskPolicy
from riskmodels.services import save_limit
from tests.conftest import login
from tests.factories import (
    LocationFactory,
    SelfCustodyFactory,
    book,
    computed_exposure,
    exchange,
    priced,
    worked_check,
)

pytestmark = pytest.mark.django_db


def pending(portfolio) -> list[tuple[str, str, str]]:
    rows = PendingChange.objects.filter(portfolio=portfolio).order_by("pk")
    return [(row.kind, row.summary, row.changed_by_name) for row in rows]


def test_a_manual_holding_is_pending_until_the_recompute(tenants):
    locations = worked_check(tenants.fund_a)
    computed_exposure(tenants.fund_a)
    set_manual_holding(
        portfolio=tenants.fund_a, location=locations["cold"], asset_code="BTC",
        product="spot", amount=Decimal("60"), user=tenants.alice,
    )  # fmt: skip
    assert pending(tenants.fund_a) == [("holdings", "cold: BTC (Spot) set to 60", "alice")]
    assert pending(tenants.fund_b) == []
    snapshot = computed_exposure(tenants.fund_a)
    assert snapshot.nav == Decimal("10500000")
    assert pending(tenants.fund_a) == []


def test_a_recompute_with_unchanged_inputs_still_clears_the_changes(tenants):
    worked_check(tenants.fund_a)
    first = computed_exposure(tenants.fund_a)
    PendingChange.objects.create(
        portfolio=tenants.fund_a, kind="policy", summary="set back", changed_at=timezone.now()
    )
    assert computed_exposure(tenants.fund_a) == first  # the same digest: no second snapshot
    assert pending(tenants.fund_a) == []


def test_a_csv_import_is_one_change_for_its_portfolio(tenants):
    exchange("anchorage")
    # 500 rows over 10 vaults and 50 new codes: as much as one file may create.
    rows = "\n".join(
        f"Vault {n % 10},custodian,anchorage,A{n // 10:03},spot,{n + 1}" for n in range(500)
    )
    text = "location,location_kind,custodian,asset,product,amount\n" + rows
    result = import_holdings(portfolio=tenants.fund_a, text=text, user=tenants.alice)
    assert result.ok
    assert pending(tenants.fund_a) == [
        ("holdings", "CSV import of 500 rows at " + ", ".join(f"Vault {n}" for n in range(10)),
         "alice"),
    ]  # fmt: skip


def test_a_manual_price_marks_only_the_portfolios_holding_the_asset(tenants):
    worked_check(tenants.fund_a)  # holds BTC
    eth = priced("ETH", "3000")
    book(SelfCustodyFactory.create(portfolio=tenants.fund_b, name="b cold"), {eth: "1"})
    result = import_prices(text="asset,price_usd\nBTC,65000.5\n")
    assert result.ok
    assert pending(tenants.fund_a) == [("prices", "Manual price: BTC 65000.5 USD", "")]
    assert pending(tenants.fund_b) == []


def test_only_the_current_holdings_count_for_a_price_change(tenants):
    btc = priced("BTC", "50000")
    cold = SelfCustodyFactory.create(portfolio=tenants.fund_b, name="b cold")
    book(cold, {btc: "1"}, taken_at=timezone.now() - timedelta(hours=1))
    book(cold, {priced("ETH", "3000"): "1"})  # BTC sold since
    assert freshness.portfolios_holding([btc.pk]) == []


def test_a_global_limit_change_marks_every_portfolio(tenants):
    policy = RiskPolicy.objects.get(portfolio=None)
    limit = Limit.objects.get(policy=policy, rule="hhi_third_party")
    limit.warn = Decimal("1500")
    save_limit(limit=limit, user=tenants.ada)
    summary = "Third-party HHI limit (all) changed"
    assert pending(tenants.fund_a) == [("policy", summary, "ada")]
    assert pending(tenants.fund_b) == [("policy", summary, "ada")]


def test_a_portfolio_limit_change_marks_that_portfolio_only(tenants):
    policy = RiskPolicy.objects.create(portfolio=tenants.fund_b, name="Fund B")
    limit = Limit(policy=policy, rule="hhi_third_party", warn=Decimal("1000"), breach=None)
    save_limit(limit=limit, user=tenants.ada)
    assert [kind for kind, _, _ in pending(tenants.fund_b)] == [ChangeKind.POLICY]
    assert pending(tenants.fund_a) == []


def test_a_limit_saved_unchanged_is_no_change(tenants):
    limit = Limit.objects.get(policy__portfolio=None, rule="hhi_third_party")
    save_limit(limit=limit, user=tenants.ada)
    assert PendingChange.objects.count() == 0


def test_changes_enqueue_one_recompute_per_portfolio_per_burst(tenants):
    assert freshness.schedule_recompute(tenants.fund_a.pk) is True
    assert freshness.schedule_recompute(tenants.fund_a.pk) is False  # one is queued already
    assert freshness.schedule_recompute(tenants.fund_b.pk) is True  # another portfolio's own
    freshness.release_debounce(tenants.fund_a.pk)  # the task starts computing
    assert freshness.schedule_recompute(tenants.fund_a.pk) is True


def test_the_change_enqueues_its_recompute_after_the_commit(
    tenants, django_capture_on_commit_callbacks
):
    locations = worked_check(tenants.fund_a)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for amount in ("51", "52", "53"):
            set_manual_holding(
                portfolio=tenants.fund_a, location=locations["cold"], asset_code="BTC",
                product="spot", amount=Decimal(amount), user=tenants.alice,
            )  # fmt: skip
        assert cache.get(freshness.debounce_key(tenants.fund_a.pk)) is None  # not before
    assert len(callbacks) == 3
    assert cache.get(freshness.debounce_key(tenants.fund_a.pk)) is not None


def test_the_recompute_task_computes_and_frees_the_key(tenants, eager_celery):
    locations = worked_check(tenants.fund_a)
    set_manual_holding(
        portfolio=tenants.fund_a, location=locations["cold"], asset_code="BTC",
        product="spot", amount=Decimal("60"), user=tenants.alice,
    )  # fmt: skip
    cache.add(freshness.debounce_key(tenants.fund_a.pk), "queued", 60)
    tasks.recompute_exposure.delay(tenants.fund_a.pk)
    assert ExposureSnapshot.objects.get().nav == Decimal("10500000")
    assert cache.get(freshness.debounce_key(tenants.fund_a.pk)) is None
    assert pending(tenants.fund_a) == []


def test_wait_until_quiet_returns_at_once_without_recent_changes(tenants, settings):
    settings.RECOMPUTE_DEBOUNCE_SECONDS = 30
    PendingChange.objects.create(
        portfolio=tenants.fund_a, kind="holdings", summary="old",
        changed_at=timezone.now() - timedelta(minutes=1),
    )  # fmt: skip
    freshness.wait_until_quiet(tenants.fund_a.pk)  # would sleep 30 s if it counted


def test_wait_until_quiet_is_bounded(tenants, settings):
    import time

    settings.RECOMPUTE_DEBOUNCE_SECONDS = 30
    settings.RECOMPUTE_MAX_WAIT_SECONDS = 1
    PendingChange.objects.create(
        portfolio=tenants.fund_a, kind="holdings", summary="now", changed_at=timezone.now()
    )
    started = time.monotonic()
    freshness.wait_until_quiet(tenants.fund_a.pk, started=started)
    assert 0.9 <= time.monotonic() - started < 5


# --- the banner -------------------------------------------------------------------------------


def at(hour: int, minute: int) -> datetime:
    return datetime(2026, 12, 1, hour, minute, tzinfo=UTC)


def shown(moment: datetime) -> str:
    return dateformat.format(timezone.localtime(moment), "Y-m-d H:i e")


def test_the_report_says_what_changed_when_and_by_whom(tenants):
    now = timezone.now()
    worked_check(tenants.fund_a, taken_at=now - timedelta(minutes=12))
    snapshot = computed_exposure(tenants.fund_a)
    computed = now - timedelta(minutes=7)
    ExposureSnapshot.objects.filter(pk=snapshot.pk).update(computed_at=computed)
    PendingChange.objects.create(
        portfolio=tenants.fund_a, kind="holdings", summary="cold: BTC (Spot) set to 60",
        changed_at=now, changed_by=tenants.alice, changed_by_name="alice",
    )  # fmt: skip
    page = login(tenants.alice).get(reverse("riskmodels:report", args=["fund-a"]))
    text = " ".join(page.content.decode().split())
    assert (
        f"Not current: recomputing.</strong> Holdings changed at {shown(now)} by alice: "
        f"figures below are from {shown(computed)}, recomputing." in text
    )
    assert "cold: BTC (Spot) set to 60" in text
    computed_exposure(tenants.fund_a)
    page = login(tenants.alice).get(reverse("riskmodels:report", args=["fund-a"]))
    assert 'id="freshness-pending"' not in page.content.decode()


def test_an_investor_sees_that_figures_are_recomputing_but_not_who_changed_what(tenants):
    worked_check(tenants.fund_a)
    computed_exposure(tenants.fund_a)
    PendingChange.objects.create(
        portfolio=tenants.fund_a, kind="prices", summary="Manual price: BTC 65000 USD",
        changed_at=timezone.now(), changed_by=tenants.alice, changed_by_name="alice",
    )  # fmt: skip
    text = login(tenants.bob).get(reverse("riskmodels:report", args=["fund-a"])).content.decode()
    assert "Not current: recomputing." in text
    assert "Prices changed at" in text
    assert "alice" not in text and "65000" not in text


def test_an_overdue_recompute_says_so(tenants):
    worked_check(tenants.fund_a)
    snapshot = computed_exposure(tenants.fund_a)
    PendingChange.objects.create(
        portfolio=tenants.fund_a, kind="policy", summary="x",
        changed_at=timezone.now() - timedelta(hours=1),
    )  # fmt: skip
    result = freshness.report_freshness(tenants.fund_a, snapshot, investor=False)
    assert result.pending and result.overdue
    text = login(tenants.alice).get(reverse("riskmodels:report", args=["fund-a"])).content.decode()
    assert "a recompute is overdue" in text


def test_data_as_of_names_the_newest_oldest_and_stale_locations(tenants):
    now = at(14, 0)
    btc = priced("BTC", "50000")
    for name, taken in (("binance", at(13, 58)), ("ledger", at(2, 0)), ("kraken", at(11, 0))):
        location = LocationFactory.create(
            portfolio=tenants.fund_a, name=name, kind=LocationKind.EXCHANGE,
            custodian=exchange(name),
        )  # fmt: skip
        book(location, {btc: "1"}, taken_at=taken)
    LocationFactory.create(portfolio=tenants.fund_a, name="empty")  # no data: not counted
    result = freshness.report_freshness(tenants.fund_a, None, investor=False, now=now)
    assert (result.newest.name, result.newest.taken_at) == ("binance", at(13, 58))
    assert (result.oldest.name, result.oldest.taken_at) == ("ledger", at(2, 0))
    assert result.stale_hours == Decimal("6")
    assert [(s.name, s.age_hours) for s in result.stale] == [("ledger", Decimal("12.0"))]
    assert result.newest.age_hours == Decimal("0.0")


def test_data_as_of_line_on_the_report(tenants):
    btc = priced("BTC", "50000")
    now = timezone.now()
    fresh = LocationFactory.create(
        portfolio=tenants.fund_a, name="Binance main", kind=LocationKind.EXCHANGE,
        custodian=exchange("binance", name="Binance"),
    )  # fmt: skip
    book(fresh, {btc: "1"}, taken_at=now - timedelta(minutes=5))
    cold = SelfCustodyFactory.create(portfolio=tenants.fund_a, name="Ledger vault")
    book(cold, {btc: "1"}, taken_at=now - timedelta(hours=30))
    computed_exposure(tenants.fund_a)
    text = login(tenants.alice).get(reverse("riskmodels:report", args=["fund-a"])).content.decode()
    line = " ".join(text[text.index('id="data-as-of"') :].split("</p>")[0].split())
    assert "(Binance main), oldest" in line and "(Ledger vault)." in line
    assert "Stale</span> older than 6 h: Ledger vault (30.0 h)." in line
    # An investor sees who holds the assets, not the fund's names for its accounts.
    text = login(tenants.bob).get(reverse("riskmodels:report", args=["fund-a"])).content.decode()
    line = " ".join(text[text.index('id="data-as-of"') :].split("</p>")[0].split())
    assert "(Binance), oldest" in line and "Self-custody (30.0 h)" in line
    assert "Ledger vault" not in line


def test_the_stale_level_follows_the_policy(tenants):
    btc = priced("BTC", "50000")
    cold = SelfCustodyFactory.create(portfolio=tenants.fund_a, name="cold")
    book(cold, {btc: "1"}, taken_at=timezone.now() - timedelta(hours=3))
    policy = RiskPolicy.objects.create(portfolio=tenants.fund_a, name="Fund A")
    Limit.objects.create(policy=policy, rule="stale_data", warn=Decimal("2"), breach=Decimal("4"))
    result = freshness.report_freshness(tenants.fund_a, None, investor=False)
    assert result.stale_hours == Decimal("2")
    assert [s.name for s in result.stale] == ["cold"]
    snapshot = computed_exposure(tenants.fund_a)
    Limit.objects.filter(policy=policy).update(warn=Decimal("3"))
    # The report's own level, read from it (no query), while it is the report shown.
    assert freshness.stale_warn_hours(tenants.fund_a.pk, snapshot) == Decimal("2")
    assert freshness.stale_warn_hours(tenants.fund_a.pk, None) == Decimal("3")


# --- a sync -----------------------------------------------------------------------------------


def test_a_sync_is_pending_until_its_round_computes(
    db, emulator, django_capture_on_commit_callbacks
):
    from tests.portfolio.test_sync import make_account, run

    account = make_account("binance")
    portfolio = account.location.portfolio
    with django_capture_on_commit_callbacks(execute=True):
        run(account)  # outside a round: it schedules its own recompute
    snapshot = account.location.snapshots.get()
    change = PendingChange.objects.get(portfolio=portfolio)
    assert (change.kind, change.summary, change.changed_at, change.changed_by_name) == (
        "holdings",
        "Synced from the exchange: binance main",
        snapshot.taken_at,
        "",
    )
    assert cache.get(freshness.debounce_key(portfolio.pk)) is not None
    computed_exposure(portfolio)
    assert not PendingChange.objects.filter(portfolio=portfolio).exists()


def test_a_sync_in_a_round_leaves_the_computation_to_the_round(
    db, emulator, django_capture_on_commit_callbacks
):
    from portfolio.models import SyncRound
    from tests.portfolio.test_sync import make_account, run

    account = make_account("binance")
    portfolio = account.location.portfolio
    sync_round = SyncRound.objects.create(
        portfolio=portfolio, started_at=timezone.now(), location_count=1, location_ids=[account.pk]
    )
    with django_capture_on_commit_callbacks(execute=True):
        run(account, round_id=sync_round.pk)
    assert PendingChange.objects.filter(portfolio=portfolio).count() == 1
    assert cache.get(freshness.debounce_key(portfolio.pk)) is None


def test_an_off_exchange_settlement_is_a_pending_custody_change(tenants):
    from portfolio.services import delete_off_exchange_settlement, save_off_exchange_settlement
    from tests.factories import CounterpartyFactory, ExchangeAccountFactory

    account = ExchangeAccountFactory.create(
        location__portfolio=tenants.fund_a, location__name="Binance API",
        location__custodian=exchange("binance"),
    )  # fmt: skip
    copper = CounterpartyFactory.create(slug="copper", kind="custodian")
    save_off_exchange_settlement(
        account=account, network="clearloop", custodian=copper, interval_hours=24,
        settled_at=timezone.now(), actor=tenants.alice,
    )  # fmt: skip
    delete_off_exchange_settlement(account=account, actor=tenants.alice)
    assert pending(tenants.fund_a) == [
        ("custody", "Binance API: settled off exchange through clearloop", "alice"),
        ("custody", "Binance API: no longer settled off exchange", "alice"),
    ]


def test_a_confirmed_drop_is_a_pending_holdings_change(db, emulator):
    from portfolio import drops
    from portfolio.models import UnconfirmedDrop
    from tests.factories import UserFactory
    from tests.portfolio.test_drops import empty_spot
    from tests.portfolio.test_sync import make_account, run

    account = make_account("binance")
    run(account)
    PendingChange.objects.all().delete()  # the first sync's, computed by its round
    empty_spot(emulator)
    run(account)
    assert not PendingChange.objects.exists()  # a held drop changes no holdings
    manager = UserFactory.create(username="mia", role="manager")
    drop = UnconfirmedDrop.objects.get()
    drops.confirm_drop(drop=drop, user=manager)
    change = PendingChange.objects.get()
    assert (change.kind, change.changed_by_name) == ("holdings", "mia")
    assert change.summary == f"binance main: drop of {drops.usd(drop.drop_usd)} USD confirmed"

"""The sync service against the emulator: real ccxt over HTTP, a real database."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from portfolio import sync
from portfolio.models import (
    Asset,
    AssetKind,
    ExchangeAccount,
    HoldingSnapshot,
    Price,
    SyncOutcome,
    SyncRun,
)
from portfolio.services import create_exchange_account, set_exchange_credentials
from portfolio.sync import SyncRequest, sync_location
from tests.factories import AssetFactory, CounterpartyFactory, PortfolioFactory
from tests.portfolio.test_exchanges import EXPECTED, creds

RICH_SCENARIO = (
    Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "exchanges_test.json"
)

KEYS = {
    "binance": {"apiKey": "test-binance-key", "secret": "test-binance-secret"},
    "kraken": {"apiKey": "test-kraken-key", "secret": "dGVzdC1rcmFrZW4tc2VjcmV0"},
    "okx": {"apiKey": "test-okx-key", "secret": "test-okx-secret", "password": "test-okx-pass"},
    "coinbase": {"apiKey": "test-coinbase-key", "secret": "test-coinbase-secret"},
    "bybit": {"apiKey": "test-bybit-key", "secret": "test-bybit-secret"},
    # Read by wallet address alone: no key, no secret.
    "hyperliquid": {"walletAddress": "0x7e57000000000000000000000000000000000001"},
    "bitfinex": {"apiKey": "test-bitfinex-key", "secret": "test-bitfinex-secret"},
    # ccxt signs with Gemini's account-level keys only, which carry "account" in the key.
    "gemini": {"apiKey": "account-test-gemini-key", "secret": "test-gemini-secret"},
    "bitget": {
        "apiKey": "test-bitget-key",
        "secret": "test-bitget-secret",
        "password": "test-bitget-pass",
    },
    "gate": {"apiKey": "test-gate-key", "secret": "test-gate-secret"},
    "cryptocom": {"apiKey": "test-cryptocom-key", "secret": "test-cryptocom-secret"},
    "bitstamp": {"apiKey": "test-bitstamp-key", "secret": "test-bitstamp-secret"},
    "deribit": {"apiKey": "test-deribit-key", "secret": "test-deribit-secret"},
    "krakenfutures": {
        "apiKey": "test-krakenfutures-key",
        "secret": "dGVzdC1rcmFrZW5mdXR1cmVzLXNlY3JldA==",
    },
    "mexc": {"apiKey": "test-mexc-key", "secret": "test-mexc-secret"},
    "htx": {"apiKey": "test-htx-key", "secret": "test-htx-secret"},
    "kucoin": {
        "apiKey": "test-kucoin-key",
        "secret": "test-kucoin-secret",
        "password": "test-kucoin-pass",
    },
    # Read by the generic adapter (ccxt's unified fetch_balance).
    "latoken": {"apiKey": "test-latoken-key", "secret": "test-latoken-secret"},
}


def make_account(exchange_id: str, **credentials: str) -> ExchangeAccount:
    CounterpartyFactory.create(slug=exchange_id)
    return create_exchange_account(
        portfolio=PortfolioFactory.create(),
        name=f"{exchange_id} main",
        exchange_id=exchange_id,
        credentials={**KEYS[exchange_id], **credentials},
    )


def holdings_of(account: ExchangeAccount) -> dict[tuple[str, str], Decimal]:
    snapshot = HoldingSnapshot.objects.filter(location=account.location).latest()
    return {(h.asset.code, h.product): h.amount for h in snapshot.holdings.select_related("asset")}


def run(account: ExchangeAccount, **kwargs: Any) -> SyncRun | None:
    return sync_location(SyncRequest(location_id=account.pk, **kwargs))


@pytest.fixture
def binance(db, emulator) -> ExchangeAccount:
    return make_account("binance")


def test_successful_sync_stores_one_snapshot_and_a_success_run(binance):
    sync_run = run(binance)
    assert sync_run.outcome == SyncOutcome.SUCCESS
    assert sync_run.request_count > 0
    assert HoldingSnapshot.objects.get(location=binance.location).sync_run == sync_run
    assert holdings_of(binance)[("BTC", "spot")] == Decimal("1.5")


def test_unknown_codes_are_created_unclassified_not_dropped(binance):
    run(binance)
    assert Asset.objects.get(code="BNB").kind == AssetKind.UNCLASSIFIED
    assert ("BNB", "spot") in holdings_of(binance)


def test_known_assets_keep_their_registry_kind(binance):
    AssetFactory.create(code="BNB", kind=AssetKind.EXCHANGE_TOKEN)
    run(binance)
    assert Asset.objects.get(code="BNB").kind == AssetKind.EXCHANGE_TOKEN


def test_prices_are_stored_through_stablecoin_routes(binance):
    run(binance)
    bnb = Price.objects.get(asset__code="BNB")
    # BNB/USDT 700 on binance x USDT/USD 1.0001 on the reference exchange (kraken).
    assert bnb.price_usd == Decimal("700") * Decimal("1.0001")
    assert (bnb.source, bnb.is_manual) == ("binance", False)


@pytest.mark.parametrize(
    ("fault", "outcome", "error_class"),
    [
        ({"status": 503, "body": "<html>down</html>"}, "failed", "ExchangeNotAvailable"),
        ({"status": 200, "body": ""}, "failed", "BadResponse"),
        ({"status": 200, "body": '{"balances": [{"asset": "BTC", "fr'}, "failed", "BadResponse"),
        ({"close": True}, "failed", "NetworkError"),
    ],
)
def test_failed_sync_keeps_the_last_good_snapshot(binance, emulator, fault, outcome, error_class):
    run(binance)
    before = holdings_of(binance)
    emulator.add_fault("binance", "/api/v3/account", times=None, **fault)
    failed = run(binance)
    assert (failed.outcome, failed.error_class) == (outcome, error_class)
    assert failed.error_message
    assert HoldingSnapshot.objects.filter(location=binance.location).count() == 1
    assert holdings_of(binance) == before


def test_retryable_fault_asks_for_a_retry_while_retries_remain(binance, emulator):
    emulator.add_fault("binance", "/api/v3/account", status=429, times=None)
    before = timezone.now()
    retrying = run(binance, retries_left=2)
    assert retrying == SyncRun.objects.get()
    assert (retrying.outcome, retrying.error_class) == (SyncOutcome.RETRYING, "DDoSProtection")
    # Due in the database (beat sends it), after the first backoff of 2.5 to 5 s.
    assert before + timedelta(seconds=2.5) <= retrying.retry_due_at
    assert retrying.retry_due_at <= timezone.now() + timedelta(seconds=5)
    assert not HoldingSnapshot.objects.exists()


def test_the_last_attempt_of_a_retryable_fault_fails_with_no_retry_due(binance, emulator):
    emulator.add_fault("binance", "/api/v3/account", status=429, times=None)
    failed = run(binance, retries_left=0)
    assert (failed.outcome, failed.retry_due_at) == (SyncOutcome.FAILED, None)


def test_rejected_key_marks_credentials_broken_and_stops_syncing(binance):
    run(binance)
    make_wrong = {"apiKey": "test-binance-key", "secret": "wrong"}
    set_exchange_credentials(account=binance, credentials=make_wrong)
    failed = run(binance, retries_left=3)  # authentication is never retried
    binance.refresh_from_db()
    assert failed.outcome == SyncOutcome.FAILED
    assert binance.credentials_broken_at is not None and binance.credentials_error
    skipped = run(binance)
    assert (skipped.outcome, skipped.error_class) == (SyncOutcome.FAILED, "CredentialsBroken")
    assert HoldingSnapshot.objects.filter(location=binance.location).count() == 1


def test_redelivered_task_does_nothing_the_second_time(binance):
    run(binance, task_id="task-1")
    assert run(binance, task_id="task-1") is None
    assert HoldingSnapshot.objects.filter(location=binance.location).count() == 1


def running_run(account: ExchangeAccount, *, minutes_ago: float = 0) -> SyncRun:
    started_at = timezone.now() - timedelta(minutes=minutes_ago)
    return SyncRun.objects.create(location=account.location, started_at=started_at)


def test_a_running_sync_keeps_a_second_sync_out(binance):
    running_run(binance)
    assert run(binance) is None
    busy = run(binance, retries_left=1)  # a round's own sync: it tries again shortly
    assert (busy.outcome, busy.error_class) == (SyncOutcome.RETRYING, "Busy")
    busy.refresh_from_db()
    assert busy.retry_due_at is not None
    assert SyncRun.objects.filter(outcome=SyncOutcome.RUNNING).count() == 1
    assert not HoldingSnapshot.objects.exists()


def test_two_running_runs_of_one_account_are_refused_by_the_database(binance):
    running_run(binance)
    with pytest.raises(IntegrityError), transaction.atomic():
        running_run(binance)


def test_no_run_is_left_running_after_a_sync(binance):
    run(binance)
    run(binance)
    assert not SyncRun.objects.filter(outcome=SyncOutcome.RUNNING).exists()
    assert SyncRun.objects.filter(outcome=SyncOutcome.SUCCESS).count() == 2


def test_an_exception_mid_sync_ends_the_run_so_a_retry_can_run(binance, monkeypatch):
    def broken_store(**kwargs: object) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(sync, "store_result", broken_store)
    with pytest.raises(OperationalError):
        run(binance, retries_left=2)
    ended = SyncRun.objects.get()
    assert (ended.outcome, ended.error_class) == (SyncOutcome.RETRYING, "OperationalError")
    assert ended.error_message.startswith("The database failed during the sync")
    monkeypatch.undo()
    retried = run(binance)
    assert retried.outcome == SyncOutcome.SUCCESS
    assert HoldingSnapshot.objects.get(location=binance.location).sync_run == retried


def test_an_error_of_our_own_ends_the_run_failed_and_never_escapes(binance, monkeypatch):
    def broken_store(**kwargs: object) -> None:
        raise ValueError("a bug")

    monkeypatch.setattr(sync, "store_result", broken_store)
    failed = run(binance, retries_left=2)  # not a transient error: no retry would help
    assert failed == SyncRun.objects.get()
    assert (failed.outcome, failed.error_class) == (SyncOutcome.FAILED, "InternalError")
    assert failed.error_message == (
        "The sync failed on an error of Counterweight's own (ValueError); "
        "the last good balances are kept. It was logged."
    )


def test_key_permissions_are_kept_for_the_warning(binance):
    run(binance)
    binance.refresh_from_db()
    assert binance.key_permissions["trade"] is True
    assert binance.key_permissions["withdraw"] is False


def test_a_run_left_running_by_a_dead_worker_is_marked_interrupted(binance, settings):
    settings.SYNC_LEASE_SECONDS = 60
    orphan = running_run(binance, minutes_ago=2)
    done = run(binance)
    orphan.refresh_from_db()
    assert (orphan.outcome, orphan.error_class) == (SyncOutcome.FAILED, "Interrupted")
    assert done.outcome == SyncOutcome.SUCCESS
    assert HoldingSnapshot.objects.get(location=binance.location).sync_run == done


def test_a_run_younger_than_the_lease_is_not_taken_for_abandoned(binance, settings):
    settings.SYNC_LEASE_SECONDS = 600
    running_run(binance, minutes_ago=2)
    assert run(binance) is None
    assert SyncRun.objects.get().outcome == SyncOutcome.RUNNING


@pytest.fixture
def rich_emulator(db, emulator):
    """The exchange-client tests' scenario: every wallet of every exchange, 18-decimal amounts."""
    emulator.update_scenario(json.loads(RICH_SCENARIO.read_text()), replace=True)
    return emulator


@pytest.mark.parametrize("exchange_id", list(EXPECTED))
def test_every_wallet_lands_as_holdings_with_exact_amounts(rich_emulator, exchange_id):
    account = make_account(exchange_id, **creds(exchange_id))
    assert run(account).outcome == SyncOutcome.SUCCESS
    snapshot = HoldingSnapshot.objects.get(location=account.location)
    stored = {
        (h.asset.code, h.product): (h.reported_code, h.amount)
        for h in snapshot.holdings.select_related("asset")
    }
    assert stored == {key: (code, Decimal(v)) for key, (code, v) in EXPECTED[exchange_id].items()}


def test_a_locked_earn_position_is_stored_with_its_redeem_date(rich_emulator):
    account = make_account("binance", **creds("binance"))
    assert run(account).outcome == SyncOutcome.SUCCESS
    snapshot = HoldingSnapshot.objects.get(location=account.location)
    # The scenario's unlocks_at, sent as redeemDate in epoch milliseconds, exact to the ms.
    assert list(snapshot.locks.values_list("asset__code", "product", "amount", "unlocks_at")) == [
        ("ETH", "earn", Decimal("2"), datetime(2027, 3, 1, 8, 0, 0, 250000, tzinfo=UTC))
    ]


def test_run_exchange_emulator_command_serves_a_scenario():
    command = [sys.executable, "manage.py", "run_exchange_emulator", "test", "--port", "0"]
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{url}/_control/health", timeout=5) as response:  # noqa: S310
            assert response.status == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.django_db(transaction=True)
def test_a_kept_asset_id_deleted_since_costs_a_retry_never_a_wrong_snapshot(emulator):
    binance = make_account("binance")
    sync.KNOWN_ASSET_IDS["BTC"] = 10**9  # an id this process kept, deleted by an admin since
    retrying = run(binance, retries_left=1)
    assert (retrying.outcome, retrying.error_class) == (SyncOutcome.RETRYING, "NotStored")
    assert "BTC" not in sync.KNOWN_ASSET_IDS
    assert not HoldingSnapshot.objects.exists()
    assert run(binance, retries_left=1).outcome == SyncOutcome.SUCCESS
    assert ("BTC", "spot") in holdings_of(binance)
    assert sync.KNOWN_ASSET_IDS.get("BTC") != 10**9


def test_asset_ids_are_read_once_per_process(binance, django_assert_num_queries):
    run(binance)  # creates the assets this database lacked
    run(binance)  # reads their ids, and keeps them
    codes = set(sync.KNOWN_ASSET_IDS)
    assert codes >= {"BTC", "BNB"}
    with django_assert_num_queries(0):
        assert sync.asset_ids_for_codes(codes) == sync.KNOWN_ASSET_IDS


def test_an_asset_created_by_a_sync_is_kept_only_once_committed(db):
    with transaction.atomic():
        created = sync.asset_ids_for_codes({"NEWCOIN"})
        assert "NEWCOIN" not in sync.KNOWN_ASSET_IDS
    assert Asset.objects.get(code="NEWCOIN").pk == created["NEWCOIN"]
    assert sync.asset_ids_for_codes({"NEWCOIN"}) == created
    assert sync.KNOWN_ASSET_IDS["NEWCOIN"] == created["NEWCOIN"]


def test_reference_quotes_are_asked_once_and_expire(emulator, settings, monkeypatch):
    settings.PRICE_REFERENCE_EXCHANGE = "kraken"
    first = sync.reference_quotes("kraken", {"BTC"})
    assert first and all(isinstance(price, Decimal) for price in first.values())
    assert sync.reference_quotes("kraken", {"BTC"}) == first
    assert emulator.stats()["by_exchange"]["kraken"].get("ticker") == 1
    later = time.time() + sync.REFERENCE_QUOTES_SECONDS + 1
    monkeypatch.setattr(sync, "quotes_clock", lambda: later)
    assert sync.reference_quotes("kraken", {"BTC"}) == first
    assert emulator.stats()["by_exchange"]["kraken"].get("ticker") == 2
    monkeypatch.setattr(sync, "quotes_clock", lambda: later + sync.REFERENCE_QUOTES_SECONDS - 1)
    assert sync.reference_quotes("kraken", {"BTC"}) == first  # the refreshed quotes, kept
    assert emulator.stats()["by_exchange"]["kraken"].get("ticker") == 2


def test_quotes_another_worker_refreshed_are_taken_from_the_cache(emulator, monkeypatch):
    from django.core.cache import cache

    first = sync.reference_quotes("kraken", {"BTC"})
    key = next(iter(sync.REFERENCE_QUOTES))
    later = time.time() + sync.REFERENCE_QUOTES_SECONDS + 1
    monkeypatch.setattr(sync, "quotes_clock", lambda: later)
    refreshed = {pair: price + 1 for pair, price in first.items()}
    cache.set(key, (later + 30, refreshed))  # what another worker fetched and shared
    assert sync.reference_quotes("kraken", {"BTC"}) == refreshed
    assert emulator.stats()["by_exchange"]["kraken"].get("ticker") == 1


def test_an_alert_that_cannot_be_raised_never_escapes_the_sync(binance, emulator, monkeypatch):
    from riskmodels import sync_alerts

    def broken(location_id: int) -> None:
        raise RuntimeError("mail server on fire")

    monkeypatch.setattr(sync_alerts, "follow_location_sync", broken)
    emulator.add_fault("binance", "/api/v3/account", status=503, body="down")
    assert run(binance).outcome == SyncOutcome.FAILED  # recorded; the alert follows later


def test_a_deleted_account_is_nothing_to_sync(db):
    assert run(type("Gone", (), {"pk": 10**9})()) is None


def test_a_soft_time_limit_ends_the_run_failed_in_words(binance, monkeypatch):
    from billiard.exceptions import SoftTimeLimitExceeded

    def too_long(**kwargs: object) -> None:
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(sync, "store_result", too_long)
    failed = run(binance, retries_left=2)
    assert (failed.outcome, failed.error_class) == (SyncOutcome.FAILED, "TimeLimit")
    assert failed.error_message.startswith("The sync ran past the task's time limit")

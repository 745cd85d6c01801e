"""The sync service against the emulator: real ccxt over HTTP, a real database."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

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
from portfolio.sync import RetryableSyncError, SyncRequest, sync_location
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
}


def make_account(exchange_id: str, **credentials: str) -> ExchangeAccount:
    CounterpartyFactory(slug=exchange_id)
    return create_exchange_account(
        portfolio=PortfolioFactory(),
        name=f"{exchange_id} main",
        exchange_id=exchange_id,
        credentials={**KEYS[exchange_id], **credentials},
    )


def holdings_of(account: ExchangeAccount) -> dict[tuple[str, str], Decimal]:
    snapshot = HoldingSnapshot.objects.filter(location=account.location).latest()
    return {(h.asset.code, h.product): h.amount for h in snapshot.holdings.select_related("asset")}


def run(account: ExchangeAccount, **kwargs: object) -> SyncRun | None:
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
    AssetFactory(code="BNB", kind=AssetKind.EXCHANGE_TOKEN)
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
    with pytest.raises(RetryableSyncError):
        run(binance, retries_left=2)
    assert SyncRun.objects.get().outcome == SyncOutcome.RETRYING
    assert not HoldingSnapshot.objects.exists()


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


def test_a_held_lease_keeps_a_second_sync_out(binance):
    ExchangeAccount.objects.filter(pk=binance.pk).update(sync_lease_until="2999-01-01T00:00:00Z")
    assert run(binance) is None
    with pytest.raises(RetryableSyncError):
        run(binance, retries_left=1)
    assert not SyncRun.objects.exists()


def test_lease_is_released_after_a_sync(binance):
    run(binance)
    binance.refresh_from_db()
    assert binance.sync_lease_until is None


def test_key_permissions_are_kept_for_the_warning(binance):
    run(binance)
    binance.refresh_from_db()
    assert binance.key_permissions["trade"] is True
    assert binance.key_permissions["withdraw"] is False


def test_a_run_left_running_by_a_dead_worker_is_marked_interrupted(binance):
    orphan = SyncRun.objects.create(location=binance.location, started_at=timezone.now())
    done = run(binance)
    orphan.refresh_from_db()
    assert (orphan.outcome, orphan.error_class) == (SyncOutcome.FAILED, "Interrupted")
    assert done.outcome == SyncOutcome.SUCCESS


def test_an_expired_lease_no_longer_blocks(binance):
    ExchangeAccount.objects.filter(pk=binance.pk).update(sync_lease_until="2000-01-01T00:00:00Z")
    assert run(binance).outcome == SyncOutcome.SUCCESS


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

"""Syncing an exchange account: read every wallet through ccxt, store one snapshot.

A sync either stores a complete new snapshot, atomically, or changes no holdings at all:
a failed run keeps the last good snapshot, is recorded with its error in words, and leaves
the location stale until a later sync succeeds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Value
from django.utils import timezone

from portfolio import exchanges
from portfolio.crypto import CredentialsUnreadable, decrypt_credentials
from portfolio.exchanges import ExchangeFault, FetchedAccount
from portfolio.models import (
    Asset,
    AssetKind,
    ExchangeAccount,
    Holding,
    HoldingSnapshot,
    Price,
    SnapshotSource,
    SyncOutcome,
    SyncRun,
)
from portfolio.pricing import usd_prices

log = logging.getLogger(__name__)
REFERENCE_QUOTES_SECONDS = 60


class RetryableSyncError(Exception):
    """A transient fault (network, rate limit, maintenance, bad response): try again later."""


@dataclass(frozen=True)
class SyncRequest:
    location_id: int
    task_id: str = ""
    attempt: int = 1
    retries_left: int = 0
    round_id: int | None = None


def sync_location(request: SyncRequest) -> SyncRun | None:
    """Sync one exchange account; None when there was nothing to do.

    1. Skip if this task already succeeded (a redelivered message); record a skipped run if
       the credentials are missing or known to be broken.
    2. Claim the account's lease with a conditional UPDATE, so one sync runs at a time.
    3. Fetch every wallet outside any transaction, then store the snapshot atomically, or
       record the failure; raise RetryableSyncError when a retry is worth it.
    """
    account = _load_account(request)
    if account.already_succeeded:
        return None
    if account.credentials_broken_at is not None or not account.has_credentials:
        return _record_skip(account, request)
    run = _start_run(account, request)
    if run is None:
        if request.retries_left > 0:
            raise RetryableSyncError("another sync of this account is running")
        return None  # the sync holding the lease is doing this work
    try:
        return _fetch_and_store(account, run, request)
    finally:
        if run.outcome == SyncOutcome.RUNNING:  # neither stored nor recorded: an exception
            ExchangeAccount.objects.filter(pk=account.pk).update(sync_lease_until=None)


def _load_account(request: SyncRequest) -> ExchangeAccount:
    """The account, whether this task already succeeded, and whether a run was left running
    (by a worker that died): one query."""
    succeeded = SyncRun.objects.filter(task_id=request.task_id, outcome=SyncOutcome.SUCCESS)
    running = SyncRun.objects.filter(location=OuterRef("pk"), outcome=SyncOutcome.RUNNING)
    queryset = ExchangeAccount.objects.select_related("location").annotate(
        left_running=Exists(running)
    )
    if request.task_id:
        queryset = queryset.annotate(already_succeeded=Exists(succeeded))
    else:
        queryset = queryset.annotate(already_succeeded=Value(False))
    return queryset.get(pk=request.location_id)


def _record_skip(account: ExchangeAccount, request: SyncRequest) -> SyncRun:
    """A run that never reached the exchange: the credentials are missing or were rejected."""
    if account.has_credentials:
        message = (
            f"Not synced: the exchange rejected these credentials ({account.credentials_error})"
        )
    else:
        message = "Not synced: this account has no credentials yet."
    now = timezone.now()
    return SyncRun.objects.create(
        location=account.location,
        sync_round_id=request.round_id,
        task_id=request.task_id,
        attempt=request.attempt,
        started_at=now,
        finished_at=now,
        outcome=SyncOutcome.FAILED,
        error_class="CredentialsBroken",
        error_message=message,
    )


@transaction.atomic
def _start_run(account: ExchangeAccount, request: SyncRequest) -> SyncRun | None:
    """Claim the lease and record a running run in one commit; None if another sync holds it."""
    now = timezone.now()
    free = Q(sync_lease_until__isnull=True) | Q(sync_lease_until__lt=now)
    until = now + timedelta(seconds=settings.SYNC_LEASE_SECONDS)
    if ExchangeAccount.objects.filter(free, pk=account.pk).update(sync_lease_until=until) != 1:
        return None
    # With the lease held, a run still marked running belongs to a worker that died mid-sync.
    if account.left_running:
        _mark_interrupted(account, now)
    return SyncRun.objects.create(
        location=account.location,
        sync_round_id=request.round_id,
        task_id=request.task_id,
        attempt=request.attempt,
        started_at=now,
    )


def _mark_interrupted(account: ExchangeAccount, now: datetime) -> None:
    SyncRun.objects.filter(location=account.location, outcome=SyncOutcome.RUNNING).update(
        outcome=SyncOutcome.FAILED,
        finished_at=now,
        error_class="Interrupted",
        error_message="The worker stopped during this sync; the sync was run again.",
    )


def _fetch_and_store(account: ExchangeAccount, run: SyncRun, request: SyncRequest) -> SyncRun:
    try:
        fetched = _fetch(account)
    except ExchangeFault as fault:
        will_retry = fault.retryable and request.retries_left > 0
        _record_failure(run, account, fault, will_retry=will_retry)
        if will_retry:
            raise RetryableSyncError(fault.message) from fault
        return run
    store_snapshot(run=run, account=account, fetched=fetched)
    return run


def _fetch(account: ExchangeAccount) -> FetchedAccount:
    try:
        credentials = decrypt_credentials(account.credentials_encrypted)
    except CredentialsUnreadable as error:
        raise ExchangeFault(
            kind="authentication",
            error_class="CredentialsUnreadable",
            message=f"The stored credentials cannot be decrypted ({error}): enter them again.",
        ) from error
    return exchanges.fetch_account(
        account.exchange_id,
        credentials,
        account.wallets,
        emulator_url=settings.EXCHANGE_EMULATOR_URL or None,
        timeout_ms=settings.SYNC_TIMEOUT_MS,
    )


@transaction.atomic
def _record_failure(
    run: SyncRun, account: ExchangeAccount, fault: ExchangeFault, *, will_retry: bool
) -> None:
    """The run's outcome and, for rejected credentials, the broken mark; the lease ends."""
    run.outcome = SyncOutcome.RETRYING if will_retry else SyncOutcome.FAILED
    run.finished_at = timezone.now()
    run.error_class = fault.error_class
    run.error_message = fault.message
    run.save(update_fields=["outcome", "finished_at", "error_class", "error_message"])
    changes: dict[str, object] = {"sync_lease_until": None}
    if fault.credentials_broken:
        changes |= {"credentials_broken_at": run.finished_at, "credentials_error": fault.message}
    ExchangeAccount.objects.filter(pk=account.pk).update(**changes)
    log.warning("sync of %s failed: %s", account.location, fault.message)


@transaction.atomic
def store_snapshot(*, run: SyncRun, account: ExchangeAccount, fetched: FetchedAccount) -> None:
    """The snapshot, its holdings and prices, the run's success and the lease's end: one commit."""
    now = timezone.now()
    asset_ids = asset_ids_for_codes({balance.code for balance in fetched.balances})
    snapshot = HoldingSnapshot.objects.create(
        location=account.location, taken_at=now, source=SnapshotSource.SYNC, sync_run=run
    )
    Holding.objects.bulk_create(
        Holding(
            snapshot=snapshot,
            asset_id=asset_ids[balance.code],
            product=balance.product,
            amount=balance.amount,
            reported_code=balance.reported_code,
        )
        for balance in fetched.balances
    )
    store_prices(asset_ids, _quote_sources(account.exchange_id, fetched, set(asset_ids)), now)
    run.outcome = SyncOutcome.SUCCESS
    run.finished_at = now
    run.request_count = fetched.request_count
    run.save(update_fields=["outcome", "finished_at", "request_count"])
    changes: dict[str, object] = {"sync_lease_until": None}
    if fetched.key_permissions is not None:
        changes["key_permissions"] = fetched.key_permissions
    ExchangeAccount.objects.filter(pk=account.pk).update(**changes)


def asset_ids_for_codes(codes: set[str]) -> dict[str, int]:
    """Asset ids by code; a code the registry does not know is created unclassified, never
    dropped."""
    found = dict(Asset.objects.filter(code__in=codes).values_list("code", "pk"))
    missing = codes - set(found)
    if missing:
        Asset.objects.bulk_create(
            [Asset(code=code, kind=AssetKind.UNCLASSIFIED) for code in missing],
            ignore_conflicts=True,
        )
        found |= dict(Asset.objects.filter(code__in=missing).values_list("code", "pk"))
    return found


def _quote_sources(
    exchange_id: str, fetched: FetchedAccount, codes: set[str]
) -> list[tuple[str, dict[str, Decimal]]]:
    sources = [(exchange_id, fetched.quotes)]
    reference = settings.PRICE_REFERENCE_EXCHANGE
    if reference and reference != exchange_id:
        sources.append((reference, reference_quotes(reference, codes)))
    return sources


def reference_quotes(exchange_id: str, codes: set[str]) -> dict[str, Decimal]:
    """The reference exchange's public quotes, cached briefly: one request a minute, not
    one per account. A fault here leaves those codes unpriced (an alert), never zero."""
    key = f"reference-quotes:{exchange_id}:{','.join(sorted(codes))}"
    cached = _cache_get(key)
    if cached is not None:
        return {pair: Decimal(price) for pair, price in cached.items()}
    try:
        quotes = exchanges.fetch_quotes(
            exchange_id,
            codes | {"USDT", "USDC"},
            emulator_url=settings.EXCHANGE_EMULATOR_URL or None,
        )
    except ExchangeFault as fault:
        log.warning("reference quotes from %s failed: %s", exchange_id, fault.message)
        return {}
    _cache_set(key, {pair: str(price) for pair, price in quotes.items()})
    return quotes


def _cache_get(key: str) -> dict[str, str] | None:
    try:
        return cache.get(key)
    except Exception as error:  # a cache that is down is a miss, never a failed sync
        log.warning("cache unavailable (%s); fetching reference quotes directly", error)
        return None


def _cache_set(key: str, value: dict[str, str]) -> None:
    try:
        cache.set(key, value, REFERENCE_QUOTES_SECONDS)
    except Exception as error:
        log.warning("cache unavailable (%s); reference quotes not cached", error)


def store_prices(
    asset_ids: dict[str, int], sources: list[tuple[str, dict[str, Decimal]]], as_of: object
) -> None:
    prices = usd_prices(asset_ids, sources)
    Price.objects.bulk_create(
        Price(asset_id=asset_ids[code], price_usd=found.price, source=found.source, as_of=as_of)
        for code, found in prices.items()
    )

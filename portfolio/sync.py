"""Syncing an exchange account: read every wallet through ccxt, store one snapshot.

A sync either stores a complete new snapshot, atomically, or changes no holdings at all:
a failed run keeps the last good snapshot, is recorded with its error in words, and leaves
the location stale until a later sync succeeds.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import FieldDoesNotExist
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.db.models import Field, Model
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
INTERRUPTED = "Interrupted"
# Kept by each worker process between syncs. Asset ids never change for a code; an asset an
# admin deletes is dropped from here when a sync's commit fails on it (_fetch_and_store).
KNOWN_ASSET_IDS: dict[str, int] = {}
# Reference quotes by cache key: (expiry as a Unix time, quotes).
REFERENCE_QUOTES: dict[str, tuple[float, dict[str, Decimal]]] = {}
# The two statements every sync starts with, in SQL rather than through the ORM: building
# them cost more CPU than running them, 1.4 ms a sync (bench/bench_sync.py).
LOAD_ACCOUNT_SQL = """
    SELECT account.*,
           EXISTS (SELECT 1 FROM portfolio_syncrun run
                    WHERE run.task_id = %s AND run.task_id <> '' AND run.outcome = %s)
             AS already_succeeded
      FROM portfolio_exchangeaccount account
     WHERE account.location_id = %s
"""
# The constraint syncrun_one_running_per_location turns a second running run into a conflict.
START_RUN_SQL = """
    INSERT INTO portfolio_syncrun (location_id, sync_round_id, task_id, attempt, started_at,
                                   outcome, error_class, error_message, request_count)
    VALUES (%s, %s, %s, %s, %s, %s, '', '', 0)
    ON CONFLICT DO NOTHING
    RETURNING id
"""


class RetryableSyncError(Exception):
    """A transient fault (network, rate limit, maintenance, bad response): try again later."""


# Worth a retry: a database that restarts or is briefly locked is as transient as a 503.
TRANSIENT_ERRORS = (RetryableSyncError, OperationalError, InterfaceError)


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
    2. Record a running run: at most one per account (a database constraint), so it is
       also the lock that keeps a second sync of the account out.
    3. Fetch every wallet outside any transaction, then store the snapshot atomically, or
       record the failure; raise RetryableSyncError when a retry is worth it.
    """
    account = _load_account(request)
    # A column of LOAD_ACCOUNT_SQL: raw() sets it on the model, where no type can declare it.
    if account.already_succeeded:  # type: ignore[attr-defined]
        return None
    if account.credentials_broken_at is not None or not account.has_credentials:
        return _record_skip(account, request)
    run = _start_run(account, request)
    if run is None:
        if request.retries_left > 0:
            raise RetryableSyncError("another sync of this account is running")
        return None  # the running sync is doing this work
    try:
        return _fetch_and_store(account, run, request)
    except BaseException as error:
        # Unless its failure was recorded already, end the run, so a retry is not locked out.
        retrying = isinstance(error, TRANSIENT_ERRORS) and request.retries_left > 0
        _end_interrupted_run(run, retrying=retrying)
        raise


def _load_account(request: SyncRequest) -> ExchangeAccount:
    """The account and whether this task already succeeded: one query."""
    params = [request.task_id, SyncOutcome.SUCCESS, request.location_id]
    found = list(ExchangeAccount.objects.raw(LOAD_ACCOUNT_SQL, params))
    if not found:
        raise ExchangeAccount.DoesNotExist(f"no exchange account {request.location_id}")
    return found[0]


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
        location_id=account.pk,
        sync_round_id=request.round_id,
        task_id=request.task_id,
        attempt=request.attempt,
        started_at=now,
        finished_at=now,
        outcome=SyncOutcome.FAILED,
        error_class="CredentialsBroken",
        error_message=message,
    )


def _start_run(account: ExchangeAccount, request: SyncRequest) -> SyncRun | None:
    """A running run for this sync; None if another sync of the account is running.

    A run still running after SYNC_LEASE_SECONDS (longer than any task may run) was left
    by a worker that died: it is marked interrupted and this sync goes ahead.
    """
    now = timezone.now()
    run = _insert_running_run(account, request, now)
    if run is None and _interrupt_abandoned_run(account, now):
        run = _insert_running_run(account, request, now)
    return run


def _insert_running_run(
    account: ExchangeAccount, request: SyncRequest, now: datetime
) -> SyncRun | None:
    run = SyncRun(
        location_id=account.pk,
        sync_round_id=request.round_id,
        task_id=request.task_id,
        attempt=request.attempt,
        started_at=now,
    )
    started_at = SyncRun._meta.get_field("started_at").get_db_prep_value(now, connection)
    params = [run.location_id, run.sync_round_id, run.task_id, run.attempt, started_at]
    with connection.cursor() as cursor:
        cursor.execute(START_RUN_SQL, [*params, SyncOutcome.RUNNING])
        row = cursor.fetchone()
    if row is None:
        return None
    run.pk, run._state.adding = row[0], False
    return run


def _interrupt_abandoned_run(account: ExchangeAccount, now: datetime) -> bool:
    abandoned_before = now - timedelta(seconds=settings.SYNC_LEASE_SECONDS)
    abandoned = SyncRun.objects.filter(
        location_id=account.pk, outcome=SyncOutcome.RUNNING, started_at__lt=abandoned_before
    )
    return bool(abandoned.update(**_interrupted(now)))


def _end_interrupted_run(run: SyncRun, *, retrying: bool) -> None:
    ended = _interrupted(timezone.now())
    if retrying:
        ended["outcome"] = SyncOutcome.RETRYING
    try:
        SyncRun.objects.filter(pk=run.pk, outcome=SyncOutcome.RUNNING).update(**ended)
    except DatabaseError as error:  # the database is down: a later sync ends it as abandoned
        log.warning("sync run %s could not be ended: %s", run.pk, error)


def _interrupted(now: datetime) -> dict[str, object]:
    return {
        "outcome": SyncOutcome.FAILED,
        "finished_at": now,
        "error_class": INTERRUPTED,
        "error_message": "The sync stopped before it finished; it was run again.",
    }


def _fetch_and_store(account: ExchangeAccount, run: SyncRun, request: SyncRequest) -> SyncRun:
    try:
        fetched = _fetch(account)
    except ExchangeFault as fault:
        will_retry = fault.retryable and request.retries_left > 0
        _record_failure(run, account, fault, will_retry=will_retry)
        if will_retry:
            raise RetryableSyncError(fault.message) from fault
        return run
    try:
        store_snapshot(run=run, account=account, fetched=fetched)
    except IntegrityError as error:
        # An asset id this process kept was deleted since, or a duplicate of this task
        # succeeded meanwhile: either way a retry, with ids read afresh, settles it.
        KNOWN_ASSET_IDS.clear()
        raise RetryableSyncError(f"the snapshot was not stored ({error}); trying again") from error
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
    """The run's outcome and, for rejected credentials, the broken mark."""
    run.outcome = SyncOutcome.RETRYING if will_retry else SyncOutcome.FAILED
    run.finished_at = timezone.now()
    run.error_class = fault.error_class
    run.error_message = fault.message
    run.save(update_fields=["outcome", "finished_at", "error_class", "error_message"])
    if fault.credentials_broken:
        ExchangeAccount.objects.filter(pk=account.pk).update(
            credentials_broken_at=run.finished_at, credentials_error=fault.message
        )
    log.warning("sync of %s failed: %s", account.location, fault.message)


@transaction.atomic
def store_snapshot(*, run: SyncRun, account: ExchangeAccount, fetched: FetchedAccount) -> None:
    """The snapshot, its holdings and prices and the run's success: one commit."""
    now = timezone.now()
    asset_ids = asset_ids_for_codes({balance.code for balance in fetched.balances})
    snapshot = HoldingSnapshot.objects.create(
        location_id=account.pk, taken_at=now, source=SnapshotSource.SYNC, sync_run=run
    )
    insert_rows(
        Holding,
        [
            {
                "snapshot_id": snapshot.pk,
                "asset_id": asset_ids[balance.code],
                "product": balance.product,
                "amount": balance.amount,
                "reported_code": balance.reported_code,
            }
            for balance in fetched.balances
        ],
    )
    store_prices(asset_ids, _quote_sources(account.exchange_id, fetched, set(asset_ids)), now)
    run.outcome = SyncOutcome.SUCCESS
    run.finished_at = now
    run.request_count = fetched.request_count
    run.save(update_fields=["outcome", "finished_at", "request_count"])
    permissions = fetched.key_permissions
    if permissions is not None and permissions != account.key_permissions:
        ExchangeAccount.objects.filter(pk=account.pk).update(key_permissions=permissions)


def asset_ids_for_codes(codes: set[str]) -> dict[str, int]:
    """Asset ids by code; a code the registry does not know is created unclassified, never
    dropped. Ids read once are kept by the process (see KNOWN_ASSET_IDS)."""
    found = {code: KNOWN_ASSET_IDS[code] for code in codes if code in KNOWN_ASSET_IDS}
    if len(found) == len(codes):
        return found
    stored = dict(Asset.objects.filter(code__in=codes - set(found)).values_list("code", "pk"))
    KNOWN_ASSET_IDS.update(stored)  # committed rows: safe to keep
    found |= stored
    missing = codes - set(found)
    if missing:  # created in the caller's transaction: kept only once it commits
        Asset.objects.bulk_create(
            [Asset(code=code, kind=AssetKind.UNCLASSIFIED) for code in missing],
            ignore_conflicts=True,
        )
        found |= dict(Asset.objects.filter(code__in=missing).values_list("code", "pk"))
    return found


def forget_process_caches() -> None:
    """Drop what this process remembers between syncs (tests start each from nothing)."""
    KNOWN_ASSET_IDS.clear()
    REFERENCE_QUOTES.clear()


def _quote_sources(
    exchange_id: str, fetched: FetchedAccount, codes: set[str]
) -> list[tuple[str, dict[str, Decimal]]]:
    sources = [(exchange_id, fetched.quotes)]
    reference = settings.PRICE_REFERENCE_EXCHANGE
    if reference and reference != exchange_id:
        sources.append((reference, reference_quotes(reference, codes)))
    return sources


# The reference quotes' clock (Unix seconds). Tests replace this one function rather than
# time.time, which the whole process shares.
quotes_clock = time.time


def reference_quotes(exchange_id: str, codes: set[str]) -> dict[str, Decimal]:
    """The reference exchange's public quotes, shared for a minute by every sync of every
    worker (through the cache) and kept by this process until they expire: one request a
    minute, not one per account. A fault leaves those codes unpriced (an alert), never zero."""
    key = f"reference-quotes:v2:{exchange_id}:{','.join(sorted(codes))}"
    kept = REFERENCE_QUOTES.get(key)
    if kept is None or kept[0] <= quotes_clock():
        kept = _cache_get(key)
    if kept is None or kept[0] <= quotes_clock():
        try:
            quotes = exchanges.fetch_quotes(
                exchange_id,
                codes | {"USDT", "USDC"},
                emulator_url=settings.EXCHANGE_EMULATOR_URL or None,
            )
        except ExchangeFault as fault:
            log.warning("reference quotes from %s failed: %s", exchange_id, fault.message)
            return {}
        kept = (quotes_clock() + REFERENCE_QUOTES_SECONDS, quotes)
        _cache_set(key, kept)
    REFERENCE_QUOTES[key] = kept
    return kept[1]


def _cache_get(key: str) -> tuple[float, dict[str, Decimal]] | None:
    try:
        return cache.get(key)
    except Exception as error:  # a cache that is down is a miss, never a failed sync
        log.warning("cache unavailable (%s); fetching reference quotes directly", error)
        return None


def _cache_set(key: str, value: tuple[float, dict[str, Decimal]]) -> None:
    try:
        cache.set(key, value, REFERENCE_QUOTES_SECONDS)
    except Exception as error:
        log.warning("cache unavailable (%s); reference quotes not cached", error)


def store_prices(
    asset_ids: dict[str, int], sources: list[tuple[str, dict[str, Decimal]]], as_of: object
) -> None:
    prices = usd_prices(asset_ids, sources)
    insert_rows(
        Price,
        [
            {
                "asset_id": asset_ids[code],
                "price_usd": found.price,
                "source": found.source,
                "is_manual": False,
                "as_of": as_of,
            }
            for code, found in prices.items()
        ],
    )


def insert_rows(model: type[Model], rows: list[dict[str, object]]) -> None:
    """Rows (by field attname) in one INSERT, each value converted by its field as the ORM
    converts it. bulk_create costs ~0.3 ms more CPU a call, spent returning and setting ids
    that a sync never reads, and a sync makes two such calls (bench/bench_sync.py)."""
    if not rows:
        return
    quote = connection.ops.quote_name
    fields = [_column_field(model, name) for name in rows[0]]
    columns = ", ".join(quote(column) for _, column in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    table = quote(model._meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(rows))}"  # noqa: S608
    params = [
        field.get_db_prep_save(values[field.attname], connection)
        for values in rows
        for field, _ in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _column_field(model: type[Model], attname: str) -> tuple[Field[object, object], str]:
    """The field stored in the column `attname` names, and that column."""
    field = model._meta.get_field(attname)
    # Not a ForeignObjectRel (a relation seen from the other side), which has no column.
    if not isinstance(field, Field) or field.column is None:
        raise FieldDoesNotExist(f"{model.__name__} has no column for {attname!r}")
    return field, field.column

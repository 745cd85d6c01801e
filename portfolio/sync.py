"""Syncing an exchange account: read every wallet through ccxt, store one snapshot.

A sync either stores a complete new snapshot, atomically, or changes no holdings at all:
a failed run keeps the last good snapshot, is recorded with its error in words, and leaves
the location stale until a later sync succeeds. A read that would lower the location's value
(or one wallet's) by more than SYNC_DROP_THRESHOLD is held for confirmation (portfolio.drops)
instead of stored. Every run ends with its true outcome and a sync alert that follows it
(riskmodels.sync_alerts); no exchange fault, malformed value or error of our own escapes.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Context, Decimal
from typing import Any

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

from portfolio import drops, exchanges, subaccounts
from portfolio.crypto import CredentialsUnreadable, decrypt_credentials
from portfolio.exchanges import ExchangeFault, FetchedAccount, FetchedBalance, Lock
from portfolio.models import (
    AMOUNT,
    FINAL_OUTCOMES,
    Asset,
    AssetKind,
    DropState,
    ExchangeAccount,
    Holding,
    HoldingLock,
    HoldingSnapshot,
    Price,
    SnapshotSource,
    SyncOutcome,
    SyncRun,
)
from portfolio.pricing import usd_prices
from riskmodels.models import SYNC_RULE, AlertState

log = logging.getLogger(__name__)
REFERENCE_QUOTES_SECONDS = 60
INTERRUPTED = "Interrupted"
# Exact arithmetic for the storability checks: no rounding before the comparison.
EXACT = Context(prec=80)
LIABILITY_PRODUCTS = frozenset(
    {"margin", "futures", "options"}
)  # where a negative amount is a debt
CODE_LENGTH = Asset._meta.get_field("code").max_length or 32
REPORTED_LENGTH = Holding._meta.get_field("reported_code").max_length or 40
PRICE_ROUNDING_TOLERANCE = Decimal("1e-12")
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
             AS already_succeeded,
           EXISTS (SELECT 1 FROM portfolio_unconfirmeddrop held
                    WHERE held.location_id = account.location_id AND held.state = %s)
             AS drop_pending,
           EXISTS (SELECT 1 FROM riskmodels_alert alert
                    JOIN portfolio_custodylocation location
                      ON location.id = account.location_id
                   WHERE alert.portfolio_id = location.portfolio_id
                     AND alert.rule = %s AND alert.state <> %s
                     AND alert.subject = CAST(account.location_id AS TEXT))
             AS sync_alert_live,
           COALESCE(master.credentials_encrypted, account.credentials_encrypted)
             AS key_encrypted,
           CASE WHEN account.master_id IS NULL THEN account.credentials_broken_at
                ELSE master.credentials_broken_at END AS key_broken_at,
           COALESCE(master.credentials_error, account.credentials_error) AS key_error
      FROM portfolio_exchangeaccount account
      LEFT JOIN portfolio_exchangeaccount master ON master.location_id = account.master_id
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
    """A transient fault the service could not record (the database is unreachable)."""


# Worth a retry: a database that restarts or is briefly locked is as transient as a 503.
TRANSIENT_ERRORS = (RetryableSyncError, OperationalError, InterfaceError)
BACKOFF_BASE_SECONDS = 5
BACKOFF_CAP_SECONDS = 300


def retry_delay(attempt: int) -> timedelta:
    """Exponential backoff with full jitter after the given attempt, so that the retries of
    many accounts do not align."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(attempt - 1, 0))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # noqa: S311 - jitter


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
    3. Fetch every wallet outside any transaction, then store the snapshot (or hold a large
       drop for confirmation) atomically, or record the failure.
    Whatever happens, the run ends with its true outcome in words: RETRYING with its next
    attempt due (sent by beat), or final. Only a database that cannot be reached at all
    raises, since then nothing can be recorded.
    """
    account = _load_account(request)
    if account is None:  # deleted since the task was sent
        log.warning("no exchange account %s to sync", request.location_id)
        return None
    # A column of LOAD_ACCOUNT_SQL: raw() sets it on the model, where no type can declare it.
    if account.already_succeeded:  # type: ignore[attr-defined]
        return None
    # Columns of LOAD_ACCOUNT_SQL: the account's own key, or a sub-account's master's.
    if account.key_broken_at is not None or not account.key_encrypted:  # type: ignore[attr-defined]
        return _after_final(_record_skip(account, request), account)
    if account.subaccount_missing_since is not None:
        return _after_final(_record_gone(account, request), account)
    run = _start_run(account, request)
    if run is None:
        return _record_busy(account, request)
    try:
        _fetch_and_store(account, run, request)
    except BaseException as error:
        _end_run_on_error(run, request, error)
        if not isinstance(error, Exception) or isinstance(error, TRANSIENT_ERRORS):
            raise  # a worker shutting down, or a database gone: nothing more can be done here
    return _after_final(run, account)


def _after_final(run: SyncRun, account: ExchangeAccount) -> SyncRun:
    """A final run changes the location's sync alert (opened, escalated or resolved). The
    usual case, a success with no live sync alert, changes nothing and costs no query."""
    from riskmodels.sync_alerts import follow_location_sync  # riskmodels reads portfolio

    # Columns of LOAD_ACCOUNT_SQL, set by raw() (see already_succeeded).
    live = account.sync_alert_live  # type: ignore[attr-defined]
    if run.outcome == SyncOutcome.SUCCESS and not live:
        return run
    if run.outcome in FINAL_OUTCOMES:
        try:
            follow_location_sync(run.location_id)
        except Exception:  # the run is recorded: the alert follows at the next sync
            log.exception("sync alert of location %s not updated", run.location_id)
    return run


def _load_account(request: SyncRequest) -> ExchangeAccount | None:
    """The account, whether this task already succeeded, whether a drop is held and whether
    a sync alert is live: one query."""
    params: list[object] = [request.task_id, SyncOutcome.SUCCESS, DropState.PENDING]
    params += [SYNC_RULE, AlertState.RESOLVED, request.location_id]
    found = list(ExchangeAccount.objects.raw(LOAD_ACCOUNT_SQL, params))
    return found[0] if found else None


def _record_skip(account: ExchangeAccount, request: SyncRequest) -> SyncRun:
    """A run that never reached the exchange: the credentials are missing or were rejected."""
    whose = "the master account's" if account.is_subaccount else "these"
    if account.key_encrypted:  # type: ignore[attr-defined]  # LOAD_ACCOUNT_SQL
        error = account.key_error  # type: ignore[attr-defined]
        message = f"Not synced: the exchange rejected {whose} credentials ({error})"
    else:
        which = "the master" if account.is_subaccount else "this"
        message = f"Not synced: {which} account has no credentials yet."
    return _ended_run(account, request, SyncOutcome.FAILED, "CredentialsBroken", message)


def _record_gone(account: ExchangeAccount, request: SyncRequest) -> SyncRun:
    """A sub-account its master's listing no longer has: not read, its figures kept."""
    message = (
        "Not synced: the exchange no longer lists this sub-account under the master key; its "
        "last balances are kept and shown as not current."
    )
    return _ended_run(account, request, SyncOutcome.FAILED, "SubAccountGone", message)


def _record_busy(account: ExchangeAccount, request: SyncRequest) -> SyncRun | None:
    """Another sync of the account is running: that one does the work, or, when this is a
    round's own sync with retries left, this one tries again shortly."""
    if request.retries_left <= 0:
        return None
    message = "Another sync of this account was running; this one will try again shortly."
    run = _ended_run(account, request, SyncOutcome.RETRYING, "Busy", message)
    run.retry_due_at = timezone.now() + retry_delay(1)
    run.save(update_fields=["retry_due_at"])
    return run


def _ended_run(
    account: ExchangeAccount, request: SyncRequest, outcome: str, error_class: str, message: str
) -> SyncRun:
    now = timezone.now()
    return SyncRun.objects.create(
        location_id=account.pk,
        sync_round_id=request.round_id,
        task_id=request.task_id,
        attempt=request.attempt,
        started_at=now,
        finished_at=now,
        outcome=outcome,
        error_class=error_class,
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


def _interrupted(now: datetime) -> dict[str, object]:
    return {
        "outcome": SyncOutcome.FAILED,
        "finished_at": now,
        "error_class": INTERRUPTED,
        "error_message": "The sync stopped before it finished (its worker was lost); "
        "the last good balances are kept.",
    }


def _end_run_on_error(run: SyncRun, request: SyncRequest, error: BaseException) -> None:
    """End a run that an unexpected error stopped, with what is true about it: retrying
    (the database will be back, or the worker's message is delivered again) or failed."""
    now = timezone.now()
    if not isinstance(error, Exception):
        fields = _interrupted(now) | {"outcome": SyncOutcome.RETRYING}
        fields["error_message"] = "The worker stopped during the sync; it will run again."
    elif isinstance(error, TRANSIENT_ERRORS):
        fields = {
            "outcome": SyncOutcome.RETRYING if request.retries_left > 0 else SyncOutcome.FAILED,
            "finished_at": now,
            "error_class": type(error).__name__,
            "error_message": f"The database failed during the sync ({_short(error)}); "
            "the last good balances are kept.",
        }
    elif type(error).__name__ == "SoftTimeLimitExceeded":  # Celery's, raised in the task
        fields = {
            "outcome": SyncOutcome.FAILED,
            "finished_at": now,
            "error_class": "TimeLimit",
            "error_message": "The sync ran past the task's time limit; "
            "the last good balances are kept.",
        }
    else:
        log.exception("sync of location %s failed unexpectedly", run.location_id)
        fields = {
            "outcome": SyncOutcome.FAILED,
            "finished_at": now,
            "error_class": "InternalError",
            "error_message": f"The sync failed on an error of Counterweight's own "
            f"({type(error).__name__}); the last good balances are kept. It was logged.",
        }
    for name, value in fields.items():
        setattr(run, name, value)
    try:
        SyncRun.objects.filter(pk=run.pk, outcome=SyncOutcome.RUNNING).update(**fields)
    except DatabaseError as db_error:  # the database is down: a later sync ends it as abandoned
        log.warning("sync run %s could not be ended: %s", run.pk, db_error)


def _short(error: BaseException) -> str:
    return " ".join(str(error).split())[:160]


def _fetch_and_store(account: ExchangeAccount, run: SyncRun, request: SyncRequest) -> None:
    try:
        fetched = _fetch(account)
        check_storable(account.exchange_id, fetched)
    except ExchangeFault as fault:
        _record_failure(run, account, fault, request)
        return
    try:
        store_result(run=run, account=account, fetched=fetched)
    except IntegrityError as error:
        # An asset id this process kept was deleted since, or a duplicate of this task
        # succeeded meanwhile: either way a retry, with ids read afresh, settles it.
        KNOWN_ASSET_IDS.clear()
        not_stored = ExchangeFault(
            kind="network",
            error_class="NotStored",
            message=f"The snapshot was not stored ({_short(error)}); the sync will retry.",
        )
        _record_failure(run, account, not_stored, request)


def _fetch(account: ExchangeAccount) -> FetchedAccount:
    try:
        credentials = decrypt_credentials(account.key_encrypted)  # type: ignore[attr-defined]
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
        subaccount=account.subaccount,
        list_subaccounts=account.include_subaccounts,
    )


# What the holding columns hold: numeric(38, 18) amounts, codes of 32 and 40 characters.
AMOUNT_QUANTUM = Decimal(1).scaleb(-AMOUNT["decimal_places"])
AMOUNT_LIMIT = Decimal(10) ** (AMOUNT["max_digits"] - AMOUNT["decimal_places"])


def check_storable(exchange_id: str, fetched: FetchedAccount) -> None:
    """The last line of defence behind the exchange module's checks: a balance the columns
    cannot hold exactly is a malformed answer, never a rounded or truncated holding."""
    for balance in fetched.balances:
        problem = storable_problem(balance)
        if problem:
            name = exchanges.display_name(exchange_id)
            raise ExchangeFault(
                kind="bad_response",
                error_class="MalformedAnswer",
                message=f"{name} sent a malformed answer for the {balance.product} wallet "
                f"({problem}). The sync will retry; the last good balances are kept.",
            )


def storable_problem(balance: FetchedBalance) -> str:
    amount = balance.amount
    if not amount.is_finite() or abs(amount) >= AMOUNT_LIMIT:
        return f"amount of {balance.code[:40]} is {amount}, beyond what can be held"
    if amount != amount.quantize(AMOUNT_QUANTUM, context=EXACT):
        return f"amount of {balance.code} has more than {AMOUNT['decimal_places']} decimals"
    if amount < 0 and balance.product not in LIABILITY_PRODUCTS:
        return f"amount of {balance.code} is negative in a {balance.product} wallet"
    if not 0 < len(balance.code) <= CODE_LENGTH or len(balance.reported_code) > REPORTED_LENGTH:
        return f"currency code {balance.reported_code[:40]!r} is too long or empty"
    return lock_problem(balance)


def lock_problem(balance: FetchedBalance) -> str:
    """Locked parts are positive, storable, dated, and together within the balance."""
    for lock in balance.locks:
        if not lock.amount.is_finite() or not 0 < lock.amount < AMOUNT_LIMIT:
            return f"locked amount of {balance.code} is {lock.amount}"
        if lock.amount != lock.amount.quantize(AMOUNT_QUANTUM, context=EXACT):
            return (
                f"locked amount of {balance.code} has more than {AMOUNT['decimal_places']} decimals"
            )
        if lock.until.utcoffset() is None:
            return f"lock end date of {balance.code} has no time zone"
    if balance.locks and sum((lock.amount for lock in balance.locks), Decimal(0)) > balance.amount:
        return f"locked amounts of {balance.code} exceed its balance {balance.amount}"
    return ""


@transaction.atomic
def _record_failure(
    run: SyncRun, account: ExchangeAccount, fault: ExchangeFault, request: SyncRequest
) -> None:
    """The run's outcome, its next attempt when one is worth it, and, for rejected
    credentials, the broken mark."""
    will_retry = fault.retryable and request.retries_left > 0
    run.outcome = SyncOutcome.RETRYING if will_retry else SyncOutcome.FAILED
    run.finished_at = timezone.now()
    run.error_class = fault.error_class
    run.error_message = fault.message
    run.retry_due_at = run.finished_at + retry_delay(request.attempt) if will_retry else None
    run.save(
        update_fields=["outcome", "finished_at", "error_class", "error_message", "retry_due_at"]
    )
    if fault.credentials_broken and not account.is_subaccount:  # a master's key: its own sync
        ExchangeAccount.objects.filter(pk=account.pk).update(
            credentials_broken_at=run.finished_at, credentials_error=fault.message
        )
    log.warning("sync of %s failed: %s", account.location, fault.message)


@transaction.atomic
def store_result(*, run: SyncRun, account: ExchangeAccount, fetched: FetchedAccount) -> None:
    """Prices, permissions and then either the snapshot (the run succeeds) or, for a large
    drop, the held read (the run is unconfirmed): one commit."""
    now = timezone.now()
    asset_ids = asset_ids_for_codes({balance.code for balance in fetched.balances})
    before = drops.confirmed_rows(account.pk)
    last = last_accepted_prices({row[0] for row in before} | set(asset_ids))
    sources = _quote_sources(account.exchange_id, fetched, set(asset_ids))
    accepted = store_prices(asset_ids, sources, now, last=last, refused=fetched.refused_quotes)
    _store_permissions(account, fetched)
    if fetched.subaccounts is not None:
        subaccounts.follow_listing(account, fetched.subaccounts, run=run, now=now)
    run.request_count = fetched.request_count
    read = [(b.code, b.product, b.amount) for b in fetched.balances]
    # Before and after at the same prices: a price move is never a drop.
    prices: dict[str, Decimal | None] = {**last, **accepted}
    pending = account.drop_pending  # type: ignore[attr-defined]  # as sync_alert_live
    held = drops.pending_drop(account.pk) if pending else None
    drop = drops.find_drop(before, read, prices, settings.SYNC_DROP_THRESHOLD)
    if held is not None and drops.agrees(drops.held_rows(held), read, prices):
        snapshot = _store_snapshot(run, fetched, asset_ids, now)
        drops.settle(held, DropState.CONFIRMED, "confirmed by a second read", now=now,
                     snapshot=snapshot)  # fmt: skip
    elif drop is not None:
        if held is not None:
            drops.settle(held, DropState.SUPERSEDED, "a later read found other balances", now=now)
        _hold(run, fetched, drop, now)
    else:
        if held is not None:
            drops.settle(held, DropState.SUPERSEDED, "the next read did not show it", now=now)
        _store_snapshot(run, fetched, asset_ids, now)


def _store_snapshot(
    run: SyncRun, fetched: FetchedAccount, asset_ids: dict[str, int], now: datetime
) -> HoldingSnapshot:
    from riskmodels.freshness import note_sync  # riskmodels reads portfolio

    snapshot = _snapshot_of(run, fetched.balances, asset_ids, taken_at=now)
    note_sync(location_id=run.location_id, taken_at=now, in_round=run.sync_round_id is not None)
    run.outcome = SyncOutcome.SUCCESS
    run.finished_at = now
    run.save(update_fields=["outcome", "finished_at", "request_count"])
    return snapshot


def _insert_holdings(
    snapshot: HoldingSnapshot, balances: Iterable[FetchedBalance], asset_ids: dict[str, int]
) -> None:
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
            for balance in balances
        ],
    )
    insert_rows(
        HoldingLock,
        [
            {
                "snapshot_id": snapshot.pk,
                "asset_id": asset_ids[balance.code],
                "product": balance.product,
                "amount": lock.amount,
                "unlocks_at": lock.until,
            }
            for balance in balances
            for lock in balance.locks
        ],
    )


def _hold(run: SyncRun, fetched: FetchedAccount, drop: drops.Drop, now: datetime) -> None:
    balances = [held_row(b) for b in fetched.balances]
    held = drops.hold_drop(run=run, balances=balances, drop=drop, now=now)
    run.outcome = SyncOutcome.UNCONFIRMED
    run.finished_at = now
    run.error_class = "UnconfirmedDrop"
    run.error_message = (
        f"Drop of {drops.usd(drop.drop_usd)} USD awaiting confirmation ({drop.detail}). "
        f"The last confirmed balances are kept; a second read at "
        f"{timezone.localtime(held.reread_due_at):%H:%M:%S} confirms it if it agrees."
    )
    run.save(
        update_fields=["outcome", "finished_at", "error_class", "error_message", "request_count"]
    )


def held_row(balance: FetchedBalance) -> list[Any]:
    """A balance as a held drop keeps it in JSON: code, product, amount, reported code, and
    its locks as [amount, ISO end date] pairs."""
    locks = [[str(lock.amount), lock.until.isoformat()] for lock in balance.locks]
    return [balance.code, balance.product, str(balance.amount), balance.reported_code, locks]


def balance_of(row: list[Any]) -> FetchedBalance:
    """The inverse of held_row (rows held before locks were kept have four fields)."""
    code, product, amount, reported, *rest = row
    locks = tuple(
        Lock(Decimal(value), datetime.fromisoformat(until)) for value, until in (rest or [[]])[0]
    )
    return FetchedBalance(reported, code, product, Decimal(amount), locks)


def store_read_snapshot(
    run: SyncRun, balances: list[list[Any]], *, taken_at: datetime
) -> HoldingSnapshot:
    """A held read made the location's holdings (a manager confirmed its drop)."""
    read = [balance_of(row) for row in balances]
    asset_ids = asset_ids_for_codes({balance.code for balance in read})
    return _snapshot_of(run, read, asset_ids, taken_at=taken_at)


def _snapshot_of(
    run: SyncRun,
    balances: Iterable[FetchedBalance],
    asset_ids: dict[str, int],
    *,
    taken_at: datetime,
) -> HoldingSnapshot:
    """The run's read as a snapshot of its location, with its holdings."""
    snapshot = HoldingSnapshot.objects.create(
        location_id=run.location_id, taken_at=taken_at, source=SnapshotSource.SYNC, sync_run=run
    )
    _insert_holdings(snapshot, balances, asset_ids)
    return snapshot


def _store_permissions(account: ExchangeAccount, fetched: FetchedAccount) -> None:
    """New flags when the exchange said them; the last known ones, marked, when its answer
    could not be read."""
    problem = fetched.permissions_problem
    if problem:
        if problem != account.key_permissions_problem:
            ExchangeAccount.objects.filter(pk=account.pk).update(key_permissions_problem=problem)
        return
    permissions = fetched.key_permissions
    if permissions is None:
        return
    if permissions != account.key_permissions or account.key_permissions_problem:
        ExchangeAccount.objects.filter(pk=account.pk).update(
            key_permissions=permissions, key_permissions_problem=""
        )


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
    asset_ids: dict[str, int],
    sources: list[tuple[str, dict[str, Decimal]]],
    as_of: datetime,
    *,
    last: Mapping[str, Decimal],
    refused: Mapping[str, str] | None = None,
) -> dict[str, Decimal]:
    """Each code's USD price, or, for a quote that cannot be trusted (against ``last``, the
    last accepted prices), a refusal with its reason: the asset is then unpriced (never zero)
    until a quote is accepted again. Returns the prices accepted, by code."""
    prices = usd_prices(asset_ids, sources)
    rows, accepted = [], {}
    for code, found in prices.items():
        reason = price_problem(found.price, last.get(code))
        if not reason:
            accepted[code] = found.price.quantize(AMOUNT_QUANTUM, context=EXACT)
        rows.append(_price_row(asset_ids[code], found.source, as_of, accepted.get(code), reason))
    for code, reason in _refused_codes(refused or {}, set(asset_ids) - set(prices)).items():
        rows.append(_price_row(asset_ids[code], sources[0][0], as_of, None, reason))
    insert_rows(Price, rows)
    return accepted


def _price_row(
    asset_id: int, source: str, as_of: datetime, price: Decimal | None, reason: str
) -> dict[str, object]:
    """A price (stored exactly, rounded past the 18th decimal at most) or a refusal."""
    return {
        "asset_id": asset_id,
        "price_usd": price,
        "source": source,
        "is_manual": False,
        "as_of": as_of,
        "refused_reason": reason if price is None else "",
    }


def _refused_codes(refused: Mapping[str, str], unpriced: set[str]) -> dict[str, str]:
    """The codes left unpriced because their quote was refused at the exchange boundary."""
    reasons: dict[str, str] = {}
    for symbol, reason in sorted(refused.items()):
        base = symbol.split("/", 1)[0]
        if base in unpriced and base not in reasons:
            reasons[base] = f"The {symbol} quote was refused: {reason}"
    return reasons


# Each code's latest accepted price (a refusal has none): one index lookup per asset
# (price_latest). In SQL: the ORM's version cost more CPU than the query (bench/bench_sync.py).
LAST_ACCEPTED_SQL = """
    SELECT asset.code,
           (SELECT price.price_usd FROM portfolio_price price
             WHERE price.asset_id = asset.id AND price.price_usd IS NOT NULL
             ORDER BY price.as_of DESC, price.id DESC LIMIT 1)
      FROM portfolio_asset asset
     WHERE asset.code IN ({codes})
"""


def last_accepted_prices(codes: set[str]) -> dict[str, Decimal]:
    """Each code's latest accepted price, where it has one."""
    if not codes:
        return {}
    sql = LAST_ACCEPTED_SQL.format(codes=", ".join(["%s"] * len(codes)))
    with connection.cursor() as cursor:
        cursor.execute(sql, sorted(codes))
        rows = cursor.fetchall()
    return {code: drops.as_decimal(price) for code, price in rows if price is not None}


def price_problem(price: Decimal, last: Decimal | None) -> str:
    """Why a USD price cannot be stored as the asset's price, or ""."""
    if not price.is_finite() or price <= 0:
        return f"the quote gives {price} USD, not a positive price"
    if price >= AMOUNT_LIMIT:
        return f"{price} USD is beyond what a price column holds"
    stored = price.quantize(AMOUNT_QUANTUM, context=EXACT)
    # A derived price (a quote x a stablecoin's USD rate) may carry digits beyond the 18th
    # decimal; losing those is no error. Losing more (a price of 1e-19 stored as 0) is.
    if stored == 0 or abs(stored - price) > price * PRICE_ROUNDING_TOLERANCE:
        return f"{price} USD cannot be stored exactly (18 decimals)"
    factor = settings.PRICE_JUMP_FACTOR
    if last is not None and (price > last * factor or price * factor < last):
        return (
            f"{price} USD is more than {factor}x away from the last price, {last} USD; "
            "enter a price by hand if the move is real"
        )
    return ""


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

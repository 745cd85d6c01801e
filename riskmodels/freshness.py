"""Fresh numbers: a change to a portfolio's inputs recomputes its report, once per burst.

Write side: ``note_change`` records a PendingChange per affected portfolio in the change's own
transaction and, after the commit, asks for a debounced recompute (``schedule_recompute``).
The computation deletes the pending changes it has seen (``pending_change_ids`` and
``clear_changes``, called by riskmodels.services.compute_exposure). Read side:
``report_freshness`` says what changed since the report was computed, and how old each
location's data is (newest, oldest, stale ones).

Debounce: the first change of a burst claims a short-lived cache key (Redis when configured)
and enqueues riskmodels.tasks.recompute_exposure at once; later changes find the key taken and
enqueue nothing. The task waits until the portfolio has had no new change for
RECOMPUTE_DEBOUNCE_SECONDS (RECOMPUTE_MAX_WAIT_SECONDS at most), releases the key, then
computes: a change committed before the release is read by this computation, one committed
after it enqueues the next. The wait happens in the task, not as a broker countdown: a worker
holds a countdown's message in memory, where a Redis restart loses it and kombu 5.7 crashes
the worker (tests/reliability/test_broker.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone

from portfolio.models import CustodyLocation, HoldingSnapshot, Portfolio
from riskmodels.engine.rules import Rule
from riskmodels.models import ChangeKind, ExposureSnapshot, PendingChange
from riskmodels.policies import limit_rows, resolve_policy

if TYPE_CHECKING:
    from accounts.models import User

log = logging.getLogger(__name__)

SUMMARY_LENGTH = PendingChange._meta.get_field("summary").max_length or 300
CHANGES_SHOWN = 5  # the newest ones; the banner counts the rest
SECONDS_PER_HOUR = Decimal(3600)
HOURS_QUANTUM = Decimal("0.1")


# --- write side ----------------------------------------------------------------------------


def note_change(
    *,
    portfolio_ids: Iterable[int],
    kind: ChangeKind,
    summary: str,
    user: User | None = None,
    schedule: bool = True,
) -> None:
    """Record that these portfolios' inputs changed, and recompute them after the commit.

    ``schedule=False`` when the caller computes anyway (a sync round computes at its end).
    """
    ids = sorted(set(portfolio_ids))
    now = timezone.now()
    name = user.get_username() if user is not None else ""
    PendingChange.objects.bulk_create(
        PendingChange(
            portfolio_id=pk,
            kind=kind,
            summary=summary[:SUMMARY_LENGTH],
            changed_at=now,
            changed_by=user,
            changed_by_name=name,
        )
        for pk in ids
    )
    if schedule:
        for pk in ids:
            transaction.on_commit(partial(schedule_recompute, pk))


# One statement, so that a sync (the hot path) pays one round trip for it.
NOTE_SYNC_SQL = """
    INSERT INTO riskmodels_pendingchange
           (portfolio_id, kind, summary, changed_at, changed_by_id, changed_by_name)
    SELECT portfolio_id, %s, %s || name, %s, NULL, ''
      FROM portfolio_custodylocation WHERE id = %s
"""


def note_sync(*, location_id: int, taken_at: datetime, in_round: bool) -> None:
    """A sync stored new holdings: pending until the computation its round ends with; a sync
    outside a round schedules one."""
    taken = PendingChange._meta.get_field("changed_at").get_db_prep_value(taken_at, connection)
    params = [ChangeKind.HOLDINGS, "Synced from the exchange: ", taken, location_id]
    with connection.cursor() as cursor:
        cursor.execute(NOTE_SYNC_SQL, params)
    if not in_round:
        transaction.on_commit(partial(_schedule_for_location, location_id))


def _schedule_for_location(location_id: int) -> None:
    found = CustodyLocation.objects.filter(pk=location_id).values_list("portfolio_id", flat=True)
    for portfolio_id in found:
        schedule_recompute(portfolio_id)


def every_portfolio_id() -> list[int]:
    return list(Portfolio.objects.order_by("pk").values_list("pk", flat=True))


def portfolios_holding(asset_ids: Iterable[int]) -> list[int]:
    """The portfolios whose current holdings include any of these assets."""
    latest = HoldingSnapshot.objects.filter(location=OuterRef("location_id")).order_by(
        "-taken_at", "-pk"
    )
    current = HoldingSnapshot.objects.filter(
        pk=Subquery(latest.values("pk")[:1]), holdings__asset_id__in=sorted(set(asset_ids))
    )
    return sorted(set(current.values_list("location__portfolio_id", flat=True)))


def debounce_key(portfolio_id: int) -> str:
    return f"recompute-queued:{portfolio_id}"


def _key_seconds() -> int:
    # Outlives the task's longest wait; a task lost on the way frees the key by itself.
    return settings.RECOMPUTE_MAX_WAIT_SECONDS + settings.RECOMPUTE_DEBOUNCE_SECONDS + 60


def schedule_recompute(portfolio_id: int) -> bool:
    """Enqueue one recompute unless one is already queued; whether this call enqueued it."""
    from portfolio.rounds import BROKER_ERRORS
    from riskmodels.tasks import recompute_exposure  # tasks call services, which call this

    if not cache.add(debounce_key(portfolio_id), timezone.now().isoformat(), _key_seconds()):
        return False
    try:
        recompute_exposure.delay(portfolio_id)
    except BROKER_ERRORS as error:
        # The change is committed and stays pending on the report; beat computes hourly.
        cache.delete(debounce_key(portfolio_id))
        log.warning("recompute of portfolio %s not queued: %s", portfolio_id, error)
        return False
    return True


def wait_until_quiet(portfolio_id: int, *, started: float | None = None) -> None:
    """Sleep until the portfolio's newest pending change is RECOMPUTE_DEBOUNCE_SECONDS old,
    or RECOMPUTE_MAX_WAIT_SECONDS have passed since ``started`` (a steady stream of changes
    must not keep the report stale)."""
    started = time.monotonic() if started is None else started
    quiet = timedelta(seconds=settings.RECOMPUTE_DEBOUNCE_SECONDS)
    while True:
        newest = PendingChange.objects.filter(portfolio_id=portfolio_id).aggregate(
            newest=Max("changed_at")
        )["newest"]
        wait = 0.0 if newest is None else (newest + quiet - timezone.now()).total_seconds()
        left = settings.RECOMPUTE_MAX_WAIT_SECONDS - (time.monotonic() - started)
        if wait <= 0 or left <= 0:
            return
        time.sleep(min(wait, left))


def release_debounce(portfolio_id: int) -> None:
    """From now on a change enqueues the next recompute."""
    cache.delete(debounce_key(portfolio_id))


def pending_change_ids(portfolio_id: int) -> list[int]:
    """The changes a computation starting now will see (committed before it reads)."""
    return list(
        PendingChange.objects.filter(portfolio_id=portfolio_id).values_list("pk", flat=True)
    )


def clear_changes(ids: list[int]) -> None:
    """The report now reflects these changes: they are no longer pending."""
    if ids:
        PendingChange.objects.filter(pk__in=ids).delete()


# --- read side -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChangeNote:
    """One change the report does not reflect yet, as the banner says it."""

    kind: str  # "Holdings", "Prices", "Policy"
    summary: str  # empty for investors
    changed_at: datetime
    by: str  # empty for investors and for changes nobody signed (a sync, a command)


@dataclass(frozen=True, slots=True)
class LocationAge:
    """A location's current data: its latest snapshot and how old it is now."""

    name: str
    taken_at: datetime
    age_hours: Decimal


@dataclass(frozen=True, slots=True)
class Freshness:
    """What the report's banner and "Data as of" line show."""

    changes: list[ChangeNote]  # newest first, at most CHANGES_SHOWN
    more_changes: int
    figures_from: datetime | None  # when the shown report was computed
    overdue: bool  # pending longer than a recompute should take: say so, offer Compute now
    newest: LocationAge | None
    oldest: LocationAge | None
    stale: list[LocationAge]  # oldest first
    stale_hours: Decimal | None  # the policy's stale-data warn level; None: no such level

    @property
    def pending(self) -> bool:
        return bool(self.changes)


def report_freshness(
    portfolio: Portfolio,
    snapshot: ExposureSnapshot | None,
    *,
    investor: bool,
    now: datetime | None = None,
) -> Freshness:
    """The pending changes and the location data ages of a portfolio, as ``investor`` may
    see them (no summaries or names of who changed what; custodians for location names)."""
    now = now or timezone.now()
    rows = list(PendingChange.objects.filter(portfolio=portfolio).order_by("-changed_at", "-pk"))
    changes = [_note(row, investor=investor) for row in rows[:CHANGES_SHOWN]]
    ages = location_ages(portfolio, investor=investor, now=now)
    stale_hours = stale_warn_hours(portfolio.pk, snapshot)
    overdue_after = timedelta(seconds=settings.RECOMPUTE_MAX_WAIT_SECONDS + 300)
    return Freshness(
        changes=changes,
        more_changes=max(len(rows) - CHANGES_SHOWN, 0),
        figures_from=None if snapshot is None else snapshot.computed_at,
        overdue=bool(rows) and rows[-1].changed_at < now - overdue_after,
        newest=max(ages, key=lambda age: age.taken_at, default=None),
        oldest=min(ages, key=lambda age: age.taken_at, default=None),
        stale=[]
        if stale_hours is None
        else sorted((a for a in ages if a.age_hours > stale_hours), key=lambda a: a.taken_at),
        stale_hours=stale_hours,
    )


def _note(row: PendingChange, *, investor: bool) -> ChangeNote:
    return ChangeNote(
        kind=row.get_kind_display(),
        summary="" if investor else row.summary,
        changed_at=row.changed_at,
        by="" if investor else row.changed_by_name,
    )


def location_ages(portfolio: Portfolio, *, investor: bool, now: datetime) -> list[LocationAge]:
    """Each location with data, with the time of its latest snapshot: one query."""
    latest = HoldingSnapshot.objects.filter(location=OuterRef("pk")).order_by("-taken_at", "-pk")
    locations = (
        CustodyLocation.objects.filter(portfolio=portfolio)
        .select_related("custodian")
        .annotate(taken_at=Subquery(latest.values("taken_at")[:1]))
        .exclude(taken_at=None)
        .order_by("name")
    )
    return [
        LocationAge(_location_name(location, investor), taken, _hours(now - taken))
        for location in locations
        if (taken := location.taken_at) is not None
    ]


def _location_name(location: CustodyLocation, investor: bool) -> str:
    # Investors see who holds the assets, not the fund's own names for its accounts.
    if investor:
        return str(location.custodian) if location.custodian else "Self-custody"
    return location.name


def _hours(delta: timedelta) -> Decimal:
    seconds = Decimal(delta.days * 86_400 + delta.seconds)
    return max(seconds / SECONDS_PER_HOUR, Decimal(0)).quantize(HOURS_QUANTUM)


def stale_warn_hours(portfolio_id: int, snapshot: ExposureSnapshot | None) -> Decimal | None:
    """The stale-data warn level: the lowest the report applied (no query), or without a
    report the one in force for the portfolio (its own limit or the global)."""
    if snapshot is not None:
        levels = [
            Decimal(finding["warn"])
            for finding in snapshot.report.get("findings", [])
            if finding.get("rule") == Rule.STALE_DATA and finding.get("warn") is not None
        ]
        if levels:
            return min(levels)
    policy = resolve_policy(limit_rows(portfolio_id), [])
    return policy.thresholds[Rule.STALE_DATA].warn

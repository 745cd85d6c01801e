"""Large drops in a location's holdings: held until a second read or a manager confirms them.

A fault at an exchange (an empty answer, a wallet left out) reads exactly like a withdrawal of
everything. So a sync whose result lowers the location's value, or any one asset wallet's (spot,
funding, earn, staking; margin and futures count in the total), by more than
SYNC_DROP_THRESHOLD (a fraction of it), or empties an asset wallet that held something, is kept
here instead of as a snapshot: the current holdings stay the last confirmed ones. A second read
after SYNC_DROP_CONFIRM_SECONDS that agrees with it confirms it (a real withdrawal shows within
minutes); a read that does not show the drop sets it aside; a manager may confirm or reject it.

Values are compared at the same prices (the latest), so a price move never reads as a drop.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts.audit import record_audit
from accounts.models import AuditAction
from portfolio.models import (
    DropState,
    HoldingSnapshot,
    SyncRun,
    UnconfirmedDrop,
)

if TYPE_CHECKING:
    from accounts.models import User

log = logging.getLogger(__name__)
ZERO = Decimal(0)
# Two reads agree when every wallet's value (and the location's) is within this share.
AGREEMENT = Decimal("0.01")
# The wallets judged one by one: they hold assets, which a fault can make vanish. Margin and
# futures are net positions (debts, unrealised PnL) that swing with the market and move into
# spot when a position closes: they count in the location's total only, or every open
# position would read as a drop.
ASSET_WALLETS = frozenset({"spot", "funding", "earn", "staking"})

# (code, product, amount): one balance, read or held.
Row = tuple[str, str, Decimal]


@dataclass(frozen=True, slots=True)
class Drop:
    value_before: Decimal
    value_after: Decimal
    drop_usd: Decimal  # what the fallen wallets lost together
    detail: str  # which wallets fell, in words


def wallet_values(rows: Iterable[Row], prices: Mapping[str, Decimal | None]) -> dict[str, Decimal]:
    """USD value per product (debts negative); unpriced amounts count for nothing here."""
    values: dict[str, Decimal] = {}
    for code, product, amount in rows:
        price = prices.get(code)
        values[product] = values.get(product, ZERO) + (amount * price if price else ZERO)
    return values


def held_wallets(rows: Iterable[Row]) -> set[str]:
    """The asset wallets holding something (margin and futures are judged in the total)."""
    return {product for _, product, amount in rows if amount != 0 and product in ASSET_WALLETS}


def find_drop(
    before: list[Row], after: list[Row], prices: Mapping[str, Decimal | None], threshold: Decimal
) -> Drop | None:
    """The drop from ``before`` to ``after`` if it needs confirming, else None."""
    was, now = wallet_values(before, prices), wallet_values(after, prices)
    emptied = held_wallets(before) - held_wallets(after)
    fallen = [
        product
        for product in sorted((set(was) & ASSET_WALLETS) | emptied)
        if product in emptied or _fell(was.get(product, ZERO), now.get(product, ZERO), threshold)
    ]
    total_before, total_after = sum(was.values(), ZERO), sum(now.values(), ZERO)
    if not fallen and not _fell(total_before, total_after, threshold):
        return None
    lost = sum((was.get(p, ZERO) - now.get(p, ZERO) for p in fallen), ZERO)
    lost = max(lost, total_before - total_after, ZERO)
    detail = "; ".join(_wallet_words(p, was.get(p, ZERO), now.get(p, ZERO)) for p in fallen)
    return Drop(
        total_before, total_after, lost, detail or _location_words(total_before, total_after)
    )


def _fell(before: Decimal, after: Decimal, threshold: Decimal) -> bool:
    return before > 0 and before - after > threshold * before


def _wallet_words(product: str, before: Decimal, after: Decimal) -> str:
    return f"{product} wallet {usd(before)} → {usd(after)} USD"


def _location_words(before: Decimal, after: Decimal) -> str:
    return f"location {usd(before)} → {usd(after)} USD"


def usd(value: Decimal) -> str:
    return f"{value:,.2f}"


def agrees(held: list[Row], read: list[Row], prices: Mapping[str, Decimal | None]) -> bool:
    """Whether a second read shows what the held one showed: the same wallets holding
    something, and every wallet's value (and the total) within AGREEMENT of it."""
    if held_wallets(held) != held_wallets(read):
        return False
    first, second = wallet_values(held, prices), wallet_values(read, prices)
    wallets = (set(first) | set(second)) & ASSET_WALLETS
    pairs = [(first.get(p, ZERO), second.get(p, ZERO)) for p in wallets]
    pairs.append((sum(first.values(), ZERO), sum(second.values(), ZERO)))
    return all(abs(a - b) <= AGREEMENT * max(abs(a), abs(b)) for a, b in pairs)


# ----------------------------------------------------------------------------- reads


# The location's latest snapshot's holdings, in SQL: every sync reads them (see sync.py).
CONFIRMED_ROWS_SQL = """
    SELECT asset.code, holding.product, holding.amount
      FROM portfolio_holding holding
      JOIN portfolio_asset asset ON asset.id = holding.asset_id
     WHERE holding.snapshot_id = (
           SELECT snapshot.id FROM portfolio_holdingsnapshot snapshot
            WHERE snapshot.location_id = %s
            ORDER BY snapshot.taken_at DESC, snapshot.id DESC LIMIT 1)
"""


def confirmed_rows(location_id: int) -> list[Row]:
    """The location's current (last confirmed) holdings."""
    with connection.cursor() as cursor:
        cursor.execute(CONFIRMED_ROWS_SQL, [location_id])
        rows = cursor.fetchall()
    return [(code, product, as_decimal(amount)) for code, product, amount in rows]


def as_decimal(value: object) -> Decimal:
    """A numeric column read in SQL: Decimal on PostgreSQL, exact text on SQLite."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def held_rows(drop: UnconfirmedDrop) -> list[Row]:
    return [(row[0], row[1], Decimal(row[2])) for row in drop.balances]


# ----------------------------------------------------------------------------- decisions


def hold_drop(
    *, run: SyncRun, balances: list[list[Any]], drop: Drop, now: datetime
) -> UnconfirmedDrop:
    """Keep a read that needs confirming, and when its second read is due."""
    wait = timedelta(seconds=settings.SYNC_DROP_CONFIRM_SECONDS)
    return UnconfirmedDrop.objects.create(
        location_id=run.location_id,
        sync_run=run,
        found_at=now,
        balances=balances,
        request_count=run.request_count,
        value_before=drop.value_before,
        value_after=drop.value_after,
        drop_usd=drop.drop_usd,
        detail=drop.detail,
        reread_due_at=now + wait,
    )


def settle(
    drop: UnconfirmedDrop,
    state: str,
    decision: str,
    *,
    now: datetime,
    user: User | None = None,
    snapshot: HoldingSnapshot | None = None,
) -> bool:
    """Move a pending drop to its final state; False if it was settled meanwhile."""
    settled = UnconfirmedDrop.objects.filter(pk=drop.pk, state=DropState.PENDING).update(
        state=state, decision=decision, decided_at=now, decided_by=user, snapshot=snapshot
    )
    if settled:
        drop.state, drop.decision, drop.decided_at = state, decision, now
    return bool(settled)


def pending_drop(location_id: int) -> UnconfirmedDrop | None:
    found = UnconfirmedDrop.objects.filter(location_id=location_id, state=DropState.PENDING)
    return found.first()


@transaction.atomic
def confirm_drop(*, drop: UnconfirmedDrop, user: User) -> HoldingSnapshot:
    """A manager says the drop is real: its read becomes the location's holdings."""
    from portfolio.sync import store_read_snapshot  # sync uses this module's reads

    locked = UnconfirmedDrop.objects.select_for_update().get(pk=drop.pk)
    if locked.state != DropState.PENDING:
        raise ValidationError("This drop was already settled.")
    now = timezone.now()
    snapshot = store_read_snapshot(locked.sync_run, locked.balances, taken_at=locked.found_at)
    settle(locked, DropState.CONFIRMED, f"confirmed by {user.get_username()}", now=now, user=user,
           snapshot=snapshot)  # fmt: skip
    _audit(locked, user, AuditAction.DROP_CONFIRMED)
    _note_confirmed(locked, user)
    _after_decision(locked)
    return snapshot


def _note_confirmed(drop: UnconfirmedDrop, user: User) -> None:
    """Until the computation _after_decision enqueues lands, the report says so."""
    from riskmodels.freshness import note_change  # riskmodels reads portfolio
    from riskmodels.models import ChangeKind

    note_change(
        portfolio_ids=[drop.location.portfolio_id],
        kind=ChangeKind.HOLDINGS,
        summary=f"{drop.location.name}: drop of {usd(drop.drop_usd)} USD confirmed",
        user=user,
        schedule=False,
    )


@transaction.atomic
def reject_drop(*, drop: UnconfirmedDrop, user: User) -> None:
    """A manager says the drop is a fault: the confirmed holdings stay."""
    locked = UnconfirmedDrop.objects.select_for_update().get(pk=drop.pk)
    if locked.state != DropState.PENDING:
        raise ValidationError("This drop was already settled.")
    settle(locked, DropState.REJECTED, f"rejected by {user.get_username()}", now=timezone.now(),
           user=user)  # fmt: skip
    _audit(locked, user, AuditAction.DROP_REJECTED)
    _after_decision(locked)


def _audit(drop: UnconfirmedDrop, user: User, action: str) -> None:
    record_audit(
        actor=user,
        action=action,
        target=drop,
        portfolio_id=drop.location.portfolio_id,
        changes={"state": (DropState.PENDING, drop.state), "drop_usd": (None, drop.drop_usd)},
    )


def _after_decision(drop: UnconfirmedDrop) -> None:
    """The sync alert follows the decision; a confirmed drop changes the exposure."""
    from riskmodels.sync_alerts import follow_location_sync
    from riskmodels.tasks import compute_exposure

    follow_location_sync(drop.location_id)
    portfolio_id = drop.location.portfolio_id
    transaction.on_commit(lambda: compute_exposure.delay(portfolio_id))


def dispatch_due_rereads(*, now: datetime | None = None) -> int:
    """Start the second read of every drop whose wait is over; how many were started.

    Each is claimed with a conditional UPDATE, so two beats never start one read twice.
    """
    from portfolio.rounds import start_sync_round

    now = now or timezone.now()
    due = UnconfirmedDrop.objects.filter(
        state=DropState.PENDING, reread_due_at__lte=now, reread_sent_at=None
    ).select_related("location__portfolio")
    started = 0
    for drop in due:
        claimed = UnconfirmedDrop.objects.filter(pk=drop.pk, reread_sent_at=None).update(
            reread_sent_at=now
        )
        if claimed:
            location = drop.location
            start_sync_round(portfolio=location.portfolio, locations=[location])
            started += 1
    return started

"""Reads that views and services share."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from portfolio.models import (
    FINAL_OUTCOMES,
    Asset,
    CustodyLocation,
    DropState,
    Holding,
    HoldingSnapshot,
    Portfolio,
    Price,
    Product,
    SyncOutcome,
    SyncRound,
    SyncRun,
    UnconfirmedDrop,
)
from riskmodels.engine.arith import exact, ratio


def latest_snapshot_ids(portfolio: Portfolio) -> QuerySet:
    """The id of each location's latest snapshot: its current holdings."""
    latest = HoldingSnapshot.objects.filter(location=OuterRef("pk")).order_by("-taken_at", "-pk")
    return (
        CustodyLocation.objects.filter(portfolio=portfolio)
        .annotate(snapshot_id=Subquery(latest.values("pk")[:1]))
        .exclude(snapshot_id=None)
        .values("snapshot_id")
    )


def current_holdings(portfolio: Portfolio) -> QuerySet[Holding]:
    return (
        Holding.objects.filter(snapshot_id__in=latest_snapshot_ids(portfolio))
        .select_related("asset", "snapshot__location__custodian")
        .order_by("snapshot__location__name", "asset__code", "product")
    )


def locations_of(portfolio: Portfolio) -> QuerySet[CustodyLocation]:
    return portfolio.locations.select_related("custodian", "exchange_account").order_by("name")


def locations_with_health(portfolio: Portfolio) -> QuerySet[CustodyLocation]:
    """Locations with their data time and last sync, for the freshness and health columns."""
    snapshots = HoldingSnapshot.objects.filter(location=OuterRef("pk")).order_by("-taken_at")
    runs = SyncRun.objects.filter(location=OuterRef("pk")).order_by("-started_at", "-pk")
    return locations_of(portfolio).annotate(
        data_as_of=Subquery(snapshots.values("taken_at")[:1]),
        last_outcome=Subquery(runs.values("outcome")[:1]),
        last_run_at=Subquery(runs.values("started_at")[:1]),
        last_error=Subquery(runs.values("error_message")[:1]),
    )


def sync_round_progress(sync_round: SyncRound) -> dict[str, object]:
    """How far a round has come: for the "sync now" progress display."""
    runs = list(
        SyncRun.objects.filter(sync_round=sync_round)
        .order_by("location_id", "-started_at")
        .values("location_id", "location__name", "outcome", "error_message")
    )
    latest = {run["location_id"]: run for run in reversed(runs)}
    finished = [run for run in latest.values() if run["outcome"] in FINAL_OUTCOMES]
    return {
        "round": sync_round.pk,
        "total": sync_round.location_count,
        "finished": len(finished),
        "complete": sync_round.completed_at is not None,
        "locations": [
            {
                "name": run["location__name"],
                "outcome": run["outcome"],
                "error": run["error_message"],
            }
            for run in latest.values()
        ],
    }


@dataclass(frozen=True, slots=True)
class NotCurrent:
    """An exchange location whose figures are not current: the last confirmed ones are shown."""

    location: CustodyLocation
    data_as_of: datetime | None  # the last confirmed holdings
    reason: str  # in words, for managers (investors see the location and the time only)


@dataclass(frozen=True, slots=True)
class ExchangeMarks:
    not_current: list[NotCurrent]
    # Read by the generic adapter: earn and staking there are not read, so the report says the
    # figures may leave them out.
    partially_read: list[CustodyLocation]


def not_current_locations(portfolio: Portfolio) -> list[NotCurrent]:
    return exchange_location_marks(portfolio).not_current


def exchange_location_marks(portfolio: Portfolio) -> ExchangeMarks:
    """Exchange locations whose last sync failed, awaits confirmation of a drop, or whose
    credentials were rejected, and those only partly read: a fixed number of queries, whatever
    the number of locations."""
    final = SyncRun.objects.filter(location=OuterRef("pk"), outcome__in=FINAL_OUTCOMES)
    final = final.order_by("-started_at", "-pk")
    snapshots = HoldingSnapshot.objects.filter(location=OuterRef("pk")).order_by("-taken_at")
    locations = (
        locations_of(portfolio)
        .filter(exchange_account__isnull=False)
        .annotate(
            data_as_of=Subquery(snapshots.values("taken_at")[:1]),
            final_outcome=Subquery(final.values("outcome")[:1]),
            final_error=Subquery(final.values("error_message")[:1]),
        )
    )
    pending = {
        drop.location_id: drop
        for drop in UnconfirmedDrop.objects.filter(
            location__portfolio=portfolio, state=DropState.PENDING
        )
    }
    found: list[NotCurrent] = []
    partial: list[CustodyLocation] = []
    for location in locations:
        reason = _not_current_reason(location, pending.get(location.pk))
        if reason:
            found.append(NotCurrent(location, location.data_as_of, reason))
        if location.exchange_account.partial_read:
            partial.append(location)
    return ExchangeMarks(found, partial)


def _not_current_reason(location: CustodyLocation, drop: UnconfirmedDrop | None) -> str:
    account = location.exchange_account
    if account.credentials_broken_at is not None:
        return f"The exchange rejected the API key: {account.credentials_error}"
    if drop is not None:
        return f"Drop of {drop.drop_usd:,.2f} USD awaiting confirmation ({drop.detail})."
    # Annotated by not_current_locations: the latest final run's outcome and message.
    if location.final_outcome == SyncOutcome.FAILED:  # type: ignore[attr-defined]
        return f"The last sync failed: {location.final_error}"  # type: ignore[attr-defined]
    return ""


@dataclass(frozen=True, slots=True)
class PriceNote:
    """A held asset whose price is not current: refused (unpriced) or older than allowed."""

    asset: str
    price: Decimal | None
    as_of: datetime
    note: str

    @property
    def price_text(self) -> str:
        """The price exactly, without trailing zeros or an exponent."""
        return "" if self.price is None else format(self.price.normalize(), "f")


def price_notes(portfolio: Portfolio, *, now: datetime) -> list[PriceNote]:
    """The held assets whose latest price was refused, or is older than PRICE_STALE_HOURS."""
    held = Holding.objects.filter(snapshot_id__in=latest_snapshot_ids(portfolio))
    latest = Price.objects.filter(asset=OuterRef("pk")).order_by("-as_of", "-pk")
    rows = (
        Asset.objects.filter(pk__in=held.values("asset_id"))
        .annotate(
            price=Subquery(latest.values("price_usd")[:1]),
            as_of=Subquery(latest.values("as_of")[:1]),
            reason=Subquery(latest.values("refused_reason")[:1]),
        )
        .exclude(as_of=None)
        .order_by("code")
        .values_list("code", "price", "as_of", "reason")
    )
    oldest = now - timedelta(hours=settings.PRICE_STALE_HOURS)
    notes = []
    for code, price, as_of, reason in rows:
        if price is None:
            notes.append(PriceNote(code, None, as_of, f"unpriced: {reason}"))
        elif as_of < oldest:
            notes.append(PriceNote(code, price, as_of, "price older than allowed"))
    return notes


def not_current_reasons(portfolio: Portfolio) -> dict[int, str]:
    """Location id -> why its figures are not current, for the API."""
    return {row.location.pk: row.reason for row in not_current_locations(portfolio)}


# --- holdings pages: each holding priced and valued, with totals ---------------------------

SHARE_QUANTUM = Decimal("1e-12")  # shares of the portfolio kept far finer than any display


@dataclass(frozen=True, slots=True)
class ValuedHolding:
    """One current holding as the holdings pages show it; an investor's amounts are scaled."""

    location: CustodyLocation
    asset: Asset
    product: str  # the product's label, as everywhere (Product)
    amount: Decimal
    price: Decimal | None  # None: unpriced, never zero
    price_as_of: datetime | None
    price_manual: bool
    price_stale: bool  # older than PRICE_STALE_HOURS: shown, marked not current
    value: Decimal | None  # amount × price, exactly; None when unpriced
    share: Decimal | None  # value / the portfolio's NAV; None when unpriced or NAV <= 0
    unpriced_reason: str  # why there is no price ("" when priced)


@dataclass(frozen=True, slots=True)
class HoldingsTable:
    """Rows with their totals, and the whole portfolio's NAV that the shares divide by."""

    rows: list[ValuedHolding]
    assets: Decimal  # priced positive values
    liabilities: Decimal  # priced negative values (debts), as a negative number
    total: Decimal  # assets + liabilities
    share: Decimal | None  # total / portfolio_nav
    portfolio_nav: Decimal  # every priced current holding of the portfolio (× stake)
    unpriced: list[ValuedHolding]

    def for_location(self, location_id: int) -> HoldingsTable:
        """The same figures over one location's rows (the portfolio's NAV unchanged)."""
        rows = [row for row in self.rows if row.location.pk == location_id]
        return _table(rows, self.portfolio_nav)


@dataclass(frozen=True, slots=True)
class _Quote:
    price: Decimal | None
    as_of: datetime | None
    manual: bool
    reason: str


def _latest_quotes(asset_ids: set[int]) -> dict[int, _Quote]:
    """Each asset's latest price row (a refused quote is a row without a price): one query."""
    latest = Price.objects.filter(asset=OuterRef("pk")).order_by("-as_of", "-pk")
    rows = (
        Asset.objects.filter(pk__in=sorted(asset_ids))
        .annotate(
            price=Subquery(latest.values("price_usd")[:1]),
            as_of=Subquery(latest.values("as_of")[:1]),
            manual=Subquery(latest.values("is_manual")[:1]),
            reason=Subquery(latest.values("refused_reason")[:1]),
        )
        .values_list("pk", "price", "as_of", "manual", "reason")
    )
    return {
        pk: _Quote(price, as_of, bool(manual), reason or "")
        for pk, price, as_of, manual, reason in rows
    }


def _unpriced_reason(quote: _Quote | None) -> str:
    if quote is None or quote.as_of is None:
        return "no price recorded"
    return quote.reason or "no price"


def holdings_table(
    portfolio: Portfolio, *, stake: Decimal | None, location: CustodyLocation | None = None
) -> HoldingsTable:
    """The current holdings (of one location, or all), valued at each asset's latest price.

    1. Read every current holding of the portfolio and the latest quote of each asset.
    2. Value each exactly (× stake for an investor); the NAV sums every priced value.
    3. Keep the location's rows, with their share of that NAV and their totals.
    """
    holdings = list(current_holdings(portfolio))
    quotes = _latest_quotes({holding.asset_id for holding in holdings})
    stale_before = timezone.now() - timedelta(hours=settings.PRICE_STALE_HOURS)
    factor = Decimal(1) if stake is None else stake
    valued = [_valued(h, quotes.get(h.asset_id), factor, stale_before) for h in holdings]
    nav = _sum(row.value for row in valued if row.value is not None)
    if location is not None:
        valued = [row for row in valued if row.location.pk == location.pk]
    return _table(valued, nav)


@exact
def _valued(
    holding: Holding, quote: _Quote | None, factor: Decimal, stale_before: datetime
) -> ValuedHolding:
    amount = holding.amount * factor
    price = None if quote is None else quote.price
    return ValuedHolding(
        location=holding.snapshot.location,
        asset=holding.asset,
        product=Product(holding.product).label,
        amount=amount,
        price=price,
        price_as_of=None if quote is None else quote.as_of,
        price_manual=quote is not None and quote.manual,
        price_stale=quote is not None and quote.as_of is not None and quote.as_of < stale_before,
        value=None if price is None else amount * price,
        share=None,
        unpriced_reason="" if price is not None else _unpriced_reason(quote),
    )


@exact
def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, Decimal(0))


def _share(value: Decimal | None, nav: Decimal) -> Decimal | None:
    if value is None or nav <= 0:
        return None
    return ratio(value, nav, SHARE_QUANTUM)


def _table(rows: list[ValuedHolding], nav: Decimal) -> HoldingsTable:
    rows = [replace(row, share=_share(row.value, nav)) for row in rows]
    values = [row.value for row in rows if row.value is not None]
    assets = _sum(value for value in values if value > 0)
    liabilities = _sum(value for value in values if value < 0)
    total = _sum(values)
    return HoldingsTable(
        rows=rows,
        assets=assets,
        liabilities=liabilities,
        total=total,
        share=_share(total, nav),
        portfolio_nav=nav,
        unpriced=[row for row in rows if row.value is None],
    )

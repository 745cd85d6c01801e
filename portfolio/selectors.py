"""Reads that views and services share."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from portfolio.models import (
    FINAL_OUTCOMES,
    CustodyLocation,
    Holding,
    HoldingSnapshot,
    Portfolio,
    SyncRound,
    SyncRun,
)


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

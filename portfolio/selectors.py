"""Reads that views and services share."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from portfolio.models import CustodyLocation, Holding, HoldingSnapshot, Portfolio


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

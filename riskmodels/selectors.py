"""Reads that feed the engine: a portfolio's current holdings, prices, counterparties, scenarios.

Every read is one query over plain values (values_list, no model instances), so the number of
queries does not grow with the number of holdings and rows cost tuples, not objects.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count, Max, OuterRef, Q, Subquery
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.utils import timezone

from portfolio.models import (
    Asset,
    Counterparty,
    CustodyLocation,
    Holding,
    HoldingLock,
    HoldingSnapshot,
    OffExchangeSettlement,
    Portfolio,
    Price,
)
from portfolio.selectors import (
    PriceNote,
    exchange_location_marks,
    latest_snapshot_ids,
    locations_with_health,
    not_current_locations,
    price_notes,
)
from riskmodels import charts, engine
from riskmodels.documents import (
    LiveAlertRow,
    ReportPage,
    StaticPage,
)
from riskmodels.engine import investor_view
from riskmodels.engine.arith import exact
from riskmodels.engine.investor import scale_money
from riskmodels.engine.rules import SHARE_RULES, Rule
from riskmodels.models import Alert, AlertState, ExposureSnapshot, StressShock
from riskmodels.presenter import (
    Labels,
    action_view,
    allocation_view,
    largest_exposure,
    limit_rows,
    page_metrics,
    sections,
    subject_name,
    worst,
)
from riskmodels.reports import (
    SECONDS_PER_HOUR,
    counterparty_names,
    live_alerts_at,
    load_report,
    render_report,
    report_labels,
    to_json,
)

# (location id, asset id, product, amount): one current holding.
HoldingRow = tuple[int, int, str, Decimal]
# (location id, asset id, amount, unlocks at): part of a current holding locked until a date.
LockRow = tuple[int, int, Decimal, datetime]


@dataclass(frozen=True, slots=True)
class LocationRow:
    kind: str
    custodian: str | None
    snapshot_id: int
    taken_at: datetime


@dataclass(frozen=True, slots=True)
class SettlementRow:
    """An exchange account settled off exchange, at the report's time: its collateral leg is
    held by `custodian`; `collateral` is the balance at the last settlement (snapshot
    `baseline`), per (asset id, product); no baseline: no leg is known to be secured."""

    custodian: str
    last_settlement: datetime | None
    baseline: int | None
    collateral: dict[tuple[int, str], Decimal]

    def secured(self, asset_id: int, product: str, amount: Decimal) -> Decimal:
        """The part of a current holding held by the custodian: what was settled, as far as it
        is still there; debts and what came since stay with the exchange."""
        if amount <= 0:
            return Decimal(0)
        return min(amount, max(self.collateral.get((asset_id, product), Decimal(0)), Decimal(0)))


@dataclass(frozen=True, slots=True)
class AssetRow:
    code: str
    kind: str
    issuer: str | None
    # The latest price; None when the asset has none (unpriced, never zero).
    price: Decimal | None


@dataclass(frozen=True, slots=True)
class Registry:
    """Every counterparty as the engine sees it, plus slugs and groups by database id."""

    counterparties: tuple[engine.Counterparty, ...]
    slugs: dict[int, str]
    groups: dict[int, str]


@dataclass(frozen=True, slots=True)
class PortfolioInputs:
    """A portfolio's current holdings as plain rows, with what the engine needs to value them."""

    locations: dict[int, LocationRow]
    assets: dict[int, AssetRow]
    holdings: list[HoldingRow]
    # (location id, asset id, amount, unlocks at): locked parts of those holdings.
    locks: list[LockRow] = field(default_factory=list)
    # Locations settled off exchange, by id.
    settlements: dict[int, SettlementRow] = field(default_factory=dict)

    @property
    def data_as_of(self) -> datetime | None:
        """The oldest current snapshot: the report is no fresher than its stalest location."""
        return min((loc.taken_at for loc in self.locations.values()), default=None)

    def positions(self) -> Iterator[engine.Position]:
        """One engine Position per holding; a holding settled off exchange is two: its
        collateral leg held by the custodian, the rest (unsettled profit) by the exchange."""
        locations, assets, settlements = self.locations, self.assets, self.settlements
        for location_id, asset_id, product, amount in self.holdings:
            loc, asset = locations[location_id], assets[asset_id]
            settlement = settlements.get(location_id)
            secured = (
                Decimal(0) if settlement is None else settlement.secured(asset_id, product, amount)
            )
            legs = [(loc.kind, loc.custodian, amount - secured)]
            if settlement is not None and secured:
                legs.insert(0, ("custodian", settlement.custodian, secured))
            for kind, custodian, leg in legs:
                if leg or len(legs) == 1:
                    yield engine.Position(
                        location_id, kind, custodian, asset.code, asset.kind, asset.issuer,
                        product, leg, asset.price, loc.taken_at,
                    )  # fmt: skip

    def locked_amounts(self) -> Iterator[engine.LockedAmount]:
        """One engine LockedAmount per lock at a location with a custodian."""
        for location_id, asset_id, amount, unlocks_at in self.locks:
            loc, asset = self.locations[location_id], self.assets.get(asset_id)
            if loc.custodian is None or asset is None:
                continue  # self-custody is never locked by a counterparty
            yield engine.LockedAmount(loc.custodian, asset.code, amount, asset.price, unlocks_at)


def top_groups(parents: dict[int, int | None]) -> dict[int, int]:
    """Each counterparty's top-level ancestor, however deep, walking each chain once."""
    found: dict[int, int] = {}
    for start in parents:
        chain: list[int] = []
        node = start
        while node not in found:
            parent = parents.get(node)
            if parent is None:
                break
            if node in chain:
                raise ValueError(f"counterparty {node} is its own ancestor")
            chain.append(node)
            node = parent
        top = found.get(node, node)
        for member in (*chain, node):
            found[member] = top
    return found


def load_registry() -> Registry:
    """Every counterparty in ONE query; groups are resolved in Python."""
    rows = list(
        Counterparty.objects.values_list("pk", "slug", "parent_id", "kind", "rating_tier", "status")
    )
    slugs = {pk: slug for pk, slug, *_ in rows}
    top = top_groups({pk: parent for pk, _, parent, *_ in rows})
    groups = {pk: slugs[top[pk]] for pk in slugs}
    counterparties = tuple(
        engine.Counterparty(slug, groups[pk], kind, tier, status)
        for pk, slug, _, kind, tier, status in rows
    )
    return Registry(counterparties, slugs, groups)


def load_locations(portfolio_id: int, slugs: dict[int, str]) -> dict[int, LocationRow]:
    """The portfolio's locations that have a snapshot, each with its latest one."""
    latest = HoldingSnapshot.objects.filter(location=OuterRef("pk")).order_by("-taken_at", "-pk")
    rows = (
        CustodyLocation.objects.filter(portfolio_id=portfolio_id)
        .annotate(
            snapshot_id=Subquery(latest.values("pk")[:1]),
            taken_at=Subquery(latest.values("taken_at")[:1]),
        )
        .exclude(snapshot_id=None)
        .values_list("pk", "kind", "custodian_id", "snapshot_id", "taken_at")
    )
    return {
        pk: LocationRow(kind, None if custodian is None else slugs[custodian], snapshot, taken)
        for pk, kind, custodian, snapshot, taken in rows
    }


def load_holdings(locations: dict[int, LocationRow]) -> list[HoldingRow]:
    """The holdings of those latest snapshots, keyed by location instead of snapshot."""
    location_of = {loc.snapshot_id: pk for pk, loc in locations.items()}
    rows = Holding.objects.filter(snapshot_id__in=list(location_of)).values_list(
        "snapshot_id", "asset_id", "product", "amount"
    )
    return [
        (location_of[snapshot], asset, product, amount) for snapshot, asset, product, amount in rows
    ]


def load_assets(
    asset_ids: Iterable[int], slugs: dict[int, str], at: datetime | None = None
) -> dict[int, AssetRow]:
    """The assets held, each with its latest price (by time, then by row for equal times), or
    its latest at or before ``at`` (None: unpriced then)."""
    prices = Price.objects.filter(asset=OuterRef("pk"))
    if at is not None:
        prices = prices.filter(as_of__lte=at)
    latest = prices.order_by("-as_of", "-pk")
    rows = (
        Asset.objects.filter(pk__in=sorted(set(asset_ids)))
        .annotate(price=Subquery(latest.values("price_usd")[:1]))
        .values_list("pk", "code", "kind", "issuer_id", "price")
    )
    return {
        pk: AssetRow(code, kind, None if issuer is None else slugs[issuer], price)
        for pk, code, kind, issuer, price in rows
    }


def load_inputs(
    portfolio_id: int, registry: Registry, as_of: datetime | None = None
) -> PortfolioInputs:
    """Current holdings, their locations, assets and locks: four queries whatever the size."""
    locations = load_locations(portfolio_id, registry.slugs)
    holdings = load_holdings(locations)
    assets = load_assets((asset for _, asset, _, _ in holdings), registry.slugs)
    settlements = load_settlements(locations, registry.slugs, as_of or timezone.now())
    return PortfolioInputs(locations, assets, holdings, load_locks(locations), settlements)


def load_settlements(
    locations: dict[int, LocationRow], slugs: dict[int, str], as_of: datetime
) -> dict[int, SettlementRow]:
    """The locations settled off exchange, each with its balance at the last settlement: one
    query per settled location for its baseline snapshot, one for all their holdings."""
    settled = list(OffExchangeSettlement.objects.filter(account_id__in=list(locations)))
    lasts = {s.pk: s.last_settlement(as_of) for s in settled}
    baselines = {pk: _baseline(pk, last) for pk, last in lasts.items()}
    collateral: dict[int, dict[tuple[int, str], Decimal]] = {pk: {} for pk in baselines}
    location_of = {snapshot: pk for pk, snapshot in baselines.items() if snapshot is not None}
    rows = Holding.objects.filter(snapshot_id__in=list(location_of)).values_list(
        "snapshot_id", "asset_id", "product", "amount"
    )
    for snapshot, asset, product, amount in rows:
        collateral[location_of[snapshot]][(asset, product)] = amount
    return {
        s.pk: SettlementRow(slugs[s.custodian_id], lasts[s.pk], baselines[s.pk], collateral[s.pk])
        for s in settled
    }


def _baseline(location_id: int, last: datetime | None) -> int | None:
    """The location's snapshot at or before its last settlement (None before the first)."""
    if last is None:
        return None
    snapshots = HoldingSnapshot.objects.filter(location_id=location_id, taken_at__lte=last)
    return snapshots.order_by("-taken_at", "-pk").values_list("pk", flat=True).first()


def load_locks(locations: dict[int, LocationRow]) -> list[LockRow]:
    """The locked parts of the current holdings, keyed by location."""
    location_of = {loc.snapshot_id: pk for pk, loc in locations.items()}
    rows = HoldingLock.objects.filter(snapshot_id__in=list(location_of)).values_list(
        "snapshot_id", "asset_id", "amount", "unlocks_at"
    )
    return [
        (location_of[snapshot], asset, amount, until) for snapshot, asset, amount, until in rows
    ]


def load_scenarios(portfolio_id: int, registry: Registry) -> tuple[engine.Scenario, ...]:
    """The global and the portfolio's custom stress scenarios as engine Scenarios, by name."""
    rows = (
        StressShock.objects.filter(
            Q(scenario__portfolio__isnull=True) | Q(scenario__portfolio_id=portfolio_id)
        )
        .order_by("scenario__name", "scenario_id", "pk")
        .values_list(
            "scenario_id",
            "scenario__name",
            "fraction",
            "custody_group_id",
            "issuer_group_id",
            "asset__code",
            "asset_kind",
        )
    )
    scenarios: dict[int, tuple[str, list[engine.Shock]]] = {}
    for scenario_id, name, fraction, custody, issuer, asset, kind in rows:
        shock = engine.Shock(
            fraction,
            # A shock names groups; mapping through the group keeps an entity from missing.
            custody_group=None if custody is None else registry.groups[custody],
            issuer_group=None if issuer is None else registry.groups[issuer],
            asset=asset,
            asset_kind=kind or None,
        )
        scenarios.setdefault(scenario_id, (name, []))[1].append(shock)
    return tuple(engine.Scenario(name, tuple(shocks)) for name, shocks in scenarios.values())


def latest_exposure(portfolio_id: int) -> ExposureSnapshot | None:
    """The portfolio's latest stored exposure snapshot, without its (large) report."""
    return (
        ExposureSnapshot.objects.filter(portfolio_id=portfolio_id)
        .order_by("-computed_at", "-pk")
        .only("pk", "computed_at", "inputs_digest", "holdings_digest")
        .first()
    )


def exposure_at(portfolio_id: int, at: datetime | None = None) -> ExposureSnapshot | None:
    """The latest snapshot computed at or before ``at`` (the latest of all without it)."""
    snapshots = ExposureSnapshot.objects.filter(portfolio_id=portfolio_id)
    if at is not None:
        snapshots = snapshots.filter(computed_at__lte=at)
    return snapshots.select_related("portfolio").order_by("-computed_at", "-pk").first()


# Reads of the report pages, the exports and the dashboards. Each is a fixed number of queries,
# whatever the number of positions, locations or snapshots.

HISTORY_POINTS = 200  # snapshots drawn in the over-time charts, newest last
REPORT_CACHE_SECONDS = 3600
# Part of every cached page's key: a new layout of the page must never read an old one's cache.
PAGE_LAYOUT = "actions-2"
# Price notes change with a sync (a new holdings snapshot, so a new page version) or with the
# clock (a price growing old, in hours): kept a few minutes per version.
PRICE_NOTES_SECONDS = 300


def latest_holdings_id(portfolio: Portfolio) -> int | None:
    """The newest holdings snapshot of the portfolio: a new one means new current holdings."""
    return HoldingSnapshot.objects.filter(location__portfolio=portfolio).aggregate(
        newest=Max("pk")
    )["newest"]


LIVE_STATES = (AlertState.OPEN, AlertState.ACKNOWLEDGED)
DEFAULT_STALE_HOURS = Decimal(6)  # DESIGN's default warn level, when a report names none


@dataclass(frozen=True, slots=True)
class HoldingLine:
    """One current holding as the holdings export and the allocation chart show it."""

    location: str
    kind: str
    custodian: str | None
    group: str | None
    asset: str
    product: str
    amount: Decimal
    price: Decimal | None
    value: Decimal | None  # None when the asset has no price: unpriced, never zero


@exact
def _line(
    names: dict[int, str], registry: Registry, row: tuple, asset: AssetRow, stake: Decimal
) -> HoldingLine:
    location_id, kind, custodian_id, _, product, amount = row
    amount = scale_money(amount, stake)
    return HoldingLine(
        location=names[location_id],
        kind=kind,
        custodian=None if custodian_id is None else registry.slugs[custodian_id],
        group=None if custodian_id is None else registry.groups[custodian_id],
        asset=asset.code,
        product=product,
        amount=amount,
        price=asset.price,
        value=None if asset.price is None else amount * asset.price,
    )


def holding_lines(portfolio: Portfolio, stake: Decimal | None = None) -> list[HoldingLine]:
    """Current holdings (each location's latest snapshot), valued, × ``stake`` when given."""
    registry = load_registry()
    rows = list(
        Holding.objects.filter(snapshot_id__in=latest_snapshot_ids(portfolio))
        .order_by("snapshot__location__name", "asset__code", "product")
        .values_list(
            "snapshot__location_id",
            "snapshot__location__kind",
            "snapshot__location__custodian_id",
            "asset_id",
            "product",
            "amount",
        )
    )
    names = dict(portfolio.locations.values_list("pk", "name"))
    assets = load_assets((row[3] for row in rows), registry.slugs)
    factor = Decimal(1) if stake is None else stake
    return [_line(names, registry, row, assets[row[3]], factor) for row in rows]


def exposure_history(
    portfolio_id: int,
    points: int = HISTORY_POINTS,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[dict]:
    """The latest ``points`` snapshots' time, group shares, HHI and findings (each with the
    levels in force then), oldest first; computed at or after ``start`` and before ``end``.

    Only the JSON keys the charts draw are read, not whole reports: history stays cheap however
    large each report is.
    """
    snapshots = ExposureSnapshot.objects.filter(portfolio_id=portfolio_id)
    if start is not None:
        snapshots = snapshots.filter(computed_at__gte=start)
    if end is not None:
        snapshots = snapshots.filter(computed_at__lt=end)
    rows = snapshots.order_by("-computed_at", "-pk").values(
        "pk",
        "computed_at",
        "data_as_of",
        "nav",
        exposures=KeyTextTransform("exposures", "report"),
        findings=KeyTextTransform("findings", "report"),
        hhi=KeyTextTransform("hhi", KeyTransform("concentration", "report")),
        hhi_third_party=KeyTextTransform(
            "hhi_third_party", KeyTransform("concentration", "report")
        ),
    )[:points]
    return [
        {
            **row,
            "exposures": json.loads(row["exposures"] or "[]"),
            "findings": json.loads(row["findings"] or "[]"),
        }
        for row in reversed(rows)
    ]


def live_alerts(portfolio_id: int) -> list[Alert]:
    """The portfolio's open and acknowledged alerts, breaches first, then the oldest."""
    return list(
        Alert.objects.filter(portfolio_id=portfolio_id, state__in=LIVE_STATES)
        .select_related("acknowledged_by")
        .order_by("level", "first_seen", "pk")
    )


def _alert_rows(alerts: list[Alert], labels: Labels | None = None) -> list[LiveAlertRow]:
    """Live alerts with their value and threshold in the rule's unit (shares as percentages),
    and their subject in words."""
    labels = labels or Labels()
    rows: list[LiveAlertRow] = []
    for alert in alerts:
        is_share = alert.rule in SHARE_RULES
        scale = 100 if is_share else 1
        rows.append(
            {
                "alert": alert,
                "value": alert.value * scale,
                "threshold": alert.threshold * scale,
                "unit": "%" if is_share else "",
                "name": subject_name(alert.rule, alert.subject, labels),
            }
        )
    return rows


def report_page(
    *, portfolio: Portfolio, stake: Decimal | None, alerts: bool = True
) -> ReportPage | None:
    """Everything the exposure report page shows, or None before the first snapshot.

    Everything but the alerts follows from the snapshot, the current holdings (the sunburst)
    and the stake, so it is built once per that version and cached; the live alerts
    (``alerts``: not for investors) are read on every request.
    """
    snapshot = exposure_at(portfolio.pk)
    if snapshot is None:
        return None
    # The digest keeps a key from ever naming another database's snapshot of the same id.
    version = (
        f"{PAGE_LAYOUT}:{snapshot.pk}-{snapshot.inputs_digest[:16]}:"
        f"{latest_holdings_id(portfolio)}:{stake}"
    )
    static: StaticPage | None = cache.get(f"report-page:{version}")
    if static is None:
        static = _static_page(portfolio, snapshot, stake)
        cache.set(f"report-page:{version}", static, REPORT_CACHE_SECONDS)
    live = _alert_rows(live_alerts(portfolio.pk), static["labels"]) if alerts else []
    marks = exchange_location_marks(portfolio)
    return {
        **static,
        "version": version,
        "snapshot": snapshot,
        "alerts": live,
        "not_current": marks.not_current,
        "partially_read": marks.partially_read,
        "price_notes": _price_notes(portfolio, version),
    }


def _static_page(
    portfolio: Portfolio, snapshot: ExposureSnapshot, stake: Decimal | None
) -> StaticPage:
    """1. Load the snapshot's Report; an investor's stake scales its money (investor_view).
    2. Render the documented report, and add limit rows with headroom, metrics and sections.
    3. Add the charts' figures."""
    report = load_report(snapshot)
    if stake is not None:
        report = investor_view(report, stake)
    labels = report_labels(portfolio.pk, report, investor=stake is not None)
    document = render_report(
        report, snapshot=snapshot, alerts=live_alerts_at(snapshot), labels=labels
    )
    parts = to_json(report)
    figures = charts.report_figures(
        lines=holding_lines(portfolio, stake),
        history=exposure_history(portfolio.pk),
        exposures=document["exposures"],
        findings=parts["findings"],
    )
    return {
        **sections(parts, labels),
        "labels": labels,
        "document": document,
        "stake_pct": None if stake is None else stake * 100,
        "limits": limit_rows(document["exposures"], report.nav),
        "actions": action_view(document["actions"]),
        "allocation": allocation_view(document["allocation"], labels),
        "metrics": page_metrics(report, document),
        "charts": figures,
    }


def _price_notes(portfolio: Portfolio, version: str) -> list[PriceNote]:
    key = f"price-notes:{version}"
    notes: list[PriceNote] | None = cache.get(key)
    if notes is None:
        notes = price_notes(portfolio, now=timezone.now())
        cache.set(key, notes, PRICE_NOTES_SECONDS)
    return notes


@dataclass(frozen=True, slots=True)
class DashboardRow:
    """One portfolio on a dashboard: value, freshness, largest exposure, alerts, sync health."""

    portfolio: Portfolio
    nav: Decimal | None
    computed_at: datetime | None
    data_as_of: datetime | None  # the oldest location's data: the portfolio is no fresher
    stale: bool
    stake_pct: Decimal | None  # an investor's share of the portfolio, in percent
    top: dict | None  # the largest exposure with its levels and status
    alerts: dict[str, int]  # open alerts by level
    status: str  # the worst finding over every rule (and open alert)
    locations: list[CustodyLocation]


def _latest_summaries(portfolio_ids: list[int]) -> dict[int, dict]:
    """Each portfolio's latest snapshot: NAV, time, exposures and findings, in ONE query."""
    latest = ExposureSnapshot.objects.filter(portfolio=OuterRef("portfolio")).order_by(
        "-computed_at", "-pk"
    )
    rows = (
        ExposureSnapshot.objects.filter(portfolio_id__in=portfolio_ids)
        .filter(pk=Subquery(latest.values("pk")[:1]))
        .values(
            "portfolio_id",
            "nav",
            "computed_at",
            "data_as_of",
            exposures=KeyTextTransform("exposures", "report"),
            findings=KeyTextTransform("findings", "report"),
        )
    )
    return {
        row["portfolio_id"]: {
            **row,
            "exposures": json.loads(row["exposures"] or "[]"),
            "findings": json.loads(row["findings"] or "[]"),
        }
        for row in rows
    }


def _open_alert_counts(portfolio_ids: list[int]) -> dict[int, dict[str, int]]:
    rows = (
        Alert.objects.filter(portfolio_id__in=portfolio_ids, state=AlertState.OPEN)
        .values("portfolio_id", "level")
        .annotate(count=Count("pk"))
        .order_by()
    )
    counts: dict[int, dict[str, int]] = {}
    for row in rows:
        counts.setdefault(row["portfolio_id"], {})[row["level"]] = row["count"]
    return counts


def portfolio_status(summary: dict | None, open_alerts: Mapping[str, int]) -> str:
    """The worst of the latest report's findings, over every rule, and of the open alerts."""
    findings = (summary or {}).get("findings", [])
    return worst([*(f["level"] for f in findings), *(lvl for lvl, n in open_alerts.items() if n)])


def _stale_hours(summary: dict | None) -> Decimal:
    """The lowest stale-data warn level the latest report applied (DESIGN's 6 h without one)."""
    levels = [
        Decimal(f["warn"])
        for f in (summary or {}).get("findings", [])
        if f["rule"] == Rule.STALE_DATA and f["warn"] is not None
    ]
    return min(levels, default=DEFAULT_STALE_HOURS)


def _is_stale(oldest: datetime | None, summary: dict | None, now: datetime) -> bool:
    if oldest is None:
        return False
    age_hours = Decimal((now - oldest).total_seconds()) / SECONDS_PER_HOUR
    return age_hours > _stale_hours(summary)


def _dashboard_row(
    portfolio: Portfolio,
    summary: dict | None,
    locations: list,
    stake: Decimal | None,
    now: datetime,
    names: Mapping[str, str],
) -> DashboardRow:
    oldest = min((loc.data_as_of for loc in locations if loc.data_as_of), default=None)
    if not locations and summary:
        oldest = summary["data_as_of"]  # an investor's row: as of the report they see
    nav = summary["nav"] if summary else None
    return DashboardRow(
        portfolio=portfolio,
        nav=nav if nav is None or stake is None else scale_money(nav, stake),
        computed_at=summary["computed_at"] if summary else None,
        data_as_of=oldest,
        stale=_is_stale(oldest, summary, now),
        stake_pct=None if stake is None else stake * 100,
        top=largest_exposure(summary, names) if summary else None,
        alerts={},
        status=portfolio_status(summary, {}),
        locations=locations,
    )


def dashboard(
    portfolios: Iterable[Portfolio],
    *,
    now: datetime,
    stakes: dict[int, Decimal] | None = None,
) -> list[DashboardRow]:
    """One row per portfolio: three queries in all, plus one per portfolio for its locations.

    Locations come from portfolio.selectors.locations_with_health, the one definition of a
    location's freshness and sync health. With ``stakes`` (an investor's dashboard) there are no
    locations, no alerts, and NAV is the investor's share of it where they hold a stake.
    """
    portfolios = list(portfolios)
    ids = [p.pk for p in portfolios]
    summaries = _latest_summaries(ids)
    alerts = _open_alert_counts(ids) if stakes is None else {}
    names = counterparty_names()
    rows = []
    for portfolio in portfolios:
        locations = list(locations_with_health(portfolio)) if stakes is None else []
        stake = None if stakes is None else stakes.get(portfolio.pk)
        summary = summaries.get(portfolio.pk)
        row = _dashboard_row(portfolio, summary, locations, stake, now, names)
        counts = alerts.get(portfolio.pk, {})
        rows.append(replace(row, alerts=counts, status=portfolio_status(summary, counts)))
    return rows


def not_current_by_group(portfolio: Portfolio, *, reasons: bool) -> dict[str, str]:
    """Per custody group, its locations whose figures are not current, in words ("Not current:
    <location> since <time>", with the reason when `reasons`), for the exposures export."""
    groups = load_registry().groups
    found: dict[str, list[str]] = {}
    for row in not_current_locations(portfolio):
        custodian = row.location.custodian_id
        if custodian is None:
            continue
        since = f" since {row.data_as_of.isoformat()}" if row.data_as_of else ""
        words = f"{row.location.name}{since}" + (f" ({row.reason})" if reasons else "")
        found.setdefault(groups[custodian], []).append(words)
    return {group: "Not current: " + "; ".join(names) for group, names in found.items()}

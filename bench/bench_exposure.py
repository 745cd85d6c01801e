"""Exposure benchmark: 100,000 holdings over 500 locations and 200 assets, on PostgreSQL.

Measured in one run, on the same data:
(a) the engine alone: ``build_report`` over positions already in memory;
(b) end to end: ``compute_exposure`` (load holdings and prices, digest, run, store the snapshot,
    bring alerts in line), after a price move each time so that every run stores a snapshot;
    also the unchanged case (same digest: nothing stored);
(c) the lower bound: one bare psycopg SELECT of the same rows (holdings joined to their
    location's latest snapshot, their assets and latest prices), fetched into Python;
and the number of SQL queries of (b) at 1,000 and at 100,000 holdings.

Needs DATABASE_URL (PostgreSQL); it uses its own database, counterweight_bench_exposure.
Run with ``python -m bench.bench_exposure`` or call :func:`run`.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bench_engine  # noqa: E402
from bench.common import use_bench_database  # noqa: E402

DATABASE = "counterweight_bench_exposure"
LOCATIONS = 500
ASSETS = 200
SMALL_LOCATIONS = 5  # 5 × 200 assets = 1,000 holdings
RUNS = 5
ENGINE_TARGET_S = 0.5
TARGET_RATIO = 2.0
SEED = bench_engine.SEED

BARE_SELECT = """
WITH latest AS (
    SELECT DISTINCT ON (s.location_id) s.id, s.location_id, s.taken_at
    FROM portfolio_holdingsnapshot s
    JOIN portfolio_custodylocation l ON l.id = s.location_id
    WHERE l.portfolio_id = %s
    ORDER BY s.location_id, s.taken_at DESC, s.id DESC
), prices AS (
    SELECT DISTINCT ON (p.asset_id) p.asset_id, p.price_usd
    FROM portfolio_price p
    ORDER BY p.asset_id, p.as_of DESC, p.id DESC
)
SELECT latest.location_id, l.kind, l.custodian_id, latest.taken_at,
       a.code, a.kind, a.issuer_id, h.product, h.amount, prices.price_usd
FROM portfolio_holding h
JOIN latest ON latest.id = h.snapshot_id
JOIN portfolio_custodylocation l ON l.id = latest.location_id
JOIN portfolio_asset a ON a.id = h.asset_id
LEFT JOIN prices ON prices.asset_id = h.asset_id
"""


def load_registry(rng: random.Random) -> tuple[dict[str, int], list[tuple]]:
    """Counterparties (groups and entities) and assets with one price each; returns ids."""
    from django.utils import timezone

    from portfolio.models import Asset, Counterparty, Price

    rows = bench_engine.counterparties(rng)
    groups = Counterparty.objects.bulk_create(
        Counterparty(slug=r.slug, name=r.slug, kind=r.kind, rating_tier=r.tier)
        for r in rows
        if r.group == r.slug
    )
    ids = {c.slug: c.pk for c in groups}
    entities = Counterparty.objects.bulk_create(
        Counterparty(
            slug=r.slug, name=r.slug, kind=r.kind, rating_tier=r.tier, parent_id=ids[r.group]
        )
        for r in rows
        if r.group != r.slug
    )
    ids |= {c.slug: c.pk for c in entities}
    asset_rows = bench_engine.assets(rng)
    assets = Asset.objects.bulk_create(
        Asset(code=code, kind=kind, issuer_id=None if issuer is None else ids[issuer])
        for code, kind, issuer, _ in asset_rows
    )
    now = timezone.now()
    Price.objects.bulk_create(
        Price(asset=asset, price_usd=price, source="bench", as_of=now - timedelta(minutes=5))
        for asset, (_, _, _, price) in zip(assets, asset_rows, strict=True)
        if price is not None
    )
    return ids, [(asset.pk, *row) for asset, row in zip(assets, asset_rows, strict=True)]


def load_portfolio(slug: str, locations: int, ids: dict, assets: list, rng: random.Random) -> int:
    """A portfolio of ``locations`` locations, each holding every asset (COPY for holdings)."""
    from django.db import connection
    from django.utils import timezone

    from portfolio.models import CustodyLocation, HoldingSnapshot, Portfolio

    portfolio = Portfolio.objects.create(slug=slug, name=slug)
    now = timezone.now()
    places = bench_engine.locations(rng)[:locations]
    rows = CustodyLocation.objects.bulk_create(
        CustodyLocation(
            portfolio=portfolio,
            name=f"location {n}",
            kind=kind,
            custodian_id=None if custodian is None else ids[custodian],
        )
        for n, (_, kind, custodian, _) in enumerate(places)
    )
    snapshots = HoldingSnapshot.objects.bulk_create(
        HoldingSnapshot(location=row, taken_at=now - (bench_engine.AS_OF - taken), source="import")
        for row, (_, _, _, taken) in zip(rows, places, strict=True)
    )
    products = bench_engine.PRODUCT_DRAWS
    with connection.cursor() as cursor:
        copy_sql = "COPY portfolio_holding (snapshot_id, asset_id, product, amount, reported_code)"
        with cursor.connection.cursor().copy(f"{copy_sql} FROM STDIN") as copy:
            for snapshot, (_, kind, _, _) in zip(snapshots, places, strict=True):
                for asset_id, *_ in assets:
                    product = "spot" if kind == "self_custody" else rng.choice(products)
                    amount = Decimal(rng.randrange(1, 10**12)).scaleb(-8)
                    if product == "margin" and rng.random() < 0.2:
                        amount = -amount
                    copy.write_row((snapshot.pk, asset_id, product, amount, ""))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return portfolio.pk


def move_a_price(asset_ids: list[int], n: int) -> None:
    """A new price for one asset, so that the next compute has new inputs."""
    from django.utils import timezone

    from portfolio.models import Price

    Price.objects.create(
        asset_id=asset_ids[n % len(asset_ids)],
        price_usd=Decimal(1000 + n),
        source="bench",
        as_of=timezone.now(),
    )


def time_end_to_end(portfolio_id: int, asset_ids: list[int], runs: int) -> list[float]:
    from riskmodels.services import compute_exposure

    times = []
    for n in range(runs):
        move_a_price(asset_ids, n)
        start = time.perf_counter()
        compute_exposure(portfolio_id=portfolio_id)
        times.append(time.perf_counter() - start)
    return times


def time_unchanged(portfolio_id: int, runs: int) -> list[float]:
    from riskmodels.services import compute_exposure

    times = []
    for _ in range(runs):
        start = time.perf_counter()
        compute_exposure(portfolio_id=portfolio_id)
        times.append(time.perf_counter() - start)
    return times


def time_engine(portfolio_id: int, runs: int) -> tuple[list[float], int]:
    from django.utils import timezone

    from riskmodels.engine import build_report
    from riskmodels.policies import Subject, limit_rows, resolve_policy
    from riskmodels.selectors import load_inputs, load_registry

    registry = load_registry()
    positions = list(load_inputs(portfolio_id, registry).positions())
    subjects = [Subject(c.slug, c.tier) for c in registry.counterparties]
    policy = resolve_policy(limit_rows(portfolio_id), subjects)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        build_report(positions, registry.counterparties, as_of=timezone.now(), policy=policy)
        times.append(time.perf_counter() - start)
    return times, len(positions)


def time_bare_read(portfolio_id: int, runs: int) -> tuple[list[float], int]:
    import psycopg

    times, count = [], 0
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        for _ in range(runs):
            start = time.perf_counter()
            with conn.cursor() as cursor:
                cursor.execute(BARE_SELECT, (portfolio_id,))
                count = len(cursor.fetchall())
            times.append(time.perf_counter() - start)
    return times, count


def count_queries(portfolio_id: int, asset_ids: list[int], n: int) -> tuple[int, int]:
    """Queries of one computation, and how many of them write alerts: those follow the
    findings that changed level, not the number of holdings."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from riskmodels.services import compute_exposure

    move_a_price(asset_ids, n)
    with CaptureQueriesContext(connection) as queries:
        compute_exposure(portfolio_id=portfolio_id)
    alert_writes = [
        q for q in queries if '"riskmodels_alert"' in q["sql"] and not q["sql"].startswith("SELECT")
    ]
    return len(queries), len(alert_writes)


def median(times: list[float]) -> float:
    return round(statistics.median(times), 4)


def run(runs: int = RUNS) -> dict:
    """Load the data, measure (a), (b) and (c), count queries; the figures for RESULTS.md."""
    use_bench_database(DATABASE)
    rng = random.Random(SEED)
    ids, assets = load_registry(rng)
    big = load_portfolio("bench-big", LOCATIONS, ids, assets, rng)
    small = load_portfolio("bench-small", SMALL_LOCATIONS, ids, assets, rng)
    asset_ids = [asset_id for asset_id, *_ in assets]
    engine_times, positions = time_engine(big, runs)
    bare_times, rows = time_bare_read(big, runs)
    end_to_end = time_end_to_end(big, asset_ids, runs)
    unchanged = time_unchanged(big, runs)
    queries_small = count_queries(small, asset_ids, 100)
    queries_big = count_queries(big, asset_ids, 101)
    ratio = statistics.median(end_to_end) / statistics.median(bare_times)
    return {
        "holdings": positions,
        "bare_rows": rows,
        "locations": LOCATIONS,
        "assets": ASSETS,
        "runs": runs,
        "engine_median_s": median(engine_times),
        "engine_target_s": ENGINE_TARGET_S,
        "engine_within_target": statistics.median(engine_times) <= ENGINE_TARGET_S,
        "end_to_end_median_s": median(end_to_end),
        "unchanged_median_s": median(unchanged),
        "bare_read_median_s": median(bare_times),
        "end_to_end_over_bare": round(ratio, 2),
        "ratio_target": TARGET_RATIO,
        "ratio_within_target": ratio <= TARGET_RATIO,
        "queries_at_1000": queries_small[0],
        "queries_at_100000": queries_big[0],
        "alert_writes_at_1000": queries_small[1],
        "alert_writes_at_100000": queries_big[1],
        "queries_grow_with_holdings": queries_small[0] - queries_small[1]
        != queries_big[0] - queries_big[1],
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
    }


def main() -> None:
    for key, value in run().items():
        print(f"{key:>22}: {value}")


if __name__ == "__main__":
    main()

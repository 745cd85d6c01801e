"""Benchmark of the pure risk engine: 100,000 positions over 500 locations and 200 assets.

Run as ``python bench/bench_engine.py`` (prints the figures) or call :func:`run` from a bench
runner, which gets them as a dict. The timed part is one ``build_report`` call: aggregation,
exposures, metrics, every limit and every preset stress scenario. Building the inputs is not
timed (the Django side builds them from the database).
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from riskmodels.engine import Counterparty, Position, build_report

LOCATIONS = 500
ASSETS = 200
RUNS = 7
TARGET_S = 0.5  # the whole engine, 100,000 positions, on a 2-core machine
AS_OF = datetime(2024, 6, 1, 12, tzinfo=UTC)
SEED = 20221111  # FTX's bankruptcy filing

EXCHANGE_GROUPS = [f"exchange{n:02d}" for n in range(24)]
CUSTODIAN_GROUPS = [f"custodian{n}" for n in range(6)]
ISSUER_GROUPS = [f"issuer{n}" for n in range(8)]
PROTOCOL_GROUPS = [f"protocol{n}" for n in range(4)]
BANK_GROUPS = [f"bank{n}" for n in range(3)]
TIERS = ["A", "B", "B", "C", "D", "unrated"]
# The product of a position away from self-custody: spot six times as likely as each other one.
PRODUCT_DRAWS = ["spot"] * 6 + ["funding", "earn", "staking", "margin", "futures"]


def counterparties(rng: random.Random) -> list[Counterparty]:
    """Groups of every kind; each exchange group has a second (regional) entity."""
    rows = []
    kinds = [
        ("exchange", EXCHANGE_GROUPS),
        ("custodian", list(CUSTODIAN_GROUPS)),
        ("issuer", ISSUER_GROUPS),
        ("protocol", PROTOCOL_GROUPS),
        ("bank", BANK_GROUPS),
    ]
    for kind, groups in kinds:
        for group in groups:
            rows.append(Counterparty(group, group, kind, rng.choice(TIERS)))
            if kind == "exchange":
                rows.append(Counterparty(f"{group}-us", group, kind, rng.choice(TIERS)))
    return rows


def assets(rng: random.Random) -> list[tuple[str, str, str | None, Decimal | None]]:
    """(code, kind, issuer, price): stablecoins, exchange tokens, wrapped/staked, natives."""
    out = []
    for n in range(ASSETS):
        code = f"A{n:03d}"
        if n < 10:
            kind, issuer = "fiat_stablecoin", ISSUER_GROUPS[n % 5]
        elif n < 12:
            kind, issuer = "algo_stablecoin", None
        elif n < 36:
            kind, issuer = "exchange_token", EXCHANGE_GROUPS[n - 12]
        elif n < 50:
            kind, issuer = (
                rng.choice(["wrapped", "liquid_staking"]),
                rng.choice(ISSUER_GROUPS[5:] + PROTOCOL_GROUPS),
            )
        elif n < 52:
            kind, issuer = "unclassified", None
        else:
            kind, issuer = rng.choice(["native", "native", "other"]), None
        price = None if n == 199 else Decimal(rng.randrange(1, 10**10)).scaleb(-6)
        out.append((code, kind, issuer, price))
    return out


def locations(rng: random.Random) -> list[tuple[int, str, str | None, datetime]]:
    """(id, kind, custodian, snapshot time); a few locations are hours or days stale."""
    exchange_entities = EXCHANGE_GROUPS + [f"{g}-us" for g in EXCHANGE_GROUPS]
    choices: list[tuple[str, list[str | None]]] = [
        ("exchange", list(exchange_entities)),
        ("custodian", list(CUSTODIAN_GROUPS)),
        ("self_custody", [None]),
        ("defi", list(PROTOCOL_GROUPS)),
        ("bank", list(BANK_GROUPS)),
    ]
    out: list[tuple[int, str, str | None, datetime]] = []
    for loc in range(LOCATIONS):
        kind, custodians = rng.choices(choices, weights=[70, 10, 10, 5, 5])[0]
        age = timedelta(minutes=rng.choice([5, 30, 90, 60 * 8, 60 * 30]))
        out.append((loc, kind, rng.choice(custodians), AS_OF - age))
    return out


def build_positions(
    count: int = 100_000, seed: int = SEED
) -> tuple[list[Position], list[Counterparty]]:
    """``count`` positions spread evenly over the locations, every asset at every location."""
    rng = random.Random(seed)
    cps = counterparties(rng)
    asset_rows = assets(rng)
    locs = locations(rng)
    out = []
    for n in range(count):
        loc, kind, custodian, as_of = locs[n % LOCATIONS]
        code, asset_kind, issuer, price = asset_rows[(n // LOCATIONS) % ASSETS]
        product = "spot" if kind == "self_custody" else rng.choice(PRODUCT_DRAWS)
        amount = Decimal(rng.randrange(1, 10**12)).scaleb(-8)
        if product == "margin" and rng.random() < 0.2:
            amount = -amount  # a margin borrowing
        out.append(
            Position(loc, kind, custodian, code, asset_kind, issuer, product, amount, price, as_of)
        )
    return out, cps


def run(positions: int = 100_000, runs: int = RUNS) -> dict:
    """Time ``build_report`` over ``runs`` runs; returns the figures for bench/RESULTS.md."""
    book, cps = build_positions(positions)
    times = []
    assert runs > 0, "at least one run"
    report = None
    for _ in range(runs):
        start = time.perf_counter()
        report = build_report(book, cps, as_of=AS_OF)
        times.append(time.perf_counter() - start)
    assert report is not None
    return {
        "positions": positions,
        "locations": LOCATIONS,
        "assets": ASSETS,
        "groups": len(report.exposures),
        "scenarios": len(report.scenarios),
        "findings": len(report.findings),
        "runs": runs,
        "median_s": round(statistics.median(times), 4),
        "min_s": round(min(times), 4),
        "max_s": round(max(times), 4),
        "target_s": TARGET_S,
        "within_target": statistics.median(times) <= TARGET_S,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
    }


def main() -> None:
    figures = run()
    for key, value in figures.items():
        print(f"{key:>13}: {value}")


if __name__ == "__main__":
    main()

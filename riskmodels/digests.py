"""Digests that decide whether a snapshot is new (inputs) and what caused an alert (holdings)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Context, Decimal

from riskmodels import engine
from riskmodels.engine.liquidity import HORIZONS as LOCK_HORIZONS
from riskmodels.engine.rules import Rule
from riskmodels.policies import policy_fingerprint
from riskmodels.reports import decimal_text
from riskmodels.selectors import PortfolioInputs

DIGEST_VERSION = "exposure-inputs-v3"
MICROSECONDS_PER_HOUR = 3_600_000_000
ONE_MICROSECOND = timedelta(microseconds=1)
# normalize() rounds to its context's precision: 60 digits keep every numeric(38, 18) amount.
CANONICAL = Context(prec=60)


def _sha256(lines: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode())
        digest.update(b"\n")
    return digest.hexdigest()


# A holdings snapshot never changes once written, so each one's digest is worked out once per
# process: a portfolio of 100,000 holdings is digested in the time of the snapshots that are
# new since the last computation. Keyed by id and time, so no reused id can be mistaken.
_snapshot_digests: dict[tuple[int, datetime], str] = {}
SNAPSHOT_DIGESTS_KEPT = 100_000


def holdings_digest(inputs: PortfolioInputs) -> str:
    """Amounts per (location, asset, product), zero amounts left out, in a fixed order.

    Amounts are normalised (no trailing zeros), so 1.50 and 1.5, as two syncs may store them,
    are the same holding.
    """
    keys = {pk: (loc.snapshot_id, loc.taken_at) for pk, loc in inputs.locations.items()}
    missing = {pk for pk, key in keys.items() if key not in _snapshot_digests}
    if missing:
        _digest_snapshots(inputs, keys, missing)
    return _sha256(f"{pk}|{_snapshot_digests[keys[pk]]}" for pk in sorted(keys))


def _digest_snapshots(
    inputs: PortfolioInputs, keys: dict[int, tuple[int, datetime]], missing: set[int]
) -> None:
    if len(_snapshot_digests) > SNAPSHOT_DIGESTS_KEPT:
        _snapshot_digests.clear()
    rows: dict[int, list[tuple]] = {pk: [] for pk in missing}
    for location, asset, product, amount in inputs.holdings:
        if location in rows and amount:
            rows[location].append((asset, product, amount))
    for pk, location_rows in rows.items():
        _snapshot_digests[keys[pk]] = _sha256(
            f"{asset}|{product}|{amount.normalize(CANONICAL)}"
            for asset, product, amount in sorted(location_rows)
        )


def stale_levels(inputs: PortfolioInputs, policy: engine.Policy, as_of: datetime) -> list[str]:
    """Each location's staleness level now: the only input that changes with the clock alone.

    A failed sync keeps the old snapshot; this makes a new exposure snapshot (and its alert)
    exactly when a location crosses a staleness level, not on every run.
    """
    threshold = policy.thresholds[Rule.STALE_DATA]
    return [
        f"{pk}:{_stale_level(as_of - loc.taken_at, threshold)}"
        for pk, loc in sorted(inputs.locations.items())
    ]


def _stale_level(age: timedelta, threshold: engine.Threshold) -> str:
    """The engine's rule on exact microseconds: strictly above a level crosses it."""
    micro = Decimal(max(age // ONE_MICROSECOND, 0))
    for name, level in (("breach", threshold.breach), ("warn", threshold.warn)):
        if level is not None and micro > level * MICROSECONDS_PER_HOUR:
            return name
    return "ok"


def inputs_digest(
    *,
    inputs: PortfolioInputs,
    holdings: str,
    registry: tuple[engine.Counterparty, ...],
    policy: engine.Policy,
    scenarios: tuple[engine.Scenario, ...],
    as_of: datetime,
) -> str:
    """Everything the engine reads, so equal digests mean equal reports (up to ages)."""
    return _sha256(
        [
            DIGEST_VERSION,
            holdings,
            *(
                f"loc:{pk}|{loc.kind}|{loc.custodian}|{loc.taken_at.isoformat()}"
                for pk, loc in sorted(inputs.locations.items())
            ),
            *(
                f"asset:{pk}|{a.code}|{a.kind}|{a.issuer}|{decimal_text(a.price)}"
                for pk, a in sorted(inputs.assets.items())
            ),
            *sorted(repr(row) for row in registry),
            policy_fingerprint(policy),
            *(repr(scenario) for scenario in scenarios),
            *stale_levels(inputs, policy, as_of),
            *lock_horizons(inputs, as_of),
            *(
                f"settled:{pk}|{row.custodian}|{row.last_settlement}|{row.baseline}"
                for pk, row in sorted(inputs.settlements.items())
            ),
        ]
    )


def lock_horizons(inputs: PortfolioInputs, as_of: datetime) -> list[str]:
    """Each lock with the horizons it still spans at `as_of`: a lock ending moves the report
    even when nothing else changed (its amounts are in the snapshot, digested above)."""
    return sorted(
        f"lock:{loc}|{asset}|{decimal_text(amount)}|{until.isoformat()}|"
        + "".join("1" if until > as_of + timedelta(days=d) else "0" for d in LOCK_HORIZONS)
        for loc, asset, amount, until in inputs.locks
    )

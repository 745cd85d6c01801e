"""Shared builders for the engine tests (no tests here).

Positions are built with price 1 by default so that an amount reads as its USD value.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from riskmodels.engine import Counterparty, Position, build_report

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
D = Decimal


def cp(slug, group=None, kind="exchange", tier="A", status="operating"):
    return Counterparty(slug, group or slug, kind, tier, status)


def held(
    custodian,
    value,
    asset="BTC",
    kind="native",
    issuer=None,
    product="spot",
    location=None,
    price="1",
    as_of=NOW,
    location_kind=None,
):
    """``value`` units of an asset at ``custodian`` (USD when the price is 1)."""
    if location_kind is None:
        location_kind = "self_custody" if custodian is None else "exchange"
    return Position(
        location_id=location if location is not None else (custodian or "wallet"),
        location_kind=location_kind,
        custodian=custodian,
        asset=asset,
        asset_kind=kind,
        issuer=issuer,
        product=product,
        amount=D(value),
        price_usd=None if price is None else D(price),
        data_as_of=as_of,
    )


def report(positions, counterparties, **kwargs):
    kwargs.setdefault("as_of", NOW)
    return build_report(positions, counterparties, **kwargs)


def finding(rep, rule, subject):
    found = [f for f in rep.findings if f.rule == rule and f.subject == subject]
    assert len(found) == 1, (rule, subject, found)
    return found[0]


def scenario(rep, name):
    found = [s for s in rep.scenarios if s.name == name]
    assert len(found) == 1, (name, [s.name for s in rep.scenarios])
    return found[0]


# The design's worked check: NAV 10,000,000.
BIG_FOUR = [cp("binance"), cp("coinbase"), cp("okx"), cp("kraken")]
WORKED = [
    held("binance", "3000000"),
    held("coinbase", "2000000"),
    held("okx", "1500000"),
    held("kraken", "1000000"),
    held(None, "2500000"),
]

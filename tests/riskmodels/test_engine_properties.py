"""Hypothesis properties of the engine, checked with exact Decimal equality."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmodels.engine import SELF_CUSTODY, Scenario, Shock, investor_view
from riskmodels.engine.outputs import SCALED
from tests.riskmodels.test_engine_builders import NOW, D, cp, held, report

GROUPS = ["g0", "g1", "g2", "g3"]
COUNTERPARTIES = [
    cp("g0", kind="exchange", tier="A"),
    cp("g0-us", "g0", kind="exchange", tier="B"),
    cp("g1", kind="custodian", tier="B"),
    cp("g2", kind="issuer", tier="C", status="insolvent"),
    cp("g2-eu", "g2", kind="issuer"),
    cp("g3", kind="protocol", tier="unrated"),
]
GROUP_OF = {c.slug: c.group for c in COUNTERPARTIES}
ENTITIES = list(GROUP_OF)
ASSETS = ["BTC", "ETH", "USDT", "BNB", "UST", "WBTC"]
ASSET_KINDS = ["native", "fiat_stablecoin", "algo_stablecoin", "exchange_token", "wrapped"]
PRODUCTS = ["spot", "earn", "staking", "margin"]

amounts = st.integers(-(10**6), 10**9).map(lambda n: D(n).scaleb(-4))
prices = st.one_of(st.none(), st.integers(0, 10**6).map(lambda n: D(n).scaleb(-3)))


@st.composite
def positions(draw):
    custodian = draw(st.one_of(st.none(), st.sampled_from(ENTITIES)))
    return held(
        custodian,
        draw(amounts),
        asset=draw(st.sampled_from(ASSETS)),
        kind=draw(st.sampled_from(ASSET_KINDS)),
        issuer=draw(st.one_of(st.none(), st.sampled_from(ENTITIES))),
        product=draw(st.sampled_from(PRODUCTS)),
        location=draw(st.integers(0, 5)),
        price=draw(prices),
        as_of=NOW - timedelta(minutes=draw(st.integers(0, 48 * 60))),
    )


portfolios = st.lists(positions(), max_size=25)
fractions = st.integers(0, 100).map(lambda n: D(n).scaleb(-2))
shocks = st.builds(
    Shock,
    fraction=fractions,
    custody_group=st.one_of(st.none(), st.sampled_from(GROUPS)),
    issuer_group=st.one_of(st.none(), st.sampled_from(GROUPS)),
    asset=st.one_of(st.none(), st.sampled_from(ASSETS)),
    asset_kind=st.sampled_from(ASSET_KINDS),  # always set: a shock needs a selector
)
stakes = st.integers(0, 10**6).map(lambda n: D(n).scaleb(-6))


def value(p):
    return p.amount * p.price_usd


def group(slug):
    return None if slug is None else GROUP_OF[slug]


def assets_of(ps):
    """Priced positions with a positive value: what counterparty figures count."""
    return [p for p in ps if p.price_usd is not None and value(p) > 0]


@settings(deadline=None)
@given(portfolios)
def test_allocation_sums_to_gross_assets(ps):
    rep = report(ps, COUNTERPARTIES)
    priced = [value(p) for p in ps if p.price_usd is not None]
    assert rep.nav == sum(priced, D(0))
    assert rep.gross_assets == sum((v for v in priced if v > 0), D(0))
    assert sum((b.value for b in rep.allocation), D(0)) == rep.gross_assets
    assert sum((b.debts for b in rep.allocation), D(0)) == rep.debts
    assert rep.nav == rep.gross_assets + rep.debts
    assert D(0) <= rep.concentration.hhi <= D(10000)


@settings(deadline=None)
@given(portfolios)
def test_look_through_between_custody_and_custody_plus_issuer(ps):
    rep = report(ps, COUNTERPARTIES)
    for e in rep.exposures:
        assert e.custody <= e.total <= e.custody + e.issuer
        assert e.overlap <= min(e.custody, e.issuer)
        touching = [p for p in assets_of(ps) if e.group in (group(p.custodian), group(p.issuer))]
        assert e.total == sum((value(p) for p in touching), D(0))  # the design's E(X)


@settings(deadline=None)
@given(portfolios, st.data())
def test_moving_to_self_custody_never_raises_custody(ps, data):
    held_by_someone = [i for i, p in enumerate(ps) if p.custodian is not None]
    if not held_by_someone:
        return
    i = data.draw(st.sampled_from(held_by_someone))
    moved = list(ps)
    moved[i] = ps[i]._replace(custodian=None, location_kind="self_custody", location_id="wallet")
    before, after = report(ps, COUNTERPARTIES), report(moved, COUNTERPARTIES)
    assert after.nav == before.nav
    custody_before = {e.group: e.custody for e in before.exposures}
    for e in after.exposures:
        assert e.custody <= custody_before.get(e.group, D(0))


def brute_force_loss(ps, scenario):
    """The design's formula applied position by position."""
    loss = exposed = D(0)
    for p in assets_of(ps):
        facts = (group(p.custodian), group(p.issuer), p.asset, p.asset_kind)
        survival, touched = D(1), False
        for shock in scenario.shocks:
            if all(facts[i] == v for i, v in shock.selectors):
                survival *= 1 - shock.fraction
                touched = True
        if touched:
            exposed += value(p)
            loss += value(p) * (1 - survival)
    return loss, exposed


@settings(deadline=None)
@given(portfolios, st.lists(shocks, min_size=1, max_size=4))
def test_stress_loss_between_zero_and_touched_value(ps, shock_list):
    scenario = Scenario("custom", tuple(shock_list))
    rep = report(ps, COUNTERPARTIES, scenarios=[scenario])
    result = rep.scenarios[-1]
    assert D(0) <= result.loss <= result.exposed <= rep.gross_assets
    assert (result.loss, result.exposed) == brute_force_loss(ps, scenario)


@settings(deadline=None)
@given(portfolios)
def test_group_default_presets_never_exceed_look_through(ps):
    rep = report(ps, COUNTERPARTIES)
    for e in rep.exposures:
        for s in rep.scenarios:
            if s.name.startswith(f"{e.group} default"):
                assert D(0) <= s.loss <= e.total
            if s.name == f"{e.group} default (fraud)":
                assert s.loss == e.total


def pairs(portfolio, investor, path="report", is_scaled=False):
    """Every (field path, portfolio value, investor value, scaled?) of two parallel reports."""
    if isinstance(portfolio, tuple):
        for n, (a, b) in enumerate(zip(portfolio, investor, strict=True)):
            yield from pairs(a, b, f"{path}[{n}]", is_scaled)
    elif is_dataclass(portfolio):
        for f in fields(portfolio):
            a, b = getattr(portfolio, f.name), getattr(investor, f.name)
            yield from pairs(a, b, f"{path}.{f.name}", bool(f.metadata.get(SCALED)))
    else:
        yield path, portfolio, investor, is_scaled


@settings(deadline=None)
@given(portfolios, stakes)
def test_investor_figures_are_stake_times_portfolio(ps, stake):
    rep = report(ps, COUNTERPARTIES)
    view = investor_view(rep, stake)
    assert view.nav == stake * rep.nav
    assert view.gross_assets == stake * rep.gross_assets
    scaled_fields = 0
    for path, a, b, is_scaled in pairs(rep, view):
        if path == "report.stake":
            assert b == stake
        elif is_scaled and a is not None:
            assert b == stake * a, path  # exact: the product has all its digits
            scaled_fields += 1
        else:
            assert b == a, path  # shares, HHI, ages, thresholds and names are unchanged
    assert scaled_fields >= 3


def test_investor_exact_and_bounded():
    rep = report([held("g0", "1000000.000000000000000001"), held(None, "1")], COUNTERPARTIES)
    view = investor_view(rep, D("0.333333333333333333"))
    assert view.nav == D("333333.666666666666333333333333333333333333")
    assert view.exposure("g0").share == rep.exposure("g0").share
    assert investor_view(view, D("0.5")).stake == D("0.1666666666666666665")
    for bad in (D("-0.1"), D("1.1"), 0.5):
        with pytest.raises(ValueError):
            investor_view(rep, bad)


def test_self_custody_is_never_a_group():
    rep = report([held(None, "5")], COUNTERPARTIES)
    assert [b.bucket for b in rep.allocation] == [SELF_CUSTODY]
    assert Decimal(rep.concentration.hhi) == D(10000)

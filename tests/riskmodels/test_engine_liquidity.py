"""Locked earn and staking per custody group: what cannot be withdrawn within 7 and 30 days."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskmodels.engine import LockedAmount, investor_view
from tests.riskmodels.test_engine_builders import NOW, D, cp, held, report

REGISTRY = [cp("binance-group"), cp("binance", "binance-group"), cp("kraken")]


def lock(custodian, amount, days, price="2", asset="ETH"):
    return LockedAmount(
        custodian, asset, D(amount), None if price is None else D(price), NOW + timedelta(days=days)
    )


def test_locked_value_is_counted_per_group_beyond_each_horizon():
    locks = [
        lock("binance", "10", 3),  # released within a week: not counted
        lock("binance", "5", 10),  # beyond 7 days, within 30: 5 x 2 = 10 USD
        lock("binance-group", "7", 45),  # beyond both: 14 USD, same group
        lock("kraken", "1.5", 90, price="3000"),  # 4500 USD beyond both
    ]
    positions = [held("binance", "100", "ETH", product="staking"), held("kraken", "2", "ETH")]
    rep = report(positions, REGISTRY, locks=locks)
    assert [(r.group, r.beyond_7d, r.beyond_30d, r.unpriced) for r in rep.locked] == [
        ("kraken", D("4500.0"), D("4500.0"), 0),
        ("binance-group", D("24"), D("14"), 0),
    ]


def test_a_lock_ending_exactly_at_a_horizon_is_released_by_then():
    rep = report([], REGISTRY, locks=[lock("kraken", "1", 7), lock("kraken", "2", 30)])
    assert [(r.beyond_7d, r.beyond_30d) for r in rep.locked] == [(D("4"), D("0"))]


def test_an_unpriced_lock_is_counted_apart_never_as_zero_value():
    rep = report([], REGISTRY, locks=[lock("kraken", "1", 40, price=None), lock("kraken", "1", 40)])
    (row,) = rep.locked
    assert (row.beyond_7d, row.beyond_30d, row.unpriced) == (D("2"), D("2"), 1)


def test_an_investor_sees_the_locked_value_times_the_stake():
    rep = report([], REGISTRY, locks=[lock("kraken", "10", 40)])
    (row,) = investor_view(rep, D("0.25")).locked
    assert (row.beyond_7d, row.beyond_30d) == (D("5.00"), D("5.00"))


def test_a_lock_needs_a_positive_amount_and_an_aware_date():
    with pytest.raises(ValueError):
        lock("kraken", "0", 10)
    with pytest.raises(ValueError):
        LockedAmount("kraken", "ETH", D("1"), D("1"), NOW.replace(tzinfo=None))


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["binance", "binance-group", "kraken"]),
            st.decimals(min_value="0.01", max_value="1000000", places=2),
            st.integers(min_value=-5, max_value=400),
        ),
        max_size=20,
    )
)
def test_beyond_30_days_never_exceeds_beyond_7_and_the_total_is_what_is_locked_later(rows):
    locks = [lock(c, str(a), d) for c, a, d in rows]
    rep = report([], REGISTRY, locks=locks)
    for row in rep.locked:
        assert D(0) <= row.beyond_30d <= row.beyond_7d
    assert sum(r.beyond_7d for r in rep.locked) == sum(
        (lk.amount * lk.price_usd for lk in locks if lk.unlocks_at > NOW + timedelta(days=7)),
        D(0),
    )

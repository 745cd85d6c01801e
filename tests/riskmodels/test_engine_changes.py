"""What changed between two reports: pure comparisons, no database."""

from __future__ import annotations

from decimal import Decimal as D

from riskmodels.engine.changes import ExposureState, amount_changes, exposure_changes


def test_amount_changes_lists_added_removed_and_changed_exactly():
    before = {("okx", "BTC"): D("30"), ("cold", "ETH"): D("1.1"), ("kraken", "BTC"): D("20")}
    after = {
        ("okx", "BTC"): D("70.000000000000000001"),
        ("kraken", "BTC"): D("20"),
        ("b", "X"): D("5"),
    }
    changes = {c.key: c for c in amount_changes(before, after)}
    assert set(changes) == {("okx", "BTC"), ("cold", "ETH"), ("b", "X")}  # kraken unchanged
    assert changes[("okx", "BTC")].delta == D("40.000000000000000001")
    assert changes[("okx", "BTC")].kind == "changed"
    assert (changes[("cold", "ETH")].kind, changes[("cold", "ETH")].delta) == ("removed", D("-1.1"))
    assert (changes[("b", "X")].kind, changes[("b", "X")].before) == ("added", None)


def test_exposure_changes_put_the_largest_move_of_share_first():
    before = {
        "okx": ExposureState(D("1500000"), D("0.15"), "ok"),
        "binance": ExposureState(D("3000000"), D("0.3"), "breach"),
        "kraken": ExposureState(D("1000000"), D("0.1"), "ok"),
    }
    after = {
        "okx": ExposureState(D("3500000"), D("0.35"), "breach"),
        "binance": ExposureState(D("3000000"), D("0.25"), "warn"),
        "kraken": ExposureState(D("1000000"), D("0.1"), "ok"),
    }
    changes = exposure_changes(before, after)
    assert [c.group for c in changes] == ["okx", "binance"]
    assert changes[0].total_delta == D("2000000")
    assert changes[0].share_delta == D("0.20")
    assert changes[0].status_changed and changes[1].status_changed


def test_a_group_that_appears_is_a_change_from_nothing():
    changes = exposure_changes({}, {"new": ExposureState(D("5"), D("0.01"), "ok")})
    assert (changes[0].before, changes[0].total_delta, changes[0].status_changed) == (
        None,
        D("5"),
        False,
    )

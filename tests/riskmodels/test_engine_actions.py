"""What would cure each finding: move (custody), convert (issuer), blocked (distressed venue)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from riskmodels.engine import investor_view
from riskmodels.engine.actions import split_cure
from tests.riskmodels.test_engine_builders import BIG_FOUR, WORKED, D, cp, held, report


def action(rep, rule, subject):
    found = [a for a in rep.actions if a.rule == rule and a.subject == subject]
    assert len(found) == 1, (rule, subject, rep.actions)
    return found[0]


def parts(a):
    return (a.amount, a.move, a.convert, a.blocked)


def test_custody_exposure_is_cured_by_moving():
    rep = report(WORKED, BIG_FOUR)
    # Binance 3,000,000 of NAV 10,000,000, warn 20%: 1,000,000 to move.
    assert parts(action(rep, "group", "binance")) == (D(1000000), D(1000000), D(0), D(0))


def test_issuer_exposure_is_cured_by_converting_not_moving():
    rows = [cp("tether", kind="issuer", tier="B"), cp("kraken")]
    rep = report(
        [
            held("kraken", "3000000", asset="USDT", kind="fiat_stablecoin", issuer="tether"),
            held(None, "7000000"),
        ],
        rows,
    )
    # Tether 30% against a 10% warn: 2,000,000, all of it issuer exposure.
    assert parts(action(rep, "group", "tether")) == (D(2000000), D(0), D(2000000), D(0))
    # The stablecoin-issuer limit (15% warn) is also cured by swapping the coin.
    assert parts(action(rep, "stablecoin_issuer", "tether")) == (
        D(1500000),
        D(0),
        D(1500000),
        D(0),
    )
    # At Kraken the same coins can be moved: Kraken's own limit is a custody matter.
    assert parts(action(rep, "group", "kraken")) == (D(1000000), D(1000000), D(0), D(0))


def test_a_halted_venue_blocks_what_it_holds():
    rows = [cp("venue", status="withdrawals_halted"), cp("coinbase")]
    rep = report([held("venue", "100"), held("coinbase", "1000"), held(None, "8900")], rows)
    # Distressed: breach at 0, so the whole 100 must go, and none of it can.
    assert parts(action(rep, "distressed_counterparty", "venue")) == (D(100), D(0), D(0), D(100))


def test_an_insolvent_issuers_token_held_elsewhere_can_still_be_sold():
    rows = [cp("ftx", status="insolvent"), cp("kraken")]
    rep = report(
        [
            held("ftx", "50", asset="FTT", kind="exchange_token", issuer="ftx"),
            held("kraken", "30", asset="FTT", kind="exchange_token", issuer="ftx"),
            held(None, "9920"),
        ],
        rows,
    )
    assert parts(action(rep, "distressed_counterparty", "ftx")) == (D(80), D(0), D(30), D(50))


def test_a_halted_entity_of_an_operating_group_is_blocked_alone():
    rows = [cp("binance-group", kind="group"), cp("binance", group="binance-group")]
    rows.append(cp("binanceus", group="binance-group", status="withdrawals_halted"))
    rep = report(
        [held("binance", "2000"), held("binanceus", "1000"), held(None, "7000")],
        rows,
    )
    # Group 30% against a 20% warn: 1,000 to cure, from the 2,000 Binance still pays out.
    assert parts(action(rep, "group", "binance-group")) == (D(1000), D(1000), D(0), D(0))
    assert parts(action(rep, "distressed_counterparty", "binanceus")) == (
        D(1000),
        D(0),
        D(0),
        D(1000),
    )


def test_what_cannot_be_moved_or_converted_is_blocked():
    rows = [cp("binance-group", kind="group"), cp("binance", group="binance-group")]
    rows.append(cp("binanceus", group="binance-group", status="withdrawals_halted"))
    rep = report([held("binance", "500"), held("binanceus", "2500"), held(None, "7000")], rows)
    # 1,000 to cure; Binance pays out its 500, the rest sits at Binance.US.
    assert parts(action(rep, "group", "binance-group")) == (D(1000), D(500), D(0), D(500))


def test_exchange_custody_excludes_distressed_venues_from_the_move():
    rows = [cp("venue", status="insolvent"), cp("okx"), cp("kraken")]
    rep = report(
        [held("venue", "1000"), held("okx", "2000"), held("kraken", "2000"), held(None, "5000")],
        rows,
    )
    # 50% on exchanges, 40% warn: 1,000 to cure; all of it can come from OKX and Kraken.
    assert parts(action(rep, "exchange_custody", "all")) == (D(1000), D(1000), D(0), D(0))


def test_actions_come_breaches_first():
    rep = report(WORKED, BIG_FOUR)
    assert [a.level for a in rep.actions] == sorted(
        (a.level for a in rep.actions), key=lambda level: level != "breach"
    )
    assert rep.actions[0].level == "breach"


def test_no_action_for_a_finding_within_its_limits():
    rep = report(WORKED, BIG_FOUR)
    assert {(a.rule, a.subject) for a in rep.actions} == {
        ("group", "binance"),
        ("exchange_custody", "all"),
    }


def test_an_investor_sees_the_split_times_their_stake():
    rep = investor_view(report(WORKED, BIG_FOUR), D("0.25"))
    assert parts(action(rep, "group", "binance")) == (D(250000), D(250000), D(0), D(0))


money = st.decimals(min_value=0, max_value=10**12, places=6, allow_nan=False, allow_infinity=False)


@given(amount=money, movable=money, convertible=money)
def test_the_split_always_adds_up_to_the_amount(amount, movable, convertible):
    split = split_cure(amount, movable, convertible)
    assert split.move + split.convert + split.blocked == amount
    assert min(split.move, split.convert, split.blocked) >= 0
    assert split.move <= movable and split.convert <= convertible


@given(
    custody=st.integers(min_value=0, max_value=10**9),
    issued=st.integers(min_value=0, max_value=10**9),
    rest=st.integers(min_value=1, max_value=10**9),
    status=st.sampled_from(["operating", "withdrawals_halted", "insolvent"]),
)
def test_every_action_of_a_report_adds_up(custody, issued, rest, status):
    rows = [cp("venue", status=status, tier="C"), cp("issuer", kind="issuer", tier="C")]
    positions = [
        held("venue", custody),
        held(None, issued, asset="COIN", kind="fiat_stablecoin", issuer="venue"),
        held("issuer", rest),
    ]
    rep = report(positions, rows)
    for a in rep.actions:
        assert a.move + a.convert + a.blocked == a.amount
        assert min(a.move, a.convert, a.blocked) >= 0
        if status != "operating" and a.subject == "venue":
            assert a.move == 0


def test_the_move_suggestion_offers_nothing_at_a_halted_venue():
    rows = [cp("venue", status="withdrawals_halted", tier="B")]
    rep = report([held("venue", "2000"), held(None, "8000")], rows)
    [move] = rep.moves
    assert (move.amount, move.movable, move.sufficient) == (D(1000), D(0), False)
    assert parts(action(rep, "group", "venue")) == (D(1000), D(0), D(0), D(1000))

"""Default-policy findings for every rule, threshold precedence, staleness, what to move."""

from __future__ import annotations

from datetime import timedelta

import pytest

from riskmodels.engine import DEFAULT_POLICY, RULES, Policy, Threshold
from tests.riskmodels.test_engine_builders import (
    BIG_FOUR,
    NOW,
    WORKED,
    D,
    cp,
    finding,
    held,
    report,
)


def T(warn, breach):
    return Threshold(None if warn is None else D(warn), None if breach is None else D(breach))


def test_default_policy_numbers():
    p = DEFAULT_POLICY
    assert dict(p.group_tier) == {
        "A": T("0.20", "0.25"),
        "B": T("0.10", "0.15"),
        "C": T("0.03", "0.05"),
        "D": T("0.01", "0.02"),
        "unrated": T("0.01", "0.02"),
    }
    assert dict(p.thresholds) == {
        "exchange_custody": T("0.40", "0.50"),
        "earn_per_group": T("0.05", "0.10"),
        "hhi_third_party": T("1800", "2500"),
        "stablecoin_issuer": T("0.15", "0.25"),
        "algo_stablecoins": T("0.01", "0.02"),
        "exchange_token": T("0.02", "0.05"),
        "wrong_way": T("0", "0.01"),
        "distressed_counterparty": T(None, "0"),
        "stale_data": T("6", "24"),
        "unpriced_asset": T("0", None),
        "unclassified_asset": T("0", None),
    }


def with_thresholds(**changes):
    thresholds = dict(DEFAULT_POLICY.thresholds) | changes
    return Policy(DEFAULT_POLICY.group_tier, thresholds, DEFAULT_POLICY.overrides)


class TestGroupRule:
    def tiered(self, tier, value):
        rows = [cp("venue", tier=tier)]
        return report([held("venue", value), held(None, D(10000) - D(value))], rows)

    @pytest.mark.parametrize(
        ("tier", "ok", "warn", "breach"),
        [
            ("A", "2000", "2001", "2501"),
            ("B", "1000", "1001", "1501"),
            ("C", "300", "301", "501"),
            ("D", "100", "101", "201"),
            ("unrated", "100", "101", "201"),
        ],
    )
    def test_tier_thresholds_strictly_above(self, tier, ok, warn, breach):
        for value, level in ((ok, "ok"), (warn, "warn"), (breach, "breach")):
            assert finding(self.tiered(tier, value), "group", "venue").level == level

    def test_group_override_beats_tier(self):
        policy = Policy(
            DEFAULT_POLICY.group_tier,
            DEFAULT_POLICY.thresholds,
            {"group": {"binance": T("0.30", "0.40")}},
        )
        rep = report(WORKED, BIG_FOUR, policy=policy)
        f = finding(rep, "group", "binance")
        assert (f.level, f.warn, f.breach) == ("ok", D("0.30"), D("0.40"))
        assert finding(rep, "group", "coinbase").warn == D("0.20")  # tier A still applies
        assert rep.moves == ()

    def test_override_cannot_be_mutated_afterwards(self):
        groups = {"binance": T("0.30", "0.40")}
        policy = Policy(DEFAULT_POLICY.group_tier, DEFAULT_POLICY.thresholds, {"group": groups})
        groups["binance"] = T("0.01", "0.02")
        assert policy.for_group("binance", "A") == T("0.30", "0.40")

    def test_policy_rejects_missing_rule(self):
        thresholds = dict(DEFAULT_POLICY.thresholds)
        del thresholds["wrong_way"]
        with pytest.raises(ValueError):
            Policy(DEFAULT_POLICY.group_tier, thresholds)

    def test_threshold_rejects_warn_above_breach(self):
        with pytest.raises(ValueError):
            T("0.3", "0.2")


class TestEveryRuleWithDefaults:
    """One portfolio, NAV 10,000, that sets off every rule of the default policy."""

    COUNTERPARTIES = [
        cp("binance", tier="A"),
        cp("binance-us", "binance", status="withdrawals_halted"),
        cp("kraken", tier="B"),
        cp("ftx", tier="C", status="insolvent"),
        cp("tether", kind="issuer", tier="B"),
        cp("circle", kind="issuer", tier="A"),
        cp("terra", kind="issuer", tier="D"),
    ]

    def positions(self):
        old = NOW - timedelta(hours=30)
        return [
            held("binance", "1500"),
            held("binance", "300", "BNB", "exchange_token", "binance"),
            held("binance", "600", "ETH", product="earn"),
            held("binance-us", "100", location="bus"),
            held("kraken", "1200", "USDT", "fiat_stablecoin", "tether"),
            held("kraken", "400", "ETH", product="staking", as_of=NOW - timedelta(hours=7)),
            held("ftx", "10", "FTT", "exchange_token", "ftx", as_of=old),
            held(None, "2600", "USDC", "fiat_stablecoin", "circle"),
            held(None, "150", "UST", "algo_stablecoin", "terra"),
            held(None, "3135"),
            held(None, "5", "XYZ", price=None),
            held(None, "5", "NEWCOIN", "unclassified"),
        ]

    @pytest.fixture
    def rep(self):
        return report(self.positions(), self.COUNTERPARTIES)

    def test_nav(self, rep):
        assert rep.nav == D("10000")

    def test_rules(self, rep):
        expected = {
            ("group", "binance"): ("0.25", "warn"),  # 2,500 incl. Binance.US
            ("group", "kraken"): ("0.16", "breach"),  # tier B: above 15%
            ("group", "ftx"): ("0.001", "ok"),  # tier C: 0.1% is under 3%
            ("exchange_custody", "all"): ("0.411", "warn"),
            ("earn_per_group", "binance"): ("0.06", "warn"),
            ("earn_per_group", "kraken"): ("0.04", "ok"),  # staking counts as earn
            ("stablecoin_issuer", "circle"): ("0.26", "breach"),
            ("stablecoin_issuer", "tether"): ("0.12", "ok"),
            ("algo_stablecoins", "all"): ("0.015", "warn"),
            ("exchange_token", "BNB"): ("0.03", "warn"),
            ("exchange_token", "FTT"): ("0.001", "ok"),
            ("wrong_way", "binance"): ("0.03", "breach"),
            ("wrong_way", "ftx"): ("0.001", "warn"),
            ("distressed_counterparty", "ftx"): ("0.001", "breach"),
            ("distressed_counterparty", "binance-us"): ("0.01", "breach"),
            ("unpriced_asset", "XYZ"): ("1", "warn"),
            ("unclassified_asset", "NEWCOIN"): ("1", "warn"),
        }
        for (rule, subject), (value, level) in expected.items():
            f = finding(rep, rule, subject)
            assert (f.value, f.level) == (D(value), level), (rule, subject, f)
        assert {f.rule for f in rep.findings} == set(RULES)

    def test_hhi(self, rep):
        f = finding(rep, "hhi_third_party", "third_party")
        # Third-party buckets: binance 2,500, kraken 1,600, ftx 10 (total 4,110):
        # 10,000 * 8,810,100 / 16,892,100 = 5,215.508...
        assert f.value == D("5215.51")
        assert f.level == "breach"

    def test_stale(self, rep):
        assert finding(rep, "stale_data", "ftx").level == "breach"  # 30 h
        # A location is as old as its oldest position: 7 h is above the 6 h warn.
        assert finding(rep, "stale_data", "kraken").level == "warn"
        assert finding(rep, "stale_data", "binance").level == "ok"
        assert [s.location_id for s in rep.stale] == ["ftx", "kraken"]
        assert [s.age_hours for s in rep.stale] == [D("30"), D("7")]

    def test_moves(self, rep):
        moves = {m.group: (m.amount, m.movable, m.sufficient) for m in rep.moves}
        assert moves == {
            "binance": (D("500"), D("2200"), True),  # 2,500 - 20% of 10,000; BNB stays
            "kraken": (D("600"), D("1600"), True),  # 1,600 - 10% of 10,000
            # Issuers: moving their coins to a wallet changes nothing; selling would.
            "circle": (D("600"), D("0"), False),
            "tether": (D("200"), D("0"), False),
            "terra": (D("50"), D("0"), False),
        }


class TestStaleness:
    @pytest.mark.parametrize(
        ("age", "level"),
        [
            (timedelta(hours=6), "ok"),
            (timedelta(hours=6, microseconds=1), "warn"),
            (timedelta(hours=24), "warn"),
            (timedelta(hours=24, microseconds=1), "breach"),
            (timedelta(hours=-1), "ok"),  # a clock ahead of ours counts as fresh
        ],
    )
    def test_levels(self, age, level):
        rep = report([held("binance", "1", as_of=NOW - age)], [cp("binance")])
        assert finding(rep, "stale_data", "binance").level == level

    def test_per_location_override(self):
        policy = Policy(
            DEFAULT_POLICY.group_tier,
            DEFAULT_POLICY.thresholds,
            {"stale_data": {"binance": T("48", "72")}},
        )
        rep = report(
            [held("binance", "1", as_of=NOW - timedelta(hours=30))], [cp("binance")], policy=policy
        )
        assert finding(rep, "stale_data", "binance").level == "ok"
        assert rep.stale == ()


def test_large_exposure_line_comes_from_policy():
    policy = Policy(DEFAULT_POLICY.group_tier, DEFAULT_POLICY.thresholds, large_exposure=D("0.2"))
    rep = report(WORKED, BIG_FOUR, policy=policy)
    assert rep.concentration.large_groups == ("binance", "coinbase")


def test_changed_rule_threshold():
    rep = report(WORKED, BIG_FOUR, policy=with_thresholds(exchange_custody=T("0.80", "0.90")))
    assert finding(rep, "exchange_custody", "all").level == "ok"


def test_insufficient_move_when_group_issues_the_asset():
    # 30% of NAV is Binance's own token at Binance: moving it away keeps the issuer exposure.
    positions = [held("binance", "3000", "BNB", "exchange_token", "binance"), held(None, "7000")]
    rep = report(positions, [cp("binance")])
    [move] = rep.moves
    assert (move.amount, move.movable, move.sufficient) == (D("1000"), D(0), False)
    assert move.share_after == D("0.3")


def test_crypto_backed_stablecoin_counts_towards_its_issuer_without_a_depeg_preset():
    sky = cp("sky", kind="protocol", tier="B")
    rep = report(
        [held("kraken", "200", asset="DAI", kind="crypto_stablecoin", issuer="sky"),
         held(None, "800")],
        [cp("kraken"), sky],
    )  # fmt: skip
    assert finding(rep, "stablecoin_issuer", "sky").value == D("0.2")
    assert finding(rep, "stablecoin_issuer", "sky").level == "warn"
    assert not [s for s in rep.scenarios if "depeg" in s.name and "sky" in s.name]

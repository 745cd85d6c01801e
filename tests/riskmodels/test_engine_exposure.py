"""Hand-computed portfolios: allocation, look-through exposure, concentration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from riskmodels.engine import SELF_CUSTODY, EngineInputError, Position, build_report
from tests.riskmodels.test_engine_builders import BIG_FOUR, NOW, WORKED, D, cp, held, report

ROOT = Path(__file__).resolve().parents[2]


def test_engine_imports_no_django():
    code = (
        "import riskmodels.engine, riskmodels.engine.report, riskmodels.engine.stress, "
        "riskmodels.engine.investor, riskmodels.engine.limits; import sys; "
        "assert not any(m.startswith('django') for m in sys.modules), "
        "sorted(m for m in sys.modules if m.startswith('django'))"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


class TestWorkedCheck:
    """NAV 10m: Binance 3.0m, Coinbase 2.0m, OKX 1.5m, Kraken 1.0m, self-custody 2.5m."""

    def test_nav_and_allocation(self):
        rep = report(WORKED, BIG_FOUR)
        assert rep.nav == rep.gross_assets == D("10000000")
        assert [(b.bucket, b.value) for b in rep.allocation] == [
            ("binance", D("3000000")),
            (SELF_CUSTODY, D("2500000")),
            ("coinbase", D("2000000")),
            ("okx", D("1500000")),
            ("kraken", D("1000000")),
        ]
        assert sum(b.value for b in rep.allocation) == rep.gross_assets

    def test_hhi_with_self_custody(self):
        c = report(WORKED, BIG_FOUR).concentration
        # 30² + 25² + 20² + 15² + 10² = 900 + 625 + 400 + 225 + 100, exactly.
        assert c.hhi == D("2250")
        assert str(c.hhi) == "2250.00"
        assert c.effective_n == D("4.44")  # 10,000 / 2,250 = 4.444..., half-even to 0.01

    def test_hhi_third_party_rebased(self):
        c = report(WORKED, BIG_FOUR).concentration
        # Shares over the third-party total 7.5m: 3/7.5, 2/7.5, 1.5/7.5, 1/7.5.
        # 10,000 x (9 + 4 + 2.25 + 1) / 56.25 = 2,888.888..., reported to 0.01 half-even.
        assert c.hhi_third_party == D("2888.89")
        assert c.hhi_third_party.quantize(D(1)) == D("2889")
        assert c.effective_n_third_party == D("3.46")  # 56.25 / 16.25

    def test_top_and_large(self):
        c = report(WORKED, BIG_FOUR).concentration
        assert c.top_groups == ("binance", "coinbase", "okx")
        assert c.top1_share == D("0.3")
        assert c.top3_share == D("0.65")
        # Kraken at exactly 10% is "at or above" the line.
        assert c.large_groups == ("binance", "coinbase", "okx", "kraken")
        assert c.large_exposure_total == D("7500000")

    def test_binance_breaches_and_moving_one_million_brings_it_to_twenty(self):
        rep = report(WORKED, BIG_FOUR)
        binance = rep.exposure("binance")
        assert binance.share == D("0.30")
        [group_finding] = [f for f in rep.findings_for("group") if f.subject == "binance"]
        assert (group_finding.level, group_finding.breach) == ("breach", D("0.25"))
        [move] = rep.moves
        assert (move.group, move.amount, move.sufficient) == ("binance", D("1000000"), True)
        assert move.share_after == D("0.20")

        moved = [
            held("binance", "2000000"),
            held(None, "1000000", location="cold"),
            *WORKED[1:],
        ]
        after = report(moved, BIG_FOUR)
        assert after.nav == rep.nav  # moving to self-custody does not change NAV
        assert after.exposure("binance").share == D("0.20")
        assert after.findings_for("group")[0].level == "ok"  # at warn is not above it
        assert after.moves == ()


class TestWrongWay:
    """BNB on Binance is one position named by both layers."""

    COUNTERPARTIES = [cp("binance"), cp("tether", kind="issuer")]
    POSITIONS = [
        held("binance", "1000000", "BNB", "exchange_token", "binance"),
        held("binance", "2000000"),
        held("binance", "500000", "USDT", "fiat_stablecoin", "tether"),
        held(None, "300000", "BNB", "exchange_token", "binance"),
        held(None, "6200000"),
    ]

    def test_counted_once_with_overlap(self):
        rep = report(self.POSITIONS, self.COUNTERPARTIES)
        binance = rep.exposure("binance")
        assert binance.custody == D("3500000")
        assert binance.issuer == D("1300000")
        assert binance.overlap == D("1000000")
        assert binance.total == D("3800000")  # 3.5m + 1.3m - 1.0m
        assert binance.share == D("0.38")
        assert rep.exposure("tether").total == D("500000")

    def test_wrong_way_list(self):
        rep = report(self.POSITIONS, self.COUNTERPARTIES)
        [holding] = rep.wrong_way
        assert (holding.custody_group, holding.asset, holding.value) == (
            "binance",
            "BNB",
            D("1000000"),
        )

    def test_move_cannot_move_own_token_away(self):
        rep = report(self.POSITIONS, self.COUNTERPARTIES)
        [move] = rep.moves
        assert move.amount == D("1800000")  # 3.8m - 0.20 x 10m
        assert move.movable == D("2500000")  # BNB stays a Binance exposure wherever it sits
        assert move.sufficient


class TestSelfCustodyOnly:
    def test_one_bucket_no_counterparty(self):
        rep = report([held(None, "700"), held(None, "300", "ETH")], [])
        assert rep.nav == D("1000")
        assert [(b.bucket, b.value, b.share) for b in rep.allocation] == [
            (SELF_CUSTODY, D("1000"), D(1))
        ]
        assert rep.exposures == ()
        assert rep.concentration.hhi == D("10000")
        assert rep.concentration.effective_n == D(1)
        assert rep.concentration.hhi_third_party == 0
        assert rep.concentration.effective_n_third_party is None
        assert rep.concentration.top1_share == 0
        assert rep.findings_for("group") == ()
        assert rep.moves == ()
        assert {s.loss for s in rep.scenarios} == {D(0)}

    def test_empty_portfolio(self):
        rep = report([], [])
        assert rep.nav == rep.gross_assets == 0
        assert rep.allocation == ()
        assert rep.concentration.hhi == 0


class TestDebts:
    COUNTERPARTIES = [cp("binance"), cp("tether", kind="issuer")]
    POSITIONS = [
        held("binance", "5000000"),
        held("binance", "-2000000", "USDT", "fiat_stablecoin", "tether", "margin"),
        held(None, "5000000"),
    ]

    def test_debts_reduce_nav_not_buckets(self):
        rep = report(self.POSITIONS, self.COUNTERPARTIES)
        assert rep.gross_assets == D("10000000")
        assert rep.debts == D("-2000000")
        assert rep.nav == D("8000000")
        binance = next(b for b in rep.allocation if b.bucket == "binance")
        assert (binance.value, binance.debts) == (D("5000000"), D("-2000000"))
        assert sum(b.value for b in rep.allocation) == rep.gross_assets
        assert rep.concentration.hhi == D("5000")  # two halves of gross assets

    def test_debt_never_offsets_an_exposure(self):
        rep = report(self.POSITIONS, self.COUNTERPARTIES)
        binance = rep.exposure("binance")
        assert binance.total == D("5000000")
        assert binance.debts == D("-2000000")
        assert binance.share == D("0.625")  # 5m over NAV 8m
        assert rep.exposure("tether") is None  # owing USDT is no claim on Tether

    def test_negative_nav(self):
        positions = [held("binance", "1000"), held("binance", "-3000", "USDT", product="margin")]
        rep = report(positions, [cp("binance")])
        assert rep.nav == D("-2000")
        assert rep.exposure("binance").share is None
        assert rep.findings_for("group")[0].level == "breach"  # any exposure, no capital
        assert rep.moves == ()


class TestUnpricedAndUnclassified:
    def test_unpriced_excluded_from_nav_but_listed(self):
        positions = [held("binance", "1000"), held("binance", "5", "XYZ", price=None)]
        rep = report(positions, [cp("binance")])
        assert rep.nav == D("1000")
        [holding] = rep.unpriced
        assert (holding.asset, holding.amount, holding.value) == ("XYZ", D(5), None)
        assert rep.exposure("binance").total == D("1000")

    def test_unclassified_counted_and_listed(self):
        positions = [held("binance", "1000"), held("binance", "50", "NEW", "unclassified")]
        rep = report(positions, [cp("binance")])
        assert rep.nav == D("1050")
        [holding] = rep.unclassified
        assert (holding.asset, holding.value) == ("NEW", D("50"))


class TestGroupsAndCategories:
    COUNTERPARTIES = [
        cp("binance"),
        cp("binance-us", "binance"),
        cp("copper", kind="custodian"),
        cp("tether", kind="issuer"),
        cp("circle", kind="issuer"),
        cp("terra", kind="issuer", tier="D"),
    ]

    def positions(self):
        return [
            held("binance", "1000"),
            held("binance-us", "500", "ETH", product="earn"),
            held("binance", "200", "ETH", product="staking"),
            # Off-exchange settlement: an exchange account whose assets Copper holds.
            held("copper", "2000", location="clearloop", location_kind="exchange"),
            held("copper", "300", "USDT", "fiat_stablecoin", "tether"),
            held(None, "400", "USDC", "fiat_stablecoin", "circle"),
            held(None, "100", "UST", "algo_stablecoin", "terra"),
            held(None, "50", "BNB", "exchange_token", "binance"),
        ]

    def test_entities_roll_up_to_group(self):
        rep = report(self.positions(), self.COUNTERPARTIES)
        binance = rep.exposure("binance")
        assert binance.custody == D("1700")
        assert binance.issuer == D("50")
        assert binance.total == D("1750")
        assert binance.entities == ("binance", "binance-us")

    def test_exchange_custody_follows_the_legal_holder(self):
        rep = report(self.positions(), self.COUNTERPARTIES)
        assert rep.exchange_custody.value == D("1700")  # Copper's 2,300 is not exchange custody

    def test_categories(self):
        rep = report(self.positions(), self.COUNTERPARTIES)
        assert [(e.subject, e.value) for e in rep.earn] == [("binance", D("700"))]
        assert [(e.subject, e.value) for e in rep.stablecoin_issuers] == [
            ("circle", D("400")),
            ("tether", D("300")),
        ]
        assert rep.algo_stablecoins.value == D("100")
        assert [(e.subject, e.value) for e in rep.exchange_tokens] == [("BNB", D("50"))]
        assert rep.exposure("tether").custody == 0


class TestInputChecks:
    def test_float_money_is_refused(self):
        with pytest.raises(TypeError):
            Position(1, "exchange", "binance", "BTC", "native", None, "spot", 1.5, D(1), NOW)

    def test_custodian_required_except_self_custody(self):
        with pytest.raises(ValueError):
            held(None, "1", location_kind="exchange")
        with pytest.raises(ValueError):
            held("binance", "1", location_kind="self_custody")

    def test_naive_time_refused(self):
        with pytest.raises(ValueError):
            held("binance", "1", as_of=NOW.replace(tzinfo=None))

    def test_unknown_counterparty_is_an_error(self):
        with pytest.raises(EngineInputError, match="ftx"):
            report([held("ftx", "1")], [cp("binance")])

    def test_group_must_be_top_level(self):
        rows = [cp("a"), cp("b", "a"), cp("c", "b")]
        with pytest.raises(EngineInputError):
            report([], rows)

    def test_exact_money(self):
        # 18-decimal amount x 18-decimal price, no rounding anywhere.
        amount, price = D("1.123456789012345678"), D("65000.123456789012345678")
        rep = build_report([held("binance", amount, price=price)], [cp("binance")], as_of=NOW)
        # 36 decimals: the default 28-digit context would have rounded this.
        assert rep.nav == D("73024.829984170234654514527968299765279684")


def test_a_position_cannot_escape_validation_through_namedtuple_helpers():
    good = Position(1, "exchange", "binance", "BTC", "native", None, "spot", D(1), D(1), NOW)
    with pytest.raises(TypeError):
        good._replace(amount=1.5)
    with pytest.raises(ValueError, match="custodian"):
        Position._make(
            [1, "self_custody", "binance", "BTC", "native", None, "spot", D(1), D(1), NOW]
        )

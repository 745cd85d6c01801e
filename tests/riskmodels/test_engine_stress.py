"""Stress scenarios: presets, group defaults without double counting, custom shocks."""

from __future__ import annotations

import pytest

from riskmodels.engine import Scenario, Shock, group_default
from tests.riskmodels.test_engine_builders import BIG_FOUR, WORKED, D, cp, held, report, scenario

COUNTERPARTIES = [
    cp("binance"),
    cp("okx"),
    cp("tether", kind="issuer"),
    cp("circle", kind="issuer"),
    cp("terra", kind="issuer", tier="D"),
]


def wrong_way_positions():
    """NAV 10m; Binance custody 3.5m (1m of it BNB), BNB 0.3m in a wallet."""
    return [
        held("binance", "1000000", "BNB", "exchange_token", "binance"),
        held("binance", "2000000"),
        held("binance", "500000", "USDT", "fiat_stablecoin", "tether"),
        held(None, "300000", "BNB", "exchange_token", "binance"),
        held(None, "6200000"),
    ]


class TestGroupDefault:
    def test_fraud_loses_bnb_on_binance_once(self):
        rep = report(wrong_way_positions(), COUNTERPARTIES)
        fraud = scenario(rep, "binance default (fraud)")
        # Everything Binance holds (3.5m) plus the BNB in the wallet (0.3m): its look-through
        # total, not 3.5m + 1.3m = 4.8m.
        assert fraud.loss == D("3800000")
        assert fraud.loss == rep.exposure("binance").total
        assert fraud.loss_share == D("0.38")
        assert fraud.exposed == D("3800000")

    def test_base_and_severe(self):
        rep = report(wrong_way_positions(), COUNTERPARTIES)
        # custody only 2.5m x 0.6 + issuer only 0.3m x 0.9 + both 1m x (1 - 0.4 x 0.1)
        assert scenario(rep, "binance default (base)").loss == D("2730000")
        # 2.5m x 0.9 + 0.3m x 0.9 + 1m x (1 - 0.1 x 0.1)
        assert scenario(rep, "binance default (severe)").loss == D("3510000")

    def test_worked_check_presets(self):
        rep = report(WORKED, BIG_FOUR)
        assert scenario(rep, "binance default (base)").loss == D("1800000")
        assert scenario(rep, "kraken default (severe)").loss == D("900000")
        assert scenario(rep, "okx default (fraud)").loss_share == D("0.15")

    def test_presets_for_every_group_present(self):
        rep = report(wrong_way_positions(), COUNTERPARTIES)
        names = [s.name for s in rep.scenarios]
        assert names == [
            "binance default (base)",
            "binance default (severe)",
            "binance default (fraud)",
            "tether default (base)",
            "tether default (severe)",
            "tether default (fraud)",
            "exchange tokens -90%",
            "tether stablecoins depeg to 0.87",
            "algorithmic stablecoins to 0.10",
        ]  # okx, circle and terra hold nothing of this portfolio


class TestAssetPresets:
    def positions(self):
        return [
            held("okx", "1000", "OKB", "exchange_token", "okx"),
            held(None, "500", "BNB", "exchange_token", "binance"),
            held("okx", "2000", "USDT", "fiat_stablecoin", "tether"),
            held(None, "3000", "USDC", "fiat_stablecoin", "circle"),
            held(None, "100", "PYUSD", "fiat_stablecoin"),  # issuer not recorded
            held(None, "400", "UST", "algo_stablecoin", "terra"),
            held(None, "3000"),
        ]

    def test_exchange_tokens(self):
        rep = report(self.positions(), COUNTERPARTIES)
        assert scenario(rep, "exchange tokens -90%").loss == D("1350")

    def test_depeg_per_issuer(self):
        rep = report(self.positions(), COUNTERPARTIES)
        assert scenario(rep, "tether stablecoins depeg to 0.87").loss == D("260")
        assert scenario(rep, "circle stablecoins depeg to 0.87").loss == D("390")
        assert scenario(rep, "PYUSD depegs to 0.87").loss == D("13")

    def test_algorithmic(self):
        rep = report(self.positions(), COUNTERPARTIES)
        result = scenario(rep, "algorithmic stablecoins to 0.10")
        assert (result.loss, result.loss_share) == (D("360"), D("0.036"))


class TestCustom:
    def test_shocks_by_asset_kind_and_group(self):
        custom = [
            Scenario("BTC -50%", (Shock(D("0.5"), asset="BTC"),)),
            Scenario("natives -50%", (Shock(D("0.5"), asset_kind="native"),)),
            Scenario("okx custody only", (Shock(D("0.4"), custody_group="okx"),)),
            Scenario(
                "okx fails and BTC halves",
                (Shock(D("1"), custody_group="okx"), Shock(D("0.5"), asset="BTC")),
            ),
            Scenario(
                "USDT at OKX only",
                (Shock(D("0.5"), custody_group="okx", issuer_group="tether"),),
            ),
        ]
        positions = [
            held("okx", "1000"),
            held("okx", "2000", "USDT", "fiat_stablecoin", "tether"),
            held(None, "3000"),
            held(None, "500", "USDT", "fiat_stablecoin", "tether"),
        ]
        rep = report(positions, COUNTERPARTIES, scenarios=custom, presets=False)
        losses = {s.name: (s.loss, s.exposed) for s in rep.scenarios}
        assert losses == {
            "BTC -50%": (D("2000"), D("4000")),
            "natives -50%": (D("2000"), D("4000")),
            "okx custody only": (D("1200"), D("3000")),
            # BTC at OKX: 1 - 0 x 0.5 = lost once; USDT at OKX lost; wallet BTC halves.
            "okx fails and BTC halves": (D("4500"), D("6000")),
            "USDT at OKX only": (D("1000"), D("2000")),
        }

    def test_debt_is_not_a_gain(self):
        positions = [
            held("binance", "5000"),
            held("binance", "-2000", "USDT", "fiat_stablecoin", "tether", "margin"),
            held(None, "5000"),
        ]
        usdt_crash = Scenario("USDT -90%", (Shock(D("0.9"), asset="USDT"),))
        rep = report(positions, COUNTERPARTIES, scenarios=[usdt_crash])
        assert scenario(rep, "binance default (fraud)").loss == D("5000")
        assert scenario(rep, "binance default (fraud)").loss_share == D("0.625")  # over NAV 8,000
        # Owing USDT is not a claim on Tether: no Tether preset, and a USDT crash loses nothing.
        assert not any(s.name.startswith("tether") for s in rep.scenarios)
        assert scenario(rep, "USDT -90%").loss == 0

    def test_group_default_helper(self):
        made = group_default("binance", D("0.5"), D("0.2"), "half")
        rep = report(wrong_way_positions(), COUNTERPARTIES, scenarios=[made], presets=False)
        # 2.5m x 0.5 + 0.3m x 0.2 + 1m x (1 - 0.5 x 0.8)
        assert rep.scenarios[0].loss == D("1910000")

    @pytest.mark.parametrize("fraction", [D("-0.1"), D("1.01")])
    def test_shock_fraction_bounds(self, fraction):
        with pytest.raises(ValueError):
            Shock(fraction, asset="BTC")

    def test_shock_needs_a_selector(self):
        with pytest.raises(ValueError):
            Shock(D("0.5"))

    def test_float_fraction_refused(self):
        with pytest.raises(ValueError):
            Shock(0.5, asset="BTC")

"""The stress page's engine: each scenario's hits, exact, adding up to the scenario's loss."""

from __future__ import annotations

from riskmodels.engine import Scenario, Shock
from riskmodels.engine.stress_detail import PositionHit, stress_details
from tests.riskmodels.test_engine_builders import D, report
from tests.riskmodels.test_engine_stress import COUNTERPARTIES, wrong_way_positions

# LGD 35% on everything Binance holds, USDT -13% wherever it is.
CUSTOM = Scenario(
    "binance run and USDT wobble",
    (Shock(D("0.35"), custody_group="binance"), Shock(D("0.13"), asset="USDT")),
)


def custom_detail(**options):
    details = stress_details(wrong_way_positions(), COUNTERPARTIES, scenarios=[CUSTOM], **options)
    custom = [d for d in details if d.scenario.name == CUSTOM.name]
    assert len(custom) == 1 and not custom[0].preset
    return custom[0]


def test_custom_scenario_loss_is_exact():
    detail = custom_detail()
    # BNB 1m x 0.35 + BTC 2m x 0.35 + USDT 0.5m x (1 - 0.65 x 0.87)
    assert detail.result.loss == D("1267250")
    assert detail.result.loss_share == D("0.126725")
    assert detail.result.exposed == D("3500000")


def test_custom_scenario_hits_each_position_with_its_compounded_fraction():
    assert custom_detail().hits == (
        PositionHit("binance", None, "BTC", "native", D("0.35"), D("2000000"), D("700000")),
        PositionHit(
            "binance", "binance", "BNB", "exchange_token", D("0.35"), D("1000000"), D("350000")
        ),
        PositionHit(
            "binance", "tether", "USDT", "fiat_stablecoin", D("0.4345"), D("500000"), D("217250")
        ),
    )


def test_hits_add_up_to_every_scenario_loss_of_the_report():
    details = stress_details(wrong_way_positions(), COUNTERPARTIES, scenarios=[CUSTOM])
    rep = report(wrong_way_positions(), COUNTERPARTIES, scenarios=[CUSTOM])
    assert [d.result for d in details] == list(rep.scenarios)
    for detail in details:
        assert sum((hit.loss for hit in detail.hits), D(0)) == detail.result.loss
    assert [d.preset for d in details].count(False) == 1


def test_a_stake_scales_money_not_fractions():
    detail = custom_detail(stake=D("0.25"))
    assert detail.result.loss == D("316812.5")
    assert detail.result.loss_share == D("0.126725")
    usdt = detail.hits[-1]
    assert (usdt.loss_fraction, usdt.value, usdt.loss) == (D("0.4345"), D("125000"), D("54312.5"))

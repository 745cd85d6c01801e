from __future__ import annotations

from decimal import Decimal

from portfolio.pricing import UsdPrice, usd_prices

D = Decimal
BINANCE = ("binance", {"BNB/USDT": D("700.5"), "USDC/USDT": D("0.9998"), "BTC/USDT": D("100000")})
KRAKEN = ("kraken", {"USDT/USD": D("1.0002"), "BTC/USD": D("99990")})


def test_direct_usd_quote_wins_over_a_stablecoin_route():
    prices = usd_prices(["BTC"], [BINANCE, KRAKEN])
    assert prices["BTC"] == UsdPrice(D("99990"), "kraken", "BTC/USD")


def test_usdt_quote_is_converted_at_usdt_market_price():
    prices = usd_prices(["BNB"], [BINANCE, KRAKEN])
    assert prices["BNB"].price == D("700.5") * D("1.0002")
    assert prices["BNB"].source == "binance"


def test_stablecoins_are_priced_at_market_not_one():
    prices = usd_prices(["USDT", "USDC"], [BINANCE, KRAKEN])
    assert prices["USDT"].price == D("1.0002")
    assert prices["USDC"].price == D("0.9998") * D("1.0002")


def test_missing_price_stays_missing_never_zero():
    prices = usd_prices(["FTT", "BNB"], [BINANCE])  # no USDT/USD anywhere
    assert "FTT" not in prices and "BNB" not in prices


def test_usd_is_the_unit():
    assert usd_prices(["USD"], [])["USD"].price == D(1)

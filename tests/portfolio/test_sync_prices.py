"""Quotes a sync refuses leave the asset unpriced with a reason, never at zero."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portfolio.models import Price, SyncOutcome
from portfolio.sync import price_problem
from tests.portfolio.test_sync import make_account, run


@pytest.fixture
def binance(db, emulator):
    account = make_account("binance")
    assert run(account).outcome == SyncOutcome.SUCCESS
    return account


def latest_price(code: str) -> Price:
    return Price.objects.filter(asset__code=code).latest()


def test_a_quote_that_jumps_more_than_the_factor_is_refused_with_its_reason(binance, emulator):
    emulator.set_price("binance", "BNB/USDT", "7001")  # 700 before: more than 10x
    assert run(binance).outcome == SyncOutcome.SUCCESS
    refused = latest_price("BNB")
    assert refused.price_usd is None
    assert refused.refused_reason == (
        "7001.7001 USD is more than 10x away from the last price, 700.070000000000000000 USD; "
        "enter a price by hand if the move is real"
    )


def test_a_quote_within_the_factor_is_taken(binance, emulator):
    emulator.set_price("binance", "BNB/USDT", "6999")
    run(binance)
    assert latest_price("BNB").price_usd == Decimal("6999") * Decimal("1.0001")


def test_the_jump_factor_is_a_setting(binance, emulator, settings):
    settings.PRICE_JUMP_FACTOR = Decimal(2)
    emulator.set_price("binance", "BNB/USDT", "1500")
    run(binance)
    assert latest_price("BNB").price_usd is None


def test_a_quote_too_small_to_store_is_refused_never_zero(binance, emulator):
    emulator.set_price("binance", "BNB/USDT", "0.0000000000000000001")
    run(binance)
    refused = latest_price("BNB")
    assert refused.price_usd is None
    assert "BNB" in refused.refused_reason or "exactly" in refused.refused_reason


def test_an_accepted_quote_after_a_refusal_prices_the_asset_again(binance, emulator):
    emulator.set_price("binance", "BNB/USDT", "9000")
    run(binance)
    emulator.set_price("binance", "BNB/USDT", "710")
    run(binance)
    assert latest_price("BNB").price_usd == Decimal("710") * Decimal("1.0001")


@pytest.mark.parametrize(
    ("price", "last", "problem"),
    [
        (Decimal("1e-19"), None, "1E-19 USD cannot be stored exactly (18 decimals)"),
        (Decimal("1e20"), None, "1E+20 USD is beyond what a price column holds"),
        (Decimal("0"), None, "the quote gives 0 USD, not a positive price"),
        (Decimal("NaN"), None, "the quote gives NaN USD, not a positive price"),
        (Decimal("0.5"), Decimal("5.0001"), "0.5 USD is more than 10x away"),
        (Decimal("0.5"), Decimal("5"), ""),
        # Digits past the 18th decimal of a derived price are not an error.
        (Decimal("0.1234567890123456789"), None, ""),
    ],
)
def test_price_problem(price, last, problem):
    assert price_problem(price, last).startswith(problem)
    assert bool(price_problem(price, last)) == bool(problem)

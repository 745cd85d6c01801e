"""Dates in exchange payloads (lock end dates as epoch milliseconds) are read exactly or refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portfolio.exchanges.errors import MalformedAnswer
from portfolio.exchanges.payload import epoch_ms


@pytest.mark.parametrize("raw", ["1803888000250", 1803888000250])
def test_epoch_milliseconds_are_read_exactly(raw):
    found = epoch_ms({"redeemDate": raw}, "redeemDate", "ETH")
    assert found == datetime(2027, 3, 1, 8, 0, 0, 250000, tzinfo=UTC)


@pytest.mark.parametrize("raw", [None, ""])
def test_an_absent_date_is_none(raw):
    assert epoch_ms({"redeemDate": raw}, "redeemDate", "ETH") is None
    assert epoch_ms({}, "redeemDate", "ETH") is None


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("1.8e12", "not epoch milliseconds"),
        (-5, "not epoch milliseconds"),
        (True, "not epoch milliseconds"),
        ("١٨٠٣٩٧٤٤٠٠٢٥٠", "not epoch milliseconds"),
        ("1803888000", "not a plausible date"),  # seconds, not milliseconds
        ("99999999999999999999", "not a plausible date"),
    ],
)
def test_a_date_that_is_no_date_is_a_malformed_answer(raw, words):
    with pytest.raises(MalformedAnswer, match=words):
        epoch_ms({"redeemDate": raw}, "redeemDate", "ETH")

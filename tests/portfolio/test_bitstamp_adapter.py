"""Bitstamp's parsers on their subtle rules (JSON numbers read exactly, Earn types), its error
reader, and the emulator's check of the signature ccxt makes."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest

from portfolio.exchanges import bitstamp, build_client
from portfolio.exchanges.errors import Malformed, MalformedAnswer
from portfolio.exchanges.rows import Page, Parser, distinct_rows, merge
from sandbox.emulator import bitstamp as emulated
from sandbox.emulator.common import Request, now_ms
from sandbox.emulator.scenario import Scenario

D = Decimal


def booked(parse: Parser, raw: str) -> dict[tuple[str, str], Decimal]:
    page = Page(json.loads(raw), raw)  # what ccxt parsed (floats), and the body as sent
    found = distinct_rows(build_client("bitstamp"), parse, [page])
    return {(b.code, b.product): b.amount for b in merge(found)}


def test_earn_amounts_sent_as_json_numbers_keep_every_digit():
    raw = '[{"currency": "USDC", "amount": 2000.000000000000000001, "type": "LENDING"}]'
    assert json.loads(raw)[0]["amount"] == 2000.0  # what a float would have kept
    assert booked(bitstamp.earn_subscriptions, raw) == {
        ("USDC", "earn"): D("2000.000000000000000001")
    }


def test_balances_as_strings_or_numbers_read_the_same():
    strings = '[{"currency": "btc", "total": "1.50000000", "available": "1.5", "reserved": "0"}]'
    numbers = '[{"currency": "btc", "total": 1.5, "available": 1.5, "reserved": 0}]'
    want = {("BTC", "spot"): D("1.5")}
    assert booked(bitstamp.account_balances, strings) == booked(bitstamp.account_balances, numbers)
    assert booked(bitstamp.account_balances, strings) == want


def test_staking_and_lending_of_one_currency_are_two_products():
    rows = [
        {"currency": "ETH", "amount": "3", "type": "STAKING", "term": "FLEXIBLE"},
        {"currency": "ETH", "amount": "1.25", "type": "LENDING", "term": "FIXED"},
    ]
    assert booked(bitstamp.earn_subscriptions, json.dumps(rows)) == {
        ("ETH", "staking"): D("3"),
        ("ETH", "earn"): D("1.25"),
    }


def test_unknown_earn_type_is_malformed():
    raw = '[{"currency": "ETH", "amount": "3", "type": "MINING"}]'
    with pytest.raises(Malformed, match="MINING"):
        booked(bitstamp.earn_subscriptions, raw)


def test_nan_literal_is_refused():
    with pytest.raises(MalformedAnswer):
        booked(bitstamp.account_balances, '[{"currency": "btc", "total": NaN}]')


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ({"status": "error", "reason": "Invalid nonce", "code": "API0004"}, "clock"),
        ({"status": "error", "code": "API0017"}, "clock"),
        ({"status": "error", "response_code": "400.002"}, "rate_limit"),
        ({"status": "error", "response_code": "500.002"}, "maintenance"),
        ({"status": "error", "reason": "Invalid signature", "code": "API0005"}, None),
        ([], None),
    ],
)
def test_error_bodies_name_their_kind(body, kind):
    assert bitstamp.body_error_kind(body) == kind


def scenario() -> Scenario:
    raw = {"accounts": [{"exchange": "bitstamp", "api_key": "key-1", "secret": "secret-1"}]}
    return Scenario(raw)


def request_as_sent(signed: dict[str, Any]) -> Request:
    url = urlsplit(signed["url"])
    body = (signed["body"] or "").encode()
    headers = dict(signed["headers"]) | {"Host": url.netloc}
    return Request(signed["method"], url.netloc, url.path, url.query, headers, body)


@pytest.mark.parametrize(
    ("path", "method"), [("account_balances/", "POST"), ("earn/subscriptions/", "GET")]
)
def test_emulator_accepts_the_signature_ccxt_makes_for_the_real_host(path, method):
    client = build_client("bitstamp", {"apiKey": "key-1", "secret": "secret-1"})
    signed = client.sign(path, ["private"], method, {})
    assert signed["url"].startswith("https://www.bitstamp.net/api/v2/")
    assert emulated.authenticate(request_as_sent(signed), scenario()).api_key == "key-1"
    client.secret = "secret-2"
    refused = emulated.authenticate(
        request_as_sent(client.sign(path, ["private"], method, {})), scenario()
    )
    assert json.loads(refused.body)["code"] == "API0005"


def test_emulator_refuses_a_stale_timestamp_as_bitstamp_does():
    client = build_client("bitstamp", {"apiKey": "key-1", "secret": "secret-1"})
    client.milliseconds = lambda: now_ms() - 200_000
    refused = emulated.authenticate(
        request_as_sent(client.sign("account_balances/", ["private"], "POST", {})), scenario()
    )
    assert json.loads(refused.body)["code"] == "API0017"
    assert bitstamp.body_error_kind(json.loads(refused.body)) == "clock"

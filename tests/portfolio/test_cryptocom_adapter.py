"""Crypto.com's parsers on their subtle rules, and the emulator's agreement with the real API:
the recorded payload's fields and ccxt's own signature."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from portfolio.exchanges import build_client, cryptocom
from portfolio.exchanges.errors import Malformed, MalformedAnswer
from portfolio.exchanges.rows import Page, Parser, distinct_rows, merge
from sandbox.emulator import cryptocom as emulated
from sandbox.emulator.common import Reply, Request, now_ms
from sandbox.emulator.scenario import Scenario
from tests.portfolio.test_recorded_payloads import recorded

D = Decimal


def booked(parse: Parser, body: Any) -> dict[tuple[str, str], Decimal]:
    found = distinct_rows(build_client("cryptocom"), parse, [Page(body, json.dumps(body))])
    return {(b.code, b.product): b.amount for b in merge(found)}


def account(*positions: dict[str, str], pnl: str = "0") -> dict[str, Any]:
    entry = {"instrument_name": "USD", "total_session_unrealized_pnl": pnl}
    return entry | {"position_balances": list(positions)}


def balance(*accounts: dict[str, Any]) -> dict[str, Any]:
    return {"code": 0, "result": {"data": list(accounts)}}


@pytest.mark.parametrize("pnl", ["-1.645", "250.5"])
def test_session_pnl_of_either_sign_is_a_usd_futures_row_apart(pnl):
    body = balance(account({"instrument_name": "USD", "quantity": "1000"}, pnl=pnl))
    assert booked(cryptocom.user_balance, body) == {
        ("USD", "spot"): D("1000"),
        ("USD", "futures"): D(pnl),
    }


def test_negative_quantity_is_a_margin_borrowing():
    rows = (
        {"instrument_name": "ETH", "quantity": "-1.501"},
        {"instrument_name": "BTC", "quantity": "2"},
    )
    assert booked(cryptocom.user_balance, balance(account(*rows))) == {
        ("ETH", "margin"): D("-1.501"),
        ("BTC", "spot"): D("2"),
    }


def test_account_without_pnl_books_none():
    body = balance({"instrument_name": "USD", "position_balances": []})
    assert booked(cryptocom.user_balance, body) == {}


def test_account_repeated_with_another_pnl_is_malformed():
    body = balance(account(pnl="1"), account(pnl="2"))
    with pytest.raises(MalformedAnswer, match="appears twice"):
        booked(cryptocom.user_balance, body)


def test_position_without_quantity_is_malformed():
    with pytest.raises(Malformed, match="quantity"):
        booked(cryptocom.user_balance, balance(account({"instrument_name": "BTC"})))


def test_staked_code_is_the_instruments_own_base_not_the_underlying():
    # A yield-bearing instrument counts its own token (TSTON), not the underlying TON.
    data = [
        {"instrument_name": "SOL.staked", "underlying_inst_name": "SOL", "staked_quantity": "30"},
        {"instrument_name": "TSTON.staked", "underlying_inst_name": "TON", "staked_quantity": "5"},
    ]
    body = {"code": 0, "result": {"data": data}}
    assert booked(cryptocom.staking_position, body) == {
        ("SOL", "staking"): D("30"),
        ("TSTON", "staking"): D("5"),
    }


def emulated_balance() -> dict[str, Any]:
    scenario = Scenario({"accounts": [{"exchange": "cryptocom", "api_key": "k", "secret": "s",
                                       "balances": {"unified": {"BTC": "1"}}}]})  # fmt: skip
    request = Request("POST", "api.crypto.com", "/exchange/v1/private/user-balance", "", {})
    account = scenario.account("cryptocom", "k")
    assert account is not None
    reply = emulated.user_balance(request, scenario, account)
    return json.loads(reply.body)


def test_emulated_balance_carries_every_field_of_the_recorded_real_one():
    real = recorded("cryptocom", "fetchBalance")["httpResponse"]
    ours = emulated_balance()
    assert set(real) <= set(ours)
    real_account, our_account = real["result"]["data"][0], ours["result"]["data"][0]
    assert set(real_account) <= set(our_account)
    real_row, our_row = real_account["position_balances"][0], our_account["position_balances"][0]
    assert set(real_row) <= set(our_row)
    assert all(isinstance(v, str) for k, v in our_row.items() if k in ("quantity", "reserved_qty"))


@pytest.mark.parametrize("params", [{}, {"instrument_name": "SOL.staked"}])
def test_emulator_checks_the_signature_ccxt_makes(params):
    client = build_client("cryptocom", {"apiKey": "key-1", "secret": "secret-1"})
    signed = client.sign("private/staking/get-staking-position", ["v1", "private"], "POST", params)
    sent = json.loads(signed["body"])
    assert emulated.signature("secret-1", sent) == sent["sig"]
    assert emulated.signature("secret-2", sent) != sent["sig"]


def test_emulator_refuses_a_nonce_a_minute_off_as_crypto_com_does():
    client = build_client("cryptocom", {"apiKey": "key-1", "secret": "secret-1"})
    client.nonce = lambda: now_ms() - 61_000
    signed = client.sign("private/user-balance", ["v1", "private"], "POST", {})
    scenario = Scenario({"accounts": [{"exchange": "cryptocom", "api_key": "key-1",
                                       "secret": "secret-1"}]})  # fmt: skip
    request = Request(
        "POST",
        "api.crypto.com",
        "/exchange/v1/private/user-balance",
        "",
        {},
        signed["body"].encode(),
    )
    refused = emulated.authenticate(request, scenario)
    assert isinstance(refused, Reply) and refused.status == 400
    body = json.loads(refused.body)
    assert body["code"] == 40102 and cryptocom.ADAPTER.body_error_kind(body) == "clock"

"""The Gemini adapter's rules that the scenario alone does not pin down: perpetuals' settlement
currency, staking amounts sent as JSON numbers, roles as permissions, error reasons."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from portfolio import exchanges
from portfolio.exchanges import ExchangeFault, fetch_account, gemini
from portfolio.exchanges.errors import Malformed, MalformedAnswer, PermissionsUnreadable
from portfolio.exchanges.rows import Page
from portfolio.exchanges.session import exact_numbers
from sandbox.emulator import run_emulator
from tests.portfolio.test_exchanges import SCENARIO, creds

D = Decimal


@pytest.fixture(scope="module")
def client() -> Any:
    return exchanges.build_client("gemini")


def parse(client: Any, parser: Any, body: str) -> dict[tuple[str, str], Decimal]:
    rows = parser(client, Page(exact_numbers(body), body))
    return {(r.balance.code, r.balance.product): r.balance.amount for r in rows}


def test_staking_amounts_sent_as_json_numbers_land_exact(client):
    (call,) = gemini.ADAPTER.wallets["earn"]
    body = '[{"type":"Staking","currency":"ETH","balance":0.1,"available":0},' \
        '{"type":"Staking","currency":"SOL","balance":1234567.123456789012345678}]'  # fmt: skip
    assert parse(client, call.parse, body) == {
        ("ETH", "staking"): D("0.1"),
        ("SOL", "staking"): D("1234567.123456789012345678"),
    }


@pytest.mark.parametrize(
    ("symbol", "code"),
    [("btcgusdperp", "GUSD"), ("ETHGUSDPERP", "GUSD"), ("solusdperp", "USD")],
)
def test_perpetual_pnl_is_futures_in_its_settlement_currency(client, symbol, code):
    body = f'[{{"symbol":"{symbol}","instrument_type":"perp","unrealised_pnl":"-12.5"}}]'
    assert parse(client, gemini.positions, body) == {(code, "futures"): D("-12.5")}


def test_a_position_without_its_pnl_or_a_known_quote_is_malformed(client):
    with pytest.raises(Malformed, match="unrealised_pnl"):
        parse(client, gemini.positions, '[{"symbol":"btcgusdperp","quantity":"1"}]')
    with pytest.raises(Malformed, match="not a pair Gemini quotes"):
        parse(client, gemini.positions, '[{"symbol":"xyzperp","unrealised_pnl":"1"}]')


def test_negative_balance_is_refused(client):
    (call,) = gemini.ADAPTER.wallets["spot"]
    with pytest.raises(MalformedAnswer, match="negative where the exchange reports no debt"):
        parse(client, call.parse, '[{"type":"exchange","currency":"BTC","amount":"-1"}]')


@pytest.mark.parametrize(
    ("roles", "flags"),
    [
        ((True, False, False), {"read": True, "trade": False, "withdraw": False}),  # Auditor
        ((False, False, True), {"read": True, "trade": True, "withdraw": False}),  # Trader
        ((False, True, False), {"read": True, "trade": False, "withdraw": True}),  # Fund Manager
        ((False, True, True), {"read": True, "trade": True, "withdraw": True}),
    ],
)
def test_roles_are_the_keys_permissions(roles, flags):
    auditor, fund_manager, trader = roles
    answer = {"isAuditor": auditor, "isFundManager": fund_manager, "isTrader": trader}
    assert gemini.permissions(answer | {"counterparty_id": "CP1"}) == flags


@pytest.mark.parametrize("answer", [[], {"isAuditor": False}, {"isAuditor": 0, "isTrader": 1}])
def test_unreadable_roles(answer):
    with pytest.raises((PermissionsUnreadable, Malformed)):
        gemini.permissions(answer)


@pytest.mark.parametrize(
    ("reason", "kind"),
    [("InvalidNonce", "clock"), ("Maintenance", "maintenance"), ("System", "maintenance"),
     ("RateLimit", "rate_limit"), ("InvalidSignature", None)],
)  # fmt: skip
def test_error_reasons(reason, kind):
    body = {"result": "error", "reason": reason, "message": "..."}
    assert gemini.body_error_kind(body) == kind
    assert gemini.body_error_kind([{"currency": "BTC"}]) is None


def test_a_master_key_is_refused_before_any_request():
    # ccxt signs with account-level keys only; the refusal reads as a key to replace.
    exchanges.clear_markets_cache()
    with run_emulator(SCENARIO) as emulator:
        with pytest.raises(ExchangeFault) as caught:
            fetch_account(
                "gemini",
                creds("gemini", apiKey="master-abcdefghijkl"),
                ["spot"],
                emulator_url=emulator.url,
            )
        assert emulator.count(exchange="gemini", kind="balance") == 0
    exchanges.clear_markets_cache()
    assert (caught.value.kind, caught.value.credentials_broken) == ("authentication", True)
    assert "account-key" in caught.value.message

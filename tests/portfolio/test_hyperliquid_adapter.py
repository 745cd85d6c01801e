"""Hyperliquid's parsers on their own, and its reading by address over ccxt to the emulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from portfolio import exchanges
from portfolio.exchanges import ExchangeFault, fetch_account
from portfolio.exchanges.errors import Malformed, MalformedAnswer
from portfolio.exchanges.hyperliquid import ADAPTER, perps, spot, staking, vaults
from portfolio.exchanges.rows import Lock, Page, distinct_rows, merge
from sandbox.emulator import run_emulator
from tests.portfolio.test_exchanges import SCENARIO, account

D = Decimal
ADDRESS = account("hyperliquid")["api_key"]


@pytest.fixture(scope="module")
def client() -> Any:
    return exchanges.build_client("hyperliquid", {"walletAddress": ADDRESS})


def parsed(client: Any, parse: Any, payload: Any) -> dict[tuple[str, str], Any]:
    found = merge(distinct_rows(client, parse, [Page(payload, json.dumps(payload))]))
    return {(b.code, b.product): (b.reported_code, b.amount, b.locks) for b in found}


def state(value: str, *pnls: tuple[str, str]) -> dict[str, Any]:
    positions = [{"type": "oneWay", "position": {"coin": c, "unrealizedPnl": p}} for c, p in pnls]
    summary = {"accountValue": value, "totalRawUsd": "0", "totalMarginUsed": "0"}
    return {"marginSummary": summary, "assetPositions": positions, "withdrawable": "0"}


def test_perps_value_is_collateral_plus_each_positions_pnl(client):
    rows = list(perps(client, Page(state("1000", ("BTC", "250.5"), ("ETH", "-50")), "")))
    amounts = {row.row_id: row.balance.amount for row in rows}
    assert amounts == {
        "position BTC": D("250.5"),
        "position ETH": D("-50"),
        "accountValue": D("799.5"),
    }
    assert {row.balance.product for row in rows} == {"futures"}
    assert sum(amounts.values()) == D("1000")  # the claim, exactly


def test_a_losing_position_beyond_the_collateral_is_kept_signed(client):
    found = parsed(client, perps, state("-10", ("ETH", "-110")))
    assert found[("USDC", "futures")][1] == D("-10")


def test_a_position_repeated_with_another_pnl_is_malformed(client):
    payload = state("100", ("BTC", "5"), ("BTC", "6"))
    with pytest.raises(MalformedAnswer, match="appears twice"):
        parsed(client, perps, payload)


def test_perps_without_an_account_value_is_malformed(client):
    with pytest.raises(Malformed):
        parsed(client, perps, {"assetPositions": []})


def test_unit_tokens_read_as_the_coin_they_wrap(client):
    payload = {"balances": [{"coin": "UBTC", "token": 1, "hold": "0.5", "total": "2"}]}
    assert parsed(client, spot, payload) == {("BTC", "spot"): ("UBTC", D("2"), ())}


def test_staking_sums_delegated_undelegated_and_the_unstaking_queue(client):
    summary = {
        "delegated": "100.5",
        "undelegated": "2",
        "totalPendingWithdrawal": "7.25",
        "nPendingWithdrawals": 1,
    }
    assert parsed(client, staking, summary) == {("HYPE", "staking"): ("HYPE", D("109.75"), ())}


def test_negative_stake_is_refused(client):
    summary = {"delegated": "-1", "undelegated": "0", "totalPendingWithdrawal": "0"}
    with pytest.raises(MalformedAnswer, match="delegated of HYPE"):
        parsed(client, staking, summary)


def test_vault_equity_is_earn_locked_until_the_reported_time(client):
    rows = [
        {"vaultAddress": "0xaa", "equity": "100", "lockedUntilTimestamp": 1798761600123},
        {"vaultAddress": "0xbb", "equity": "50.5", "lockedUntilTimestamp": 1798761600123},
    ]
    until = datetime(2027, 1, 1, 0, 0, 0, 123000, tzinfo=UTC)
    assert parsed(client, vaults, rows) == {
        ("USDC", "earn"): ("USDC", D("150.5"), (Lock(D("150.5"), until),))
    }


@pytest.mark.parametrize("raw", ["soon", -5, 1.5, True])
def test_a_lock_time_that_is_no_timestamp_is_malformed(client, raw):
    rows = [{"vaultAddress": "0xaa", "equity": "1", "lockedUntilTimestamp": raw}]
    with pytest.raises(MalformedAnswer, match="lockedUntilTimestamp"):
        parsed(client, vaults, rows)


def test_the_form_asks_for_the_address_alone():
    assert exchanges.required_credentials("hyperliquid") == ("walletAddress",)
    assert ADAPTER.permissions is None  # an address can only be read


# ----------------------------------------------------------------- over ccxt to the emulator


@pytest.fixture(scope="module")
def emulator():
    exchanges.clear_markets_cache()
    with run_emulator(SCENARIO) as emu:
        yield emu
    exchanges.clear_markets_cache()


def sync(emulator: Any, address: str) -> Any:
    credentials = {"walletAddress": address}
    return fetch_account("hyperliquid", credentials, exchanges.WALLETS, emulator_url=emulator.url)


def test_every_call_names_the_address_and_nothing_is_signed(emulator):
    emulator.reset_stats()
    result = sync(emulator, ADDRESS)
    assert result.balances and result.key_permissions is None
    balance_rows = [r for r in emulator.stats()["rows"] if r["kind"] == "balance"]
    assert {r["api_key"] for r in balance_rows} == {ADDRESS}
    assert {r["path"] for r in balance_rows} == {
        "/info/spotClearinghouseState",
        "/info/clearinghouseState",
        "/info/delegatorSummary",
        "/info/userVaultEquities",
    }


def test_an_address_with_nothing_answers_an_empty_state(emulator):
    assert sync(emulator, "0x" + "0" * 39 + "9").balances == ()


def test_a_sync_without_an_address_fails_without_a_request(emulator):
    emulator.reset_stats()
    with pytest.raises(ExchangeFault):
        fetch_account("hyperliquid", {}, ["spot"], emulator_url=emulator.url)
    assert emulator.count(exchange="hyperliquid", kind="balance") == 0

"""What the sub-account fetch tests share: the exchanges' test scenario served by a fresh
emulator, each exchange's credentials in it, and fetch_account with them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from portfolio import exchanges
from portfolio.exchanges import FetchedAccount, fetch_account
from sandbox.emulator import Emulator, run_emulator

SCENARIO = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "exchanges_test.json"
RAW = json.loads(SCENARIO.read_text())


def scenario_account(exchange: str) -> dict[str, Any]:
    return next(a for a in RAW["accounts"] if a["exchange"] == exchange)


def credentials(exchange: str) -> dict[str, str]:
    """The exchange's scenario key, secret and passphrase (when it has one), by ccxt's names."""
    account = scenario_account(exchange)
    found = {"apiKey": account["api_key"], "secret": account["secret"]}
    return found | ({"password": account["password"]} if account.get("password") else {})


@pytest.fixture
def scenario_emulator() -> Iterator[Emulator]:
    """The exchanges' test scenario on an emulator of its own (sub-accounts are changed at run
    time), with no markets cached from another emulator."""
    exchanges.clear_markets_cache()
    with run_emulator(SCENARIO) as emulator:
        yield emulator
    exchanges.clear_markets_cache()


def fetcher(emulator: Emulator, exchange: str) -> Callable[..., FetchedAccount]:
    """fetch_account for the exchange's scenario account; options as fetch_account takes them
    (subaccount=..., list_subaccounts=True)."""

    def fetch(**options: Any) -> FetchedAccount:
        return fetch_account(
            exchange,
            credentials(exchange),
            exchanges.WALLETS,
            emulator_url=emulator.url,
            timeout_ms=5000,
            **options,
        )

    return fetch


def amounts(result: FetchedAccount) -> dict[tuple[str, str], Decimal]:
    return {(b.code, b.product): b.amount for b in result.balances}

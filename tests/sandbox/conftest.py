"""Fixtures: one emulator for the module, and real ccxt instances pointed at it."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import ccxt
import pytest

from portfolio.exchanges import MARKET_OPTIONS
from sandbox.emulator import run_emulator
from sandbox.urls import assert_offline, point_at_emulator

SCENARIO = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "test.json"


def scenario_account(exchange):
    raw = json.loads(SCENARIO.read_text())
    return next(a for a in raw["accounts"] if a["exchange"] == exchange)


@pytest.fixture(scope="session")
def scenario():
    return json.loads(SCENARIO.read_text())


@pytest.fixture(scope="session")
def emulator():
    with run_emulator(SCENARIO) as emu:
        yield emu


@pytest.fixture(autouse=True)
def clean_emulator(emulator):
    emulator.clear_faults()
    emulator.reset_stats()
    yield
    emulator.clear_faults()


@pytest.fixture
def make_exchange(emulator):
    """make_exchange("okx", secret="wrong", markets=..., timeout=200) -> a real ccxt instance."""

    def make(name, **overrides):
        account = scenario_account(name)
        cls = getattr(ccxt, name)
        api = point_at_emulator(cls().urls["api"], emulator.url, getattr(cls(), "hostname", None))
        assert_offline(api)
        # A venue read by address alone (hyperliquid) has no key and no secret.
        keys = {"walletAddress": account["api_key"]}
        if "secret" in account:
            keys = {"apiKey": account["api_key"], "secret": account["secret"]}
        config = keys | {
            "password": account.get("password"),
            "enableRateLimit": False,
            "timeout": 2000,
            # The options the app's client uses (the fewest market requests), copied as the
            # client copies them: ccxt may change what it is given.
            "options": copy.deepcopy(MARKET_OPTIONS.get(name, {})),
            "urls": {"api": api},
        }
        exchange = cls(config | overrides)
        assert_offline(exchange.urls["api"])
        return exchange

    return make

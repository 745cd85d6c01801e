"""Offline exchange emulator: answers ccxt's real classes for binance, kraken, okx, coinbase
and bybit (the dedicated adapters) and latoken (read by the generic adapter) from a scenario file,
with fault injection and request counting. No Django here."""

from __future__ import annotations

from sandbox.emulator.api import Emulator, RemoteEmulator, run_emulator
from sandbox.emulator.faults import Fault
from sandbox.emulator.scenario import WALLETS, Scenario, ScenarioError
from sandbox.emulator.stats import count_requests

__all__ = [
    "WALLETS",
    "Emulator",
    "Fault",
    "RemoteEmulator",
    "Scenario",
    "ScenarioError",
    "count_requests",
    "run_emulator",
]

"""Fixtures the portfolio tests share beyond tests/conftest.py."""

from __future__ import annotations

# A fixture: pytest finds it here by name, so no test module imports it.
from tests.portfolio.subaccount_support import scenario_emulator

__all__ = ["scenario_emulator"]

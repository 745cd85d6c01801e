"""The exchanges package's shape: one adapter per exchange module, ccxt imported only inside it,
and production code independent of sandbox/."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

from portfolio import exchanges
from portfolio.exchanges import ADAPTERS, Adapter

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "portfolio" / "exchanges"
# The package's shared machinery and the generic adapter; every other module is one
# exchange's dedicated adapter.
SHARED = {
    "adapter", "deadline", "emulator", "errors", "faults", "fetch", "generic", "markets", "payload",
    "quotes", "registry", "rows", "session",
}  # fmt: skip
PRODUCTION = ("accounts", "config", "portfolio", "riskmodels")
# They start the emulator or seed the demo: the sandbox is what they run.
SANDBOX_COMMANDS = {
    ROOT / "portfolio" / "management" / "commands" / "run_exchange_emulator.py",
    ROOT / "portfolio" / "management" / "commands" / "seed_demo.py",
}


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def imports(path: Path, package: str) -> bool:
    return any(m == package or m.startswith(package + ".") for m in imported_modules(path))


def python_files(*folders: str) -> list[Path]:
    return [path for folder in folders for path in sorted((ROOT / folder).rglob("*.py"))]


def test_every_exchange_module_registers_its_adapter():
    modules = {info.name for info in pkgutil.iter_modules(exchanges.__path__)}
    assert SHARED <= modules
    for name in sorted(modules - SHARED):
        adapter = importlib.import_module(f"portfolio.exchanges.{name}").ADAPTER
        assert isinstance(adapter, Adapter)
        assert adapter.id == name
        assert ADAPTERS[name] is adapter
    assert set(ADAPTERS) == modules - SHARED


def test_only_the_exchanges_package_imports_ccxt():
    # Tests may: they check the emulator against ccxt's own classes.
    outside = [
        path
        for path in python_files(*PRODUCTION, "sandbox", "bench")
        if PACKAGE not in path.parents and imports(path, "ccxt")
    ]
    assert outside == []


def test_production_code_does_not_import_the_sandbox():
    found = [
        path
        for path in python_files(*PRODUCTION)
        if path not in SANDBOX_COMMANDS and imports(path, "sandbox")
    ]
    assert found == []

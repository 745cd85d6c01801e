"""Scenario: accounts, balances per wallet, and prices per exchange.

Amounts stay Decimal from the file to the wire, so what the emulator emits is exactly what the
scenario says (a float anywhere on the way would turn "0.1" into 0.1000000000000000055...).
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

# The wallets each exchange can serve, in the scenario's own names.
WALLETS: dict[str, tuple[str, ...]] = {
    "binance": (
        "spot",
        "funding",
        "margin",
        "future",
        "earn_flexible",
        "earn_locked",
        "staking",
    ),
    "kraken": ("spot",),
    "okx": ("trading", "funding", "savings"),
    "coinbase": ("spot",),
    "bybit": ("unified", "funding", "earn_flexible", "earn_onchain"),
    "mexc": ("spot", "futures"),
    "htx": (
        "spot",
        "super_margin",
        "otc",
        "deposit_earning",
        "point",
        "linear_swap",
        "coin_swap",
        "coin_futures",
    ),
    # The generic adapter's emulated exchange: ccxt's fetch_balance reads the spot wallet only.
    "kucoin": ("spot",),
}
EXCHANGES: tuple[str, ...] = tuple(WALLETS)
# The emulated exchanges without a dedicated adapter: the app reads them with the generic one.
GENERIC: tuple[str, ...] = ("kucoin",)
PERMISSIONS: tuple[str, ...] = ("read", "trade", "margin", "futures", "withdraw", "transfer")
ZERO = Decimal(0)


class ScenarioError(ValueError):
    """The scenario file says something the emulator cannot serve."""


def to_decimal(value: Any, where: str) -> Decimal:
    # Floats are refused: they would already have lost the exact amount.
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ScenarioError(f"{where}: amounts must be decimal strings, got {value!r}")
    try:
        return Decimal(value)
    except InvalidOperation as exc:
        raise ScenarioError(f"{where}: not a decimal: {value!r}") from exc


def fmt(amount: Decimal) -> str:
    """The plain decimal string, never scientific notation."""
    return format(amount, "f")


@dataclass(frozen=True)
class Holding:
    free: Decimal
    locked: Decimal = ZERO
    borrowed: Decimal = ZERO
    interest: Decimal = ZERO
    # Unrealised PnL of open derivatives positions settled in this coin (either sign): the
    # trading accounts that report equity (bybit unified, okx trading, binance futures) add it.
    upl: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.free + self.locked

    @property
    def net(self) -> Decimal:
        return self.total - self.borrowed - self.interest

    @classmethod
    def parse(cls, raw: Any, where: str) -> Holding:
        if not isinstance(raw, dict):
            return cls(free=to_decimal(raw, where))
        unknown = set(raw) - {"free", "locked", "used", "borrowed", "interest", "upl"}
        if unknown:
            raise ScenarioError(f"{where}: unknown fields {sorted(unknown)}")
        parts = {k: to_decimal(v, f"{where}.{k}") for k, v in raw.items()}
        return cls(
            free=parts.get("free", ZERO),
            locked=parts.get("locked", parts.get("used", ZERO)),
            borrowed=parts.get("borrowed", ZERO),
            interest=parts.get("interest", ZERO),
            upl=parts.get("upl", ZERO),
        )

    @property
    def equity(self) -> Decimal:
        """What a trading account reports as the coin's equity: net of debt, with the PnL."""
        return self.net + self.upl

    def to_json(self) -> dict[str, str]:
        out = {"free": fmt(self.free), "locked": fmt(self.locked)}
        if self.borrowed or self.interest:
            out |= {"borrowed": fmt(self.borrowed), "interest": fmt(self.interest)}
        if self.upl:
            out["upl"] = fmt(self.upl)
        return out


Wallet = dict[str, Holding]


@dataclass
class Account:
    exchange: str
    api_key: str
    secret: str
    password: str | None = None
    label: str = ""
    revoked: bool = False
    permissions: dict[str, bool] = field(default_factory=dict)
    balances: dict[str, Wallet] = field(default_factory=dict)

    def wallet(self, name: str) -> Wallet:
        return self.balances.get(name, {})

    def can(self, permission: str) -> bool:
        return bool(self.permissions.get(permission, permission == "read"))

    @classmethod
    def parse(cls, raw: dict[str, Any], where: str) -> Account:
        exchange = raw.get("exchange")
        if exchange not in WALLETS:
            raise ScenarioError(f"{where}: unknown exchange {exchange!r}")
        account = cls(
            exchange=exchange,
            api_key=str(raw["api_key"]),
            secret=str(raw["secret"]),
            password=raw.get("password"),
            label=str(raw.get("label", "")),
            revoked=bool(raw.get("revoked", False)),
            permissions=parse_permissions(raw.get("permissions", {}), where),
        )
        for wallet, coins in raw.get("balances", {}).items():
            account.set_wallet(wallet, coins, f"{where}.balances.{wallet}")
        return account

    def set_wallet(self, wallet: str, coins: dict[str, Any], where: str) -> None:
        if wallet not in WALLETS[self.exchange]:
            known = ", ".join(WALLETS[self.exchange])
            raise ScenarioError(f"{where}: {self.exchange} has no wallet {wallet!r} ({known})")
        parsed = {code: Holding.parse(v, f"{where}.{code}") for code, v in coins.items()}
        self.balances = {**self.balances, wallet: parsed}

    def to_json(self) -> dict[str, Any]:
        return {
            "exchange": self.exchange,
            "api_key": self.api_key,
            "secret": self.secret,
            "password": self.password,
            "label": self.label,
            "revoked": self.revoked,
            "permissions": dict(self.permissions),
            "balances": {
                w: {c: h.to_json() for c, h in coins.items()} for w, coins in self.balances.items()
            },
        }


def parse_permissions(raw: dict[str, Any], where: str) -> dict[str, bool]:
    unknown = set(raw) - set(PERMISSIONS)
    if unknown:
        raise ScenarioError(f"{where}.permissions: unknown {sorted(unknown)} ({PERMISSIONS})")
    return {k: bool(v) for k, v in raw.items()}


def split_symbol(symbol: str) -> tuple[str, str]:
    base, sep, quote = symbol.partition("/")
    if not sep or not base or not quote:
        raise ScenarioError(f"price symbols look like BASE/QUOTE, got {symbol!r}")
    return base, quote


class Scenario:
    """Thread-safe holder: writers take the lock and swap whole dicts, readers never block."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self._lock = threading.Lock()
        self.name = str(raw.get("name", "scenario"))
        self.prices: dict[str, dict[str, Decimal]] = {}
        self.accounts: dict[tuple[str, str], Account] = {}
        self.merge(raw)

    @classmethod
    def load(cls, source: str | Path | dict[str, Any]) -> Scenario:
        if isinstance(source, dict):
            return cls(copy.deepcopy(source))
        return cls(json.loads(Path(source).read_text(encoding="utf-8")))

    def merge(self, raw: dict[str, Any]) -> None:
        """Add or replace the prices and accounts that `raw` names; keep the rest."""
        prices = {ex: parse_prices(ex, p) for ex, p in raw.get("prices", {}).items()}
        accounts = [
            Account.parse(a, f"accounts[{i}]") for i, a in enumerate(raw.get("accounts", []))
        ]
        with self._lock:
            merged = {ex: {**self.prices.get(ex, {}), **p} for ex, p in prices.items()}
            self.prices = {**self.prices, **merged}
            self.accounts = {**self.accounts, **{(a.exchange, a.api_key): a for a in accounts}}

    def replace(self, raw: dict[str, Any]) -> None:
        fresh = Scenario(raw)
        with self._lock:
            self.name, self.prices, self.accounts = fresh.name, fresh.prices, fresh.accounts

    def account(self, exchange: str, api_key: str | None) -> Account | None:
        return self.accounts.get((exchange, api_key or ""))

    def set_price(self, exchange: str, symbol: str, price: str | Decimal) -> None:
        self.merge({"prices": {exchange: {symbol: str(price)}}})

    def set_balance(self, exchange: str, api_key: str, wallet: str, code: str, amount: Any) -> None:
        with self._lock:
            account = self.accounts[(exchange, api_key)]
            coins = {**account.wallet(wallet), code: amount}
            if amount is None:
                coins.pop(code)
            raw = {c: h.to_json() if isinstance(h, Holding) else h for c, h in coins.items()}
            account.set_wallet(wallet, raw, f"{exchange}/{api_key}/{wallet}")

    def symbols(self, exchange: str) -> dict[str, Decimal]:
        return self.prices.get(exchange, {})

    def codes(self, exchange: str) -> list[str]:
        """Every currency the exchange must know: from its markets and from its balances."""
        codes = {c for s in self.symbols(exchange) for c in split_symbol(s)}
        for (ex, _), account in self.accounts.items():
            if ex == exchange:
                codes.update(c for coins in account.balances.values() for c in coins)
        return sorted(codes)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "prices": {ex: {s: fmt(p) for s, p in ps.items()} for ex, ps in self.prices.items()},
            "accounts": [a.to_json() for a in self.accounts.values()],
        }


def parse_prices(exchange: str, raw: dict[str, Any]) -> dict[str, Decimal]:
    if exchange not in WALLETS:
        raise ScenarioError(f"prices: unknown exchange {exchange!r}")
    out = {}
    for symbol, price in raw.items():
        split_symbol(symbol)
        out[symbol] = to_decimal(price, f"prices.{exchange}.{symbol}")
    return out

"""Scenario: accounts, balances per wallet, and prices per exchange.

Amounts stay Decimal from the file to the wire, so what the emulator emits is exactly what the
scenario says (a float anywhere on the way would turn "0.1" into 0.1000000000000000055...).
"""

from __future__ import annotations

import copy
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
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
    # perps: USDC is the collateral, every other coin a position with its unrealised PnL;
    # staking: HYPE delegated (free) and undelegated (locked); unstaking: the withdrawal
    # queue; vaults: equity per vault address.
    "hyperliquid": ("spot", "perps", "staking", "unstaking", "vaults"),
    "kucoin": (
        "main",
        "trade",
        "margin",
        "isolated",
        "futures",
        "earn_flexible",
        "earn_locked",
        "staking",
    ),
    # The generic adapter's emulated exchange: ccxt's fetch_balance reads the spot wallet only;
    # the funding wallet ("wallet") is in the same answer and must not be counted.
    "latoken": ("spot", "wallet"),
    # The derivatives wallet: Bitfinex's margin rows of F0 currencies.
    "bitfinex": ("exchange", "funding", "margin", "derivatives"),
    # perps: the open perpetual positions' unrealised PnL per settlement currency (upl).
    "gemini": ("exchange", "staking", "perps"),
    "bitget": (
        "spot",
        "funding",
        "earn",
        "margin_cross",
        "margin_isolated",
        "futures_usdt",
        "futures_coin",
        "futures_usdc",
    ),
    "gate": (
        "spot",
        "margin",
        "futures_usdt",
        "futures_btc",
        "delivery_usdt",
        "options",
        "earn_uni",
        "staking",
    ),
    "cryptocom": ("unified", "staking"),
    "bitstamp": ("spot", "staking", "lending"),
    # Per-currency account summaries: the cash (with the futures PnL as upl) and options value.
    "deribit": ("account", "options"),
    # The holding wallet, the multi-collateral wallet, single-collateral margin accounts.
    "krakenfutures": ("cash", "flex", "single"),
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
}
EXCHANGES: tuple[str, ...] = tuple(WALLETS)
# The emulated exchanges without a dedicated adapter: the app reads them with the generic one.
GENERIC: tuple[str, ...] = ("latoken",)
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
    # When locked earn or staking ends (ISO 8601), for the exchanges that report it.
    unlocks_at: str = ""

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
        unknown = set(raw) - {"free", "locked", "used", "borrowed", "interest", "upl", "unlocks_at"}
        if unknown:
            raise ScenarioError(f"{where}: unknown fields {sorted(unknown)}")
        parts = {k: to_decimal(v, f"{where}.{k}") for k, v in raw.items() if k != "unlocks_at"}
        return cls(
            free=parts.get("free", ZERO),
            locked=parts.get("locked", parts.get("used", ZERO)),
            borrowed=parts.get("borrowed", ZERO),
            interest=parts.get("interest", ZERO),
            upl=parts.get("upl", ZERO),
            unlocks_at=str(raw.get("unlocks_at", "")),
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
        if self.unlocks_at:
            out["unlocks_at"] = self.unlocks_at
        return out

    def unlocks_at_ms(self, default_days: int) -> int:
        """The lock's end as epoch ms: the scenario's date, else `default_days` from now."""
        if not self.unlocks_at:
            return int(time.time() * 1000) + 86_400_000 * default_days
        moment = datetime.fromisoformat(self.unlocks_at.replace("Z", "+00:00"))
        return int(moment.timestamp()) * 1000 + moment.microsecond // 1000


Wallet = dict[str, Holding]
SUBACCOUNT_EPOCH_MS = 1_600_000_000_000  # the scenario's sub-accounts' creation times start here


@dataclass(frozen=True)
class SubAccount:
    """A sub-account the account's (master) key lists and reads: `id` is what the exchange's
    sub-account calls take (binance: an e-mail, okx: a name, bybit: a uid)."""

    id: str
    name: str
    balances: dict[str, Wallet]
    created_ms: int  # okx pages its listing by creation time

    def wallet(self, name: str) -> Wallet:
        return self.balances.get(name, {})

    @classmethod
    def parse(cls, exchange: str, sub_id: str, raw: Any, created_ms: int, where: str) -> SubAccount:
        if not isinstance(raw, dict) or set(raw) - {"name", "balances"}:
            raise ScenarioError(f"{where}: a sub-account is {{'name', 'balances'}}, got {raw!r}")
        balances = {
            wallet: parse_wallet(exchange, wallet, coins, f"{where}.balances.{wallet}")
            for wallet, coins in raw.get("balances", {}).items()
        }
        return cls(str(sub_id), str(raw.get("name", "")), balances, created_ms)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "balances": {
                w: {c: h.to_json() for c, h in coins.items()} for w, coins in self.balances.items()
            },
        }


def parse_wallet(exchange: str, wallet: str, coins: dict[str, Any], where: str) -> Wallet:
    if wallet not in WALLETS[exchange]:
        known = ", ".join(WALLETS[exchange])
        raise ScenarioError(f"{where}: {exchange} has no wallet {wallet!r} ({known})")
    return {code: Holding.parse(v, f"{where}.{code}") for code, v in coins.items()}


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
    # The master key's sub-accounts by id, in the order the exchange lists them.
    subaccounts: dict[str, SubAccount] = field(default_factory=dict)

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
            secret=str(raw.get("secret", "")),  # none for a venue read by address
            password=raw.get("password"),
            label=str(raw.get("label", "")),
            revoked=bool(raw.get("revoked", False)),
            permissions=parse_permissions(raw.get("permissions", {}), where),
        )
        for wallet, coins in raw.get("balances", {}).items():
            account.set_wallet(wallet, coins, f"{where}.balances.{wallet}")
        for i, (sub_id, sub) in enumerate(raw.get("subaccounts", {}).items()):
            created = SUBACCOUNT_EPOCH_MS + 60_000 * i
            account.set_subaccount(
                SubAccount.parse(exchange, sub_id, sub, created, f"{where}.subaccounts.{sub_id}")
            )
        return account

    def set_wallet(self, wallet: str, coins: dict[str, Any], where: str) -> None:
        parsed = parse_wallet(self.exchange, wallet, coins, where)
        self.balances = {**self.balances, wallet: parsed}

    def set_subaccount(self, sub: SubAccount) -> None:
        # A whole new dict: readers iterating the old one never see it change.
        self.subaccounts = {**self.subaccounts, sub.id: sub}

    def remove_subaccount(self, sub_id: str) -> None:
        self.subaccounts = {k: v for k, v in self.subaccounts.items() if k != sub_id}

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
            "subaccounts": {k: sub.to_json() for k, sub in self.subaccounts.items()},
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

    def set_subaccount(
        self,
        exchange: str,
        api_key: str,
        sub_id: str,
        name: str,
        balances: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """Add or replace one of the account's sub-accounts (wallets in the scenario's names)."""
        with self._lock:
            account = self.accounts[(exchange, api_key)]
            known = account.subaccounts.get(sub_id)
            # Creation times stay distinct (okx pages its listing by them), as real ones are.
            latest = max((s.created_ms for s in account.subaccounts.values()), default=0)
            created = known.created_ms if known else max(int(time.time() * 1000), latest + 1)
            raw = {"name": name, "balances": balances or {}}
            where = f"{exchange}/{api_key}/subaccounts/{sub_id}"
            account.set_subaccount(SubAccount.parse(exchange, sub_id, raw, created, where))

    def remove_subaccount(self, exchange: str, api_key: str, sub_id: str) -> None:
        with self._lock:
            account = self.accounts[(exchange, api_key)]
            if sub_id not in account.subaccounts:
                raise KeyError(f"{exchange}/{api_key} has no sub-account {sub_id!r}")
            account.remove_subaccount(sub_id)

    def symbols(self, exchange: str) -> dict[str, Decimal]:
        return self.prices.get(exchange, {})

    def codes(self, exchange: str) -> list[str]:
        """Every currency the exchange must know: from its markets and from its balances."""
        codes = {c for s in self.symbols(exchange) for c in split_symbol(s)}
        for (ex, _), account in self.accounts.items():
            if ex == exchange:
                codes.update(c for coins in account.balances.values() for c in coins)
                for sub in account.subaccounts.values():
                    codes.update(c for coins in sub.balances.values() for c in coins)
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

"""Engine inputs: counterparties and positions, as the Django side builds them from the database.

Validation happens here, at construction, so the hot aggregation loop can trust its data: money is
``Decimal`` and finite (a float is refused, never converted), categories are known words, and the
snapshot time is timezone-aware.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from riskmodels.engine.policy import TIERS

SELF_CUSTODY = "self-custody"

COUNTERPARTY_KINDS = frozenset({"exchange", "custodian", "issuer", "protocol", "bank", "group"})
STATUSES = frozenset({"operating", "withdrawals_halted", "insolvent"})
DISTRESSED = frozenset({"withdrawals_halted", "insolvent"})
LOCATION_KINDS = frozenset({"exchange", "custodian", "self_custody", "defi", "bank"})
ASSET_KINDS = frozenset(
    {
        "native",
        "fiat_stablecoin",
        "crypto_stablecoin",
        "algo_stablecoin",
        "exchange_token",
        "wrapped",
        "liquid_staking",
        "fiat",
        "other",
        "unclassified",
    }
)
PRODUCTS = frozenset({"spot", "funding", "earn", "staking", "margin", "futures"})

LocationId = int | str


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _one_of(value: str, allowed: frozenset[str] | tuple[str, ...], what: str) -> None:
    _require(value in allowed, f"unknown {what}: {value!r}")


def _finite_decimal(value: object, what: str) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TypeError(f"{what} must be a finite Decimal, got {value!r}")


@dataclass(frozen=True, slots=True)
class Counterparty:
    """A legal entity; ``group`` is its top-level group's slug (its own slug when it has none)."""

    slug: str
    group: str
    kind: str
    tier: str = "unrated"
    status: str = "operating"

    def __post_init__(self) -> None:
        _require(bool(self.slug) and bool(self.group), "slug and group are required")
        _require(SELF_CUSTODY not in (self.slug, self.group), f"{SELF_CUSTODY!r} is reserved")
        _one_of(self.kind, COUNTERPARTY_KINDS, "counterparty kind")
        _one_of(self.tier, TIERS, "rating tier")
        _one_of(self.status, STATUSES, "status")


@dataclass(frozen=True, slots=True)
class Position:
    """An amount of one asset at one location in one product (negative amount = debt)."""

    location_id: LocationId
    location_kind: str
    custodian: str | None
    asset: str
    asset_kind: str
    issuer: str | None
    product: str
    amount: Decimal
    price_usd: Decimal | None
    data_as_of: datetime

    def __post_init__(self) -> None:
        # One expression for the common, valid case: a portfolio has 100,000 positions, and a
        # function call per check would cost more than the engine's arithmetic. Anything that
        # fails it goes through the checks one by one, which say what is wrong.
        price = self.price_usd
        if (
            self.location_kind in LOCATION_KINDS
            and (self.custodian is None) == (self.location_kind == "self_custody")
            and self.asset_kind in ASSET_KINDS
            and self.product in PRODUCTS
            and type(self.amount) is Decimal
            and self.amount.is_finite()
            and (price is None or (type(price) is Decimal and price.is_finite() and price >= 0))
            and self.data_as_of.utcoffset() is not None
        ):
            return
        self._explain()

    def _explain(self) -> None:
        _one_of(self.location_kind, LOCATION_KINDS, "location kind")
        # The custody bucket follows the custodian; tying it to the location kind both ways keeps
        # "self-custody" meaning one thing only.
        _require(
            (self.custodian is None) == (self.location_kind == "self_custody"),
            "a position has no custodian exactly when its location is self-custody",
        )
        _one_of(self.asset_kind, ASSET_KINDS, "asset kind")
        _one_of(self.product, PRODUCTS, "product")
        _finite_decimal(self.amount, "amount")
        if self.price_usd is not None:
            _finite_decimal(self.price_usd, "price_usd")
            _require(self.price_usd >= 0, "price_usd must not be negative")
        _require(self.data_as_of.utcoffset() is not None, "data_as_of must be timezone-aware")

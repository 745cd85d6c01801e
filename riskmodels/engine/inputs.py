"""Engine inputs: counterparties and positions, as the Django side builds them from the database.

Validation happens here, at construction, so the hot aggregation loop can trust its data: money is
``Decimal`` and finite (a float is refused, never converted), categories are known words, and the
snapshot time is timezone-aware.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple, Self

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
PRODUCTS = frozenset({"spot", "funding", "earn", "staking", "margin", "futures", "options"})

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


class _PositionFields(NamedTuple):
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


class Position(_PositionFields):
    """An amount of one asset at one location in one product (negative amount = debt).

    The one input that is not a frozen dataclass: a portfolio has 100,000 positions, and a
    frozen dataclass spends three times longer being built than the engine spends on it. A
    named tuple is as immutable and is built in C; it is validated here as the dataclasses are.
    """

    __slots__ = ()

    def __new__(
        cls,
        location_id: LocationId,
        location_kind: str,
        custodian: str | None,
        asset: str,
        asset_kind: str,
        issuer: str | None,
        product: str,
        amount: Decimal,
        price_usd: Decimal | None,
        data_as_of: datetime,
    ) -> Position:
        self = tuple.__new__(
            cls,
            (location_id, location_kind, custodian, asset, asset_kind, issuer, product,
             amount, price_usd, data_as_of),
        )  # fmt: skip
        # One expression for the common, valid case; anything that fails it goes through the
        # checks one by one, which say what is wrong.
        if not (
            location_kind in LOCATION_KINDS
            and (custodian is None) == (location_kind == "self_custody")
            and asset_kind in ASSET_KINDS
            and product in PRODUCTS
            and type(amount) is Decimal
            and amount.is_finite()
            and (
                price_usd is None
                or (type(price_usd) is Decimal and price_usd.is_finite() and price_usd >= 0)
            )
            and data_as_of.utcoffset() is not None
        ):
            self._explain()
        return self

    # namedtuple's own _make and _replace build the tuple directly: route them through the
    # checks above so that no Position escapes validation.
    # The stub types namedtuple's _make through a generic self type that a plain classmethod
    # cannot restate; the call is the same. Any values may come in, as to namedtuple's own
    # _make: __new__ checks them at run time, which is why this goes through it.
    @classmethod
    def _make(cls, iterable: Iterable[object]) -> Self:  # type: ignore[override]
        return cls(*iterable)  # type: ignore[arg-type]

    def _replace(self, **changes: object) -> Position:
        return type(self)(**{**self._asdict(), **changes})

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

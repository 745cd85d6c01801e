"""Stress scenarios: L = Σ v * (1 - Π (1 - f)) over the shocks f that touch a position.

Only assets (v > 0) are shocked. A debt is not a gain under stress: a failed venue's estate still
collects what it lent, and a short in a crashing token is market risk, not counterparty relief;
counting either would let a loan hide a loss.

A shock selects positions by custody group, issuer group, asset code and/or asset kind (all the
given selectors must match) and takes a fraction f of their value. Shocks that touch the same
position compound multiplicatively, so a position is never lost more than once: BNB held on
Binance under "Binance fraud" loses 1 - (1 - 1)(1 - 1) = 100% of its value, not 200%.

Price shocks are relative to the current price: "depegs to 0.87" is f = 0.13 and "to 0.10" is
f = 0.90, which is exact for a coin at its 1.00 peg and keeps every shock a plain fraction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from riskmodels.engine.arith import ONE, ZERO, share
from riskmodels.engine.exposure import StressKey
from riskmodels.engine.inputs import ASSET_KINDS
from riskmodels.engine.outputs import ScenarioResult

# (name, loss-given-default on custody, price shock on the group's own assets)
DEFAULT_PRESETS = (
    ("base", Decimal("0.60"), Decimal("0.90")),
    ("severe", Decimal("0.90"), Decimal("0.90")),
    ("fraud", Decimal("1.00"), Decimal("1.00")),
)
EXCHANGE_TOKEN_CRASH = Decimal("0.90")
FIAT_DEPEG_PRICE = Decimal("0.87")  # USDC, March 2023
ALGO_DEPEG_PRICE = Decimal("0.10")  # UST, May 2022


@dataclass(frozen=True, slots=True)
class Shock:
    """Loss fraction f (0..1) on the positions every given selector matches."""

    fraction: Decimal
    custody_group: str | None = None
    issuer_group: str | None = None
    asset: str | None = None
    asset_kind: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.fraction, Decimal) or not ZERO <= self.fraction <= ONE:
            raise ValueError(f"shock fraction must be a Decimal in [0, 1]: {self.fraction!r}")
        if not self.selectors:
            raise ValueError("a shock needs at least one selector")
        if self.asset_kind is not None and self.asset_kind not in ASSET_KINDS:
            raise ValueError(f"unknown asset kind {self.asset_kind!r}")

    @property
    def selectors(self) -> tuple[tuple[int, str], ...]:
        """(position in the stress key, required value) for every given selector."""
        wanted = (self.custody_group, self.issuer_group, self.asset, self.asset_kind)
        return tuple((i, v) for i, v in enumerate(wanted) if v is not None)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named set of shocks applied together."""

    name: str
    shocks: tuple[Shock, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "shocks", tuple(self.shocks))
        if not self.shocks:
            raise ValueError(f"scenario {self.name!r} has no shocks")


def group_default(group: str, lgd: Decimal, issuer_shock: Decimal, name: str) -> Scenario:
    """Group X defaults: LGD on what X holds, a price shock on what X issues (once per position)."""
    return Scenario(
        name, (Shock(lgd, custody_group=group), Shock(issuer_shock, issuer_group=group))
    )


def depeg(price: Decimal) -> Decimal:
    """The loss fraction of a coin at its 1.00 peg falling to ``price``."""
    return ONE - price


def preset_scenarios(
    groups: Iterable[str], fiat_issuers: Iterable[str], unissued_fiat: Iterable[str]
) -> tuple[Scenario, ...]:
    """The preset list.

    1. Base, severe and fraud default of every group present.
    2. All exchange tokens -90%.
    3. A fiat-backed stablecoin depeg to 0.87, one scenario per issuer group (a depeg is an
       issuer's reserve failing: USDC with Circle's SVB deposits), plus one per fiat stablecoin
       with no recorded issuer.
    4. All algorithmic stablecoins to 0.10.
    """
    fiat = depeg(FIAT_DEPEG_PRICE)
    return (
        *(
            group_default(group, lgd, shock, f"{group} default ({label})")
            for group in groups
            for label, lgd, shock in DEFAULT_PRESETS
        ),
        Scenario(
            "exchange tokens -90%", (Shock(EXCHANGE_TOKEN_CRASH, asset_kind="exchange_token"),)
        ),
        *(
            Scenario(
                f"{issuer} stablecoins depeg to 0.87",
                (Shock(fiat, issuer_group=issuer, asset_kind="fiat_stablecoin"),),
            )
            for issuer in fiat_issuers
        ),
        *(
            Scenario(f"{asset} depegs to 0.87", (Shock(fiat, asset=asset),))
            for asset in unissued_fiat
        ),
        Scenario(
            "algorithmic stablecoins to 0.10",
            (Shock(depeg(ALGO_DEPEG_PRICE), asset_kind="algo_stablecoin"),),
        ),
    )


@dataclass(frozen=True, slots=True)
class _Projection:
    """Stress values summed over the selector fields a scenario uses, indexed per field."""

    values: Mapping[tuple[object, ...], Decimal]
    index: tuple[Mapping[object, list[tuple[object, ...]]], ...]


def _project(values: Mapping[StressKey, Decimal], fields: tuple[int, ...]) -> _Projection:
    sums: dict[tuple[object, ...], Decimal] = {}
    for key, value in values.items():
        projected = tuple(key[i] for i in fields)
        sums[projected] = sums.get(projected, ZERO) + value
    index: tuple[dict[object, list[tuple[object, ...]]], ...] = tuple({} for _ in fields)
    for summed in sums:
        for position, part in enumerate(summed):
            index[position].setdefault(part, []).append(summed)
    return _Projection(sums, index)


Matcher = tuple[Decimal, tuple[tuple[int, str], ...]]


def _matches(key: tuple[object, ...], selectors: tuple[tuple[int, str], ...]) -> bool:
    return all(key[position] == value for position, value in selectors)


class StressBook:
    """Positive values per (custody group, issuer group, asset, asset kind).

    A scenario is evaluated on the coarsest projection holding the fields its shocks select on
    (a group default needs only the two group fields), and only on the keys its shocks touch,
    found through the projection's index: hundreds of scenarios cost milliseconds.
    """

    def __init__(self, values: Mapping[StressKey, Decimal]) -> None:
        self._values = values
        self._projections: dict[tuple[int, ...], _Projection] = {}

    def _projection(self, fields: tuple[int, ...]) -> _Projection:
        found = self._projections.get(fields)
        if found is None:
            found = self._projections[fields] = _project(self._values, fields)
        return found

    def run(self, scenario: Scenario, nav: Decimal) -> ScenarioResult:
        """Loss of one scenario.

        1. Project the values on the fields the shocks select on; re-express each shock's
           selectors as positions in the projected key.
        2. Candidates: the keys at least one shock matches (from the index of its first selector).
        3. Per candidate, survival = Π (1 - f) over the shocks that match it; loss += v * (1 - s).
        """
        fields = tuple(sorted({i for shock in scenario.shocks for i, _ in shock.selectors}))
        projection = self._projection(fields)
        where = {field: n for n, field in enumerate(fields)}
        matchers = [
            (shock.fraction, tuple((where[i], v) for i, v in shock.selectors))
            for shock in scenario.shocks
        ]
        loss = exposed = ZERO
        for key in self._candidates(projection, matchers):
            value = projection.values[key]
            survival = ONE
            for fraction, selectors in matchers:
                if _matches(key, selectors):
                    survival *= ONE - fraction
            exposed += value
            loss += value * (ONE - survival)
        return ScenarioResult(scenario.name, share(loss, nav), loss, exposed)

    @staticmethod
    def _candidates(projection: _Projection, matchers: list[Matcher]) -> set[tuple[object, ...]]:
        found: set[tuple[object, ...]] = set()
        for _, selectors in matchers:
            first_position, first_value = selectors[0]
            keys = projection.index[first_position].get(first_value, ())
            found.update(key for key in keys if _matches(key, selectors[1:]))
        return found


def run_scenarios(
    book: StressBook, scenarios: Iterable[Scenario], nav: Decimal
) -> tuple[ScenarioResult, ...]:
    """Every scenario, in the order given."""
    return tuple(book.run(scenario, nav) for scenario in scenarios)

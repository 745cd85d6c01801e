"""USD prices from exchange quotes. Pure: no Django, no network.

A code is priced through the first source (the account's own exchange, then the reference
exchange) that quotes it against USD, USDT or USDC; USDT and USDC are themselves priced at
market against USD, never assumed to be worth 1. What no source prices stays unpriced.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

STABLE_QUOTES = ("USDT", "USDC")


@dataclass(frozen=True, slots=True)
class UsdPrice:
    price: Decimal
    source: str  # the exchange id whose ticker gave the price
    route: str  # e.g. "BNB/USDT×USDT/USD"


Sources = Iterable[tuple[str, Mapping[str, Decimal]]]


def usd_prices(codes: Iterable[str], sources: Sources) -> dict[str, UsdPrice]:
    ordered = list(sources)
    prices: dict[str, UsdPrice] = {}
    for code in codes:
        found = price_in_usd(code, ordered)
        if found is not None:
            prices[code] = found
    return prices


def price_in_usd(code: str, sources: list[tuple[str, Mapping[str, Decimal]]]) -> UsdPrice | None:
    if code == "USD":
        return UsdPrice(Decimal(1), "unit", "USD")
    for source, quotes in sources:
        direct = quotes.get(f"{code}/USD")
        if direct is not None:
            return UsdPrice(direct, source, f"{code}/USD")
    for source, quotes in sources:
        for stable in STABLE_QUOTES:
            through = _through_stable(code, stable, quotes, sources)
            if through is not None:
                return UsdPrice(through, source, f"{code}/{stable}×{stable}/USD")
    return None


def _through_stable(
    code: str,
    stable: str,
    quotes: Mapping[str, Decimal],
    sources: list[tuple[str, Mapping[str, Decimal]]],
) -> Decimal | None:
    leg = quotes.get(f"{code}/{stable}")
    if leg is None or code == stable:
        return None
    stable_usd = next(
        (q[f"{stable}/USD"] for _, q in sources if f"{stable}/USD" in q),
        None,
    )
    return None if stable_usd is None else leg * stable_usd

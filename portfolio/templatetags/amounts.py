"""How amounts, prices, USD values and shares are written on the holdings pages.

Display only: the stored and computed figures stay exact; a rounded amount carries its exact
value in a title (see templates/portfolio/_holdings.html). Thousands are separated by commas.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal

from django import template

from portfolio.models import Product

register = template.Library()

# Wide enough for any amount × price the columns can hold (38 digits each side).
WIDE = Context(prec=80, rounding=ROUND_HALF_EVEN)
CENT = Decimal("0.01")
AMOUNT_PLACES = 8  # a satoshi: finer than that, the title gives the exact amount
PRICE_PLACES_BELOW_ONE = 8
PRICE_PLACES = 6


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _grouped(value: Decimal, min_places: int = 0) -> str:
    """Thousands separated, trailing zeros dropped down to ``min_places`` decimals."""
    value = value.normalize(WIDE)
    if -value.as_tuple().exponent < min_places:  # type: ignore[operator]  # finite here
        value = value.quantize(Decimal(1).scaleb(-min_places), context=WIDE)
    if value == 0:
        value = abs(value)  # never "-0"
    return format(value, ",f")


def _rounded(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), context=WIDE)


@register.filter
def usd(value: object) -> str:
    """A USD value to the cent: 1,234,567.89."""
    number = _decimal(value)
    if number is None:
        return ""
    return _grouped(_rounded(number, 2), min_places=2)


@register.filter
def qty(value: object) -> str:
    """An amount of an asset, to 8 decimals at most; one too small for that is shown whole."""
    number = _decimal(value)
    if number is None:
        return ""
    rounded = _rounded(number, AMOUNT_PLACES)
    return _grouped(number if rounded == 0 else rounded)


@register.filter
def is_rounded(value: object) -> bool:
    """Whether ``qty`` shows less than the exact amount (the page then offers it in full)."""
    number = _decimal(value)
    return number is not None and qty(number).replace(",", "") != _grouped(number).replace(",", "")


@register.filter
def exact(value: object) -> str:
    """The exact amount, as stored, without an exponent or trailing zeros."""
    number = _decimal(value)
    return "" if number is None else _grouped(number)


@register.filter
def price(value: object) -> str:
    """A USD price: at least cents, up to 6 decimals (8 below one dollar)."""
    number = _decimal(value)
    if number is None:
        return ""
    places = PRICE_PLACES_BELOW_ONE if abs(number) < 1 else PRICE_PLACES
    return _grouped(_rounded(number, places), min_places=2)


@register.filter
def pct(value: object) -> str:
    """A fraction as a percentage to two decimals: 0.123456 is 12.35%."""
    number = _decimal(value)
    if number is None:
        return ""
    return _grouped(_rounded(number * 100, 2), min_places=2) + "%"


@register.filter
def product_label(value: object) -> str:
    """A product's one human label (spot is "Spot", earn "Earn / lending"), whatever the page."""
    text = str(value)
    return Product(text).label if text in Product.values else text

"""Reading values out of exchange payloads: structure, exact amounts, currency codes, flags.

Every value is checked here, at the boundary; what the database cannot store exactly is refused
(MalformedAnswer), never rounded.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal, Inexact, InvalidOperation
from typing import Any

from portfolio.exchanges.errors import Malformed, MalformedAnswer, PermissionsUnreadable

ZERO = Decimal(0)
# What the database stores exactly: numeric(38,18). An amount must also stay below a bound no
# real holding reaches, so that a garbled "1e30" is refused rather than stored.
MAX_PLACES = 18
AMOUNT_BOUND = Decimal(10) ** 18
PRICE_BOUND = Decimal(10) ** 20  # 20 integer digits: the column's whole range
MAX_REPORTED_CODE = 40  # Holding.reported_code
MAX_CODE = 32  # Asset.code
# Sums of exact amounts must never round: far more digits than 38 and a trap on inexactness.
EXACT = Context(prec=100, traps=[Inexact, InvalidOperation])


def dig(payload: Any, *path: str | int, kind: Any = list) -> Any:
    """payload[path...], checked to be a `kind`; otherwise the payload is malformed."""
    node = payload
    for step in path:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            raise Malformed(f"no {'.'.join(map(str, path))} in the response") from None
    if not isinstance(node, kind):
        expected = getattr(kind, "__name__", str(kind))
        raise Malformed(f"{'.'.join(map(str, path)) or 'body'} is not a {expected}")
    return node


def rows(payload: Any, *path: str | int) -> list[dict[str, Any]]:
    found = dig(payload, *path, kind=list)
    if not all(isinstance(row, dict) for row in found):
        raise Malformed(f"{'.'.join(map(str, path)) or 'body'} holds a non-object row")
    return found


def text(row: dict[str, Any], name: str) -> str:
    value = row.get(name)
    if not isinstance(value, str) or not value:
        raise Malformed(f"row without {name}: {str(row)[:80]}")
    return value


def shown(value: Any) -> str:
    """A refused value as the message shows it: quoted text, short."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def decimal(value: Any, name: str) -> Decimal:
    # Strings are exact; an int is exact too. A float has already lost digits: refuse it.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedAnswer(f"{name} is {shown(value)}, not a decimal string")
    try:
        return Decimal(value)
    except InvalidOperation:
        raise MalformedAnswer(f"{name} is {shown(value)}, not a number") from None


def decimal_places(value: Decimal) -> int:
    """Decimal places that carry a digit: 1.500 has one. Exact, whatever the precision."""
    _, digits, exponent = value.as_tuple()
    places = -int(exponent)
    for digit in reversed(digits):
        if places <= 0 or digit:
            break
        places -= 1
    return max(places, 0)


def amount_problem(value: Decimal, *, signed: bool) -> str | None:
    """Why the database must not store this amount, or None."""
    if not value.is_finite():
        return "not a finite amount"
    if value.copy_abs() >= AMOUNT_BOUND:
        return "beyond any real holding (10^18 units or more)"
    if decimal_places(value) > MAX_PLACES:
        return f"more than {MAX_PLACES} decimal places, which cannot be stored exactly"
    if value < 0 and not signed:
        return "negative where the exchange reports no debt"
    return None


def exact(value: Decimal) -> Decimal:
    """At most 18 places: trailing zeros beyond them go (exactly: they are zeros)."""
    if int(value.as_tuple().exponent) >= -MAX_PLACES:
        return value
    return value.quantize(Decimal(1).scaleb(-MAX_PLACES), context=EXACT)


def checked(raw: Any, name: str, code: str, *, signed: bool) -> Decimal:
    label = f"{name} of {code}"
    value = decimal(raw, label)
    problem = amount_problem(value, signed=signed)
    if problem:
        raise MalformedAnswer(f"{label} is {shown(raw)}, {problem}")
    return exact(value)


def amount(
    row: dict[str, Any],
    code: str,
    *required: str,
    optional: tuple[str, ...] = (),
    signed: bool = False,
) -> Decimal:
    """Sum of the required fields (present and non-empty) and the optional ones ('' is 0),
    each checked; negative only where `signed` (a product with liabilities)."""
    for name in required:
        if row.get(name) in (None, ""):
            raise Malformed(f"row without {name}: {str(row)[:80]}")
    present = [*required, *(n for n in optional if row.get(n) not in (None, ""))]
    total = ZERO
    for name in present:
        total = EXACT.add(total, checked(row[name], name, code, signed=signed))
    problem = amount_problem(total, signed=signed) if len(present) > 1 else None
    if problem:
        raise MalformedAnswer(f"{' + '.join(present)} of {code} is '{total}', {problem}")
    return total


def optional_amount(row: dict[str, Any], name: str, code: str) -> Decimal:
    """A field that only tells the product (a liability): finite and bounded, any sign."""
    return amount(row, code, optional=(name,), signed=True)


def currency(client: Any, raw: Any, name: str) -> tuple[str, str]:
    """(reported code, normalised code): whitespace around is dropped (' BTC ' is BTC); a code
    with spaces or control characters inside, or too long for its column, is refused."""
    if not isinstance(raw, str) or not raw.strip():
        raise Malformed(f"{name} is {shown(raw)}, not a currency code")
    reported = raw.strip()
    if len(reported) > MAX_REPORTED_CODE or not all(
        c.isprintable() and not c.isspace() for c in reported
    ):
        raise MalformedAnswer(
            f"{name} is {shown(raw)}, not a currency code (at most {MAX_REPORTED_CODE} "
            "printable characters without spaces)"
        )
    code = str(client.safe_currency_code(reported)).upper()
    if len(code) > MAX_CODE or not all(c.isprintable() and not c.isspace() for c in code):
        raise MalformedAnswer(
            f"{name} is {shown(raw)}, which reads as {shown(code)}: longer than "
            f"{MAX_CODE} characters or not printable"
        )
    return reported, code


def flag(flags: dict[str, Any], name: str, *, required: bool = True) -> bool:
    """A true/false field; absent or anything else means the answer cannot be read, because
    guessing False would hide a key that can trade or withdraw."""
    value = flags.get(name)
    if value is None and not required:
        return False
    if not isinstance(value, bool):
        raise PermissionsUnreadable(f"{name} is {shown(value)}, not true or false")
    return value


# A lock end date the exchange sends as epoch milliseconds: between 2009 and 2200, or malformed.
EARLIEST_MS, LATEST_MS = 1_230_768_000_000, 7_258_118_400_000


def epoch_ms(row: dict[str, Any], name: str, code: str) -> datetime | None:
    """An optional date sent as epoch milliseconds (number or digits), exact to the ms; None
    when absent or empty."""
    raw = row.get(name)
    if raw in (None, ""):
        return None
    text_value = str(raw)
    if isinstance(raw, bool) or not text_value.isascii() or not text_value.isdigit():
        raise MalformedAnswer(f"{name} of {code} is {shown(raw)}, not epoch milliseconds")
    ms = int(text_value)
    if not EARLIEST_MS <= ms <= LATEST_MS:
        raise MalformedAnswer(f"{name} of {code} is {shown(raw)}, not a plausible date")
    return datetime.fromtimestamp(ms // 1000, UTC) + timedelta(milliseconds=ms % 1000)


def exact_json(raw: str) -> Any:
    """A body whose amounts are JSON numbers (deribit, kraken futures), read again with every
    number as its own text ("0.1", "1e-05", "NaN"), so no digit is lost to a float. A key
    repeated in one object with another value is malformed (a dict would keep the last)."""
    try:
        return json.loads(
            raw,
            parse_float=str,
            parse_int=str,
            parse_constant=str,
            object_pairs_hook=distinct_keys,
        )
    except ValueError:
        raise Malformed("the answer is not JSON") from None


def distinct_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found and found[key] != value:
            raise MalformedAnswer(
                f"{key} appears twice with different values, {shown(found[key])} and {shown(value)}"
            )
        found[key] = value
    return found

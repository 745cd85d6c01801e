"""Decimal arithmetic rules of the engine.

Money is added and multiplied exactly: every public entry point runs inside the ``EXACT`` context,
whose precision (400 digits) is far above what 18-decimal amounts times 18-decimal prices need, and
which traps ``Inexact`` so that a silent rounding of money raises instead of hiding. Ratios (shares,
HHI, effective N, hours) are the only divisions; they go through :func:`ratio`, which divides in a
separate context and rounds half-even to a stated quantum. Limit levels are never decided on a
rounded ratio: :func:`level` compares ``num > threshold * den`` exactly.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import (
    MAX_EMAX,
    MIN_EMIN,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import ParamSpec, TypeVar

from riskmodels.engine.policy import Threshold

P = ParamSpec("P")
R = TypeVar("R")

ZERO = Decimal(0)
ONE = Decimal(1)
TEN_THOUSAND = Decimal(10_000)

# Reported ratios: shares of NAV to 12 decimals (0.000000000001 = a millionth of a basis point),
# HHI points, effective number of counterparties and ages in hours to 2 decimals.
SHARE_QUANTUM = Decimal("1e-12")
HHI_QUANTUM = Decimal("0.01")
COUNT_QUANTUM = Decimal("0.01")
HOURS_QUANTUM = Decimal("0.01")
MICROSECONDS_PER_HOUR = Decimal(3_600_000_000)

EXACT = Context(
    prec=400,
    rounding=ROUND_HALF_EVEN,
    Emax=MAX_EMAX,
    Emin=MIN_EMIN,
    traps=[InvalidOperation, DivisionByZero, Overflow, Inexact],
)
_RATIO = Context(
    prec=60,
    rounding=ROUND_HALF_EVEN,
    Emax=MAX_EMAX,
    Emin=MIN_EMIN,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)

OK = "ok"
WARN = "warn"
BREACH = "breach"


def exact(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` inside the exact money context (restored on return)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with localcontext(EXACT):
            return func(*args, **kwargs)

    return wrapper


def ratio(num: Decimal, den: Decimal, quantum: Decimal) -> Decimal:
    """``num / den`` rounded half-even to ``quantum``; ``den`` must be non-zero."""
    return _RATIO.divide(num, den).quantize(quantum, context=_RATIO)


def share(amount: Decimal, nav: Decimal) -> Decimal | None:
    """Share of NAV, or None when NAV is not positive (a share of nothing has no meaning)."""
    if nav <= 0:
        return None
    return ratio(amount, nav, SHARE_QUANTUM)


def level(num: Decimal, den: Decimal, threshold: Threshold) -> str:
    """Level of the ratio ``num / den`` against a threshold, decided exactly.

    A limit is crossed when the value is strictly above it, so that an exposure brought down to
    exactly its warn level (the "what to move" target) is "ok". A non-positive base (NAV ≤ 0)
    makes any positive amount unbounded: it takes the worst level the threshold defines.
    """
    if den <= 0:
        if num <= 0:
            return OK
        return (
            BREACH if threshold.breach is not None else (WARN if threshold.warn is not None else OK)
        )
    if threshold.breach is not None and num > threshold.breach * den:
        return BREACH
    if threshold.warn is not None and num > threshold.warn * den:
        return WARN
    return OK

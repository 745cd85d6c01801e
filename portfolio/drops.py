"""Large drops in a location's holdings: held until a second read or a manager confirms them."""

from __future__ import annotations


def dispatch_due_rereads() -> int:
    """Start the second read of every drop whose wait is over; how many were started."""
    return 0

"""What the management commands share."""

from __future__ import annotations

from django.core.management.base import CommandError

from portfolio.models import Portfolio


def portfolio_or_error(slug: str) -> Portfolio:
    """The portfolio with this slug, or a one-line CommandError (a NUL, which PostgreSQL
    cannot even compare, included)."""
    found = None if "\x00" in slug else Portfolio.objects.filter(slug=slug).first()
    if found is None:
        raise CommandError(f"No portfolio {slug!r}.")
    return found

"""Compute (or confirm unchanged) one portfolio's exposure now, without a worker."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portfolio.management.lookup import portfolio_or_error
from riskmodels.services import compute_exposure


class Command(BaseCommand):
    help = "Run the risk engine over a portfolio's current holdings and store the snapshot."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("portfolio", help="the portfolio's slug")

    def handle(self, *args: Any, **options: Any) -> None:
        portfolio = portfolio_or_error(options["portfolio"])
        snapshot = compute_exposure(portfolio_id=portfolio.pk)
        if snapshot is None:  # deleted between the lookup and the computation
            raise CommandError(f"No portfolio {options['portfolio']!r}.")
        self.stdout.write(f"{portfolio.slug}: snapshot {snapshot.pk}, NAV {snapshot.nav} USD")

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from portfolio.models import Portfolio
from portfolio.rounds import start_sync_round


class Command(BaseCommand):
    help = "Start a sync round for every portfolio with exchange accounts (a worker runs it)."

    def handle(self, *args: Any, **options: Any) -> None:
        started = 0
        portfolios = Portfolio.objects.filter(locations__exchange_account__isnull=False).distinct()
        for portfolio in portfolios:
            sync_round = start_sync_round(portfolio=portfolio)
            if sync_round is not None:
                started += sync_round.location_count
                self.stdout.write(f"{portfolio.slug}: {sync_round.location_count} account(s)")
        self.stdout.write(f"Queued {started} sync(s).")

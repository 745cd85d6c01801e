from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from portfolio.registry import RegistryError, load_registry


class Command(BaseCommand):
    help = "Load the counterparty and asset registry; safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = load_registry()
        except RegistryError as error:
            raise CommandError(f"Registry not loaded: {error}") from error
        self.stdout.write(f"Registry loaded: {report.summary()}")

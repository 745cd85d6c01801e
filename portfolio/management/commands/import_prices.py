from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from portfolio.imports import CsvFileError, import_prices, read_csv_path
from portfolio.management.commands.import_holdings import report


class Command(BaseCommand):
    help = "Record manual USD prices from a CSV file (asset,price_usd[,as_of]); all or nothing."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", type=Path, help="a UTF-8 CSV file")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            text = read_csv_path(options["file"])
        except CsvFileError as error:
            raise CommandError(f"Nothing imported: {error}") from None
        report(self, import_prices(text=text))

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portfolio.imports import CsvFileError, ImportResult, import_holdings, read_csv_path
from portfolio.management.lookup import portfolio_or_error

if TYPE_CHECKING:
    from accounts.models import User


class Command(BaseCommand):
    help = (
        "Replace the holdings of the locations named in a CSV file "
        "(location,location_kind,custodian,asset,product,amount); all or nothing."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("portfolio", help="the portfolio's slug")
        parser.add_argument("file", type=Path, help="a UTF-8 CSV file")
        parser.add_argument("--user", help="username recorded as the author of the snapshots")

    def handle(self, *args: Any, **options: Any) -> None:
        portfolio = portfolio_or_error(options["portfolio"])
        user = _user(options["user"])
        try:
            text = read_csv_path(options["file"])
        except CsvFileError as error:
            raise CommandError(f"Nothing imported: {error}") from None
        report(self, import_holdings(portfolio=portfolio, text=text, user=user))


def _user(username: str | None) -> User | None:
    if username is None:
        return None
    try:
        return get_user_model().objects.get(username=username)
    except get_user_model().DoesNotExist:
        raise CommandError(f"No user named {username!r}.") from None


def report(command: BaseCommand, result: ImportResult) -> None:
    """Errors on stderr and a non-zero exit, or warnings and a summary."""
    if not result.ok:
        for error in result.errors:
            command.stderr.write(str(error))
        raise CommandError(f"{len(result.errors)} error(s); nothing was imported.")
    for warning in result.warnings:
        command.stderr.write(f"warning: {warning}", command.style.WARNING)
    command.stdout.write(f"Imported {result.summary()}.")

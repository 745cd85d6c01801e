"""Print a portfolio's latest exposure report (at or before --at) as JSON or CSV."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from portfolio.management.lookup import portfolio_or_error
from riskmodels.reports import render_csv, snapshot_report
from riskmodels.selectors import exposure_at, not_current_by_group


def parse_at(text: str) -> datetime:
    """An ISO 8601 time or date; naive means the configured time zone, a date its end."""
    try:  # None for another shape, ValueError for a right shape with a wrong value (month 13)
        moment = parse_datetime(text)
        day = parse_date(text) if moment is None else None
    except ValueError as error:
        raise CommandError(f"--at: {text!r} is not a valid date or time ({error}).") from None
    if moment is None:
        if day is None:
            raise CommandError(f"--at: {text!r} is not an ISO 8601 date or time.")
        moment = datetime.combine(day, datetime.max.time())
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


class Command(BaseCommand):
    help = "Print the exposure report of a portfolio's latest snapshot (README: Exposure report)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("portfolio", help="the portfolio's slug")
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument("--at", help="the latest snapshot at or before this ISO time")

    def handle(self, *args: Any, **options: Any) -> None:
        portfolio = portfolio_or_error(options["portfolio"])
        at = parse_at(options["at"]) if options["at"] else None
        snapshot = exposure_at(portfolio.pk, at)
        if snapshot is None:
            when = f" at or before {at.isoformat()}" if at else ""
            raise CommandError(f"No exposure snapshot of {portfolio.slug}{when}.")
        document = snapshot_report(snapshot)
        if options["format"] == "csv":
            # Today's marks belong to the latest snapshot only, not to one from the past.
            marks = None if at else not_current_by_group(portfolio, reasons=True)
            self.stdout.write(render_csv(document, marks), ending="")
        else:
            self.stdout.write(json.dumps(document, indent=2))

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sandbox.__main__ import main as serve


class Command(BaseCommand):
    help = (
        "Serve the offline exchange emulator for a scenario (a JSON file, or demo / test) on "
        "127.0.0.1 until stopped; prints its URL first. Development and tests only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("scenario")
        parser.add_argument("--port", type=int, default=0, help="0 picks a free port")

    def handle(self, *args: Any, **options: Any) -> None:
        serve([options["scenario"], "--port", str(options["port"]), "--host", "127.0.0.1"])

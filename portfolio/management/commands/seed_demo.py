from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from sandbox.demo import keep_users_for_later, seed_demo, users_text


class Command(BaseCommand):
    help = "Create or refresh the demo users, funds and holdings; prints the demo passwords."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--print-later",
            action="store_true",
            help="keep the users in VAR_DIR for `make demo` to print once the server answers",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        text = users_text(seed_demo())
        if options["print_later"]:
            keep_users_for_later(settings.VAR_DIR, text)
            self.stdout.write("Demo users ready: printed once the server answers.")
        else:
            self.stdout.write(text, ending="")

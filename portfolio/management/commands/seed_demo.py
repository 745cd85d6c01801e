from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from sandbox.demo import seed_demo


class Command(BaseCommand):
    help = "Create or refresh the demo users, funds and holdings; prints the demo passwords."

    def handle(self, *args: Any, **options: Any) -> None:
        passwords = seed_demo()
        self.stdout.write("Demo users (passwords are new on every run):")
        for username, password in passwords.items():
            self.stdout.write(f"  {username:<10} {password}")

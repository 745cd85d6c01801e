"""What every benchmark needs: a fresh PostgreSQL database of its own, migrated."""

from __future__ import annotations

import os
import secrets


def use_bench_database(name: str, *, needs_redis: bool = False, registry: bool = False) -> str:
    """Drop and create database `name` next to DATABASE_URL's, set Django up on it in this
    process, migrate it (and load the counterparty registry when asked); its URL."""
    import psycopg

    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres") or (needs_redis and not os.environ.get("REDIS_URL")):
        needed = "DATABASE_URL on PostgreSQL" + (" and REDIS_URL" if needs_redis else "")
        raise SystemExit(f"this benchmark needs {needed}")
    server, _, _ = base.rpartition("/")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    os.environ["DATABASE_URL"] = f"{server}/{name}"
    _process_secrets()
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    if registry:
        call_command("load_registry", verbosity=0)
    return os.environ["DATABASE_URL"]


def _process_secrets() -> None:
    """Secrets for this run only, unless the environment gives them (make bench does)."""
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    if "CREDENTIALS_KEYS" not in os.environ:
        from cryptography.fernet import Fernet

        os.environ["CREDENTIALS_KEYS"] = Fernet.generate_key().decode()


def percentile(values: list[float], fraction: float) -> float:
    """The value at `fraction` of the sorted values (nearest rank); 0 for no values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0

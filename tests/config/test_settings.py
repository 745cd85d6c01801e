"""Settings from the environment, and proof of which database and broker the suite used."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
EXPECT_SERVICES = os.environ.get("CI") == "true" or bool(
    os.environ.get("COUNTERWEIGHT_EXPECT_SERVICES")
)
SHOW = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'db': s.DATABASES['default']['ENGINE'], 'cache': s.CACHES['default']"
    "['BACKEND'], 'broker': s.CELERY_BROKER_URL}))"
)


def _run_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG"}}
    clean |= {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "VAR_DIR": str(tmp_path),
        "SECRET_KEY": settings.SECRET_KEY,
        "CREDENTIALS_KEYS": ",".join(settings.CREDENTIALS_KEYS),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", SHOW],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )


def test_defaults_need_no_server(tmp_path):
    shown = json.loads(_run_settings(tmp_path).stdout)
    assert shown == {
        "db": "django.db.backends.sqlite3",
        "cache": "django.core.cache.backends.filebased.FileBasedCache",
        "broker": "filesystem://",
    }


def test_database_and_redis_urls_switch_backends(tmp_path):
    shown = json.loads(
        _run_settings(
            tmp_path, DATABASE_URL="postgres://u@127.0.0.1/x", REDIS_URL="redis://127.0.0.1:6379/3"
        ).stdout
    )
    assert shown["db"] == "django.db.backends.postgresql"
    assert shown["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert shown["broker"] == "redis://127.0.0.1:6379/3"


def test_refuses_to_start_without_secret_key_when_debug_is_off(tmp_path):
    result = _run_settings(tmp_path, SECRET_KEY="", DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY is not set and DEBUG is off: refusing to start" in result.stderr


def test_refuses_to_start_without_credential_keys_when_debug_is_off(tmp_path):
    result = _run_settings(tmp_path, CREDENTIALS_KEYS="", DEBUG="0")
    assert result.returncode != 0
    assert "CREDENTIALS_KEYS is not set" in result.stderr


def test_debug_makes_development_secrets_under_var(tmp_path):
    result = _run_settings(tmp_path, SECRET_KEY="", CREDENTIALS_KEYS="", DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "credentials_keys").exists()


def test_bad_boolean_is_a_clear_error(tmp_path):
    result = _run_settings(tmp_path, DEBUG="maybe")
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_celery_speaks_json_only_with_time_limits():
    conf = celery_app.conf
    assert conf.accept_content == ["json"]
    assert conf.task_serializer == conf.result_serializer == "json"
    assert conf.task_time_limit == settings.CELERY_TASK_TIME_LIMIT > conf.task_soft_time_limit > 0
    assert conf.task_acks_late is True


@pytest.mark.skipif(not EXPECT_SERVICES, reason="CI proves PostgreSQL; here SQLite may serve")
def test_suite_runs_on_postgresql(db):
    assert os.environ["DATABASE_URL"].startswith("postgres")
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        assert "PostgreSQL" in cursor.fetchone()[0]


@pytest.mark.skipif(not EXPECT_SERVICES, reason="CI proves Redis; here the file cache may serve")
def test_suite_reaches_redis():
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    cache.set("counterweight-ci-probe", "pong", 10)
    assert cache.get("counterweight-ci-probe") == "pong"
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1)
        assert conn.transport_cls == "redis"

"""Caching headers and the health endpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import reverse

from config.middleware import NoStoreMiddleware

ROOT = Path(__file__).resolve().parents[2]


def test_a_response_that_sets_its_own_caching_keeps_it():
    def static_file(request: HttpRequest) -> HttpResponse:
        response = HttpResponse(b"js")
        response["Cache-Control"] = "max-age=315360000, public, immutable"
        return response

    response = NoStoreMiddleware(static_file)(HttpRequest())
    assert response["Cache-Control"] == "max-age=315360000, public, immutable"


def test_health_says_up_and_nothing_else(db):
    response = Client().get(reverse("health"))
    assert response.status_code == 200
    assert response.json() == {"status": "up"}
    assert response["Cache-Control"] == "no-store"


def test_health_says_down_when_the_database_does_not_answer(tmp_path):
    # A server on a port where nothing listens: the real failure, in a process of its own.
    code = (
        "import django, json; django.setup(); from django.test import Client; "
        "r = Client().get('/health/'); print(json.dumps([r.status_code, r.json()]))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:9/nothing",
        "VAR_DIR": str(tmp_path),
        "ALLOWED_HOSTS": "testserver",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    status, body = json.loads(done.stdout.strip().splitlines()[-1])
    assert (status, body) == (503, {"status": "down"})

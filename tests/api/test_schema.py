"""The OpenAPI schema is served and valid; schemathesis finds no server error in the API."""

from __future__ import annotations

import pytest
import schemathesis
from django.templatetags.static import static
from django.urls import reverse
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from accounts.api.tokens import create_api_token
from config.wsgi import application
from tests.api.conftest import bearer
from tests.conftest import login

SCHEMA_URL = "/api/schema/?format=json"


def test_the_schema_is_served_and_valid(tenants):
    response = bearer(tenants.bob).get(reverse("api:schema") + "?format=json")
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)  # against the OpenAPI 3.0 JSON schema
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "/api/alerts/{id}/acknowledge/" in schema["paths"]
    fields = {
        name for c in schema["components"]["schemas"].values() for name in c.get("properties", {})
    }
    assert not {name for name in fields if "credential" in name or "encrypted" in name}


def test_the_schema_needs_a_login(db):
    from rest_framework.test import APIClient

    assert APIClient().get(reverse("api:schema")).status_code == 401


def test_the_docs_page_loads_its_assets_locally_under_the_csp(tenants):
    client = login(tenants.bob)
    page = client.get(reverse("api:docs"))
    assert page.status_code == 200
    html = page.content.decode()
    assert static("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js") in html
    assert "<style" not in html and "<script>" not in html  # nothing inline
    assert "unsafe-inline" not in page["Content-Security-Policy"]
    script = client.get(reverse("api:docs") + "?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


def test_the_docs_page_needs_a_login(db):
    from django.test import Client

    response = Client().get(reverse("api:docs"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# Schemathesis: every operation, as an admin (sees all) and as an investor (sees a stake).


@pytest.fixture
def wsgi_keeps_the_test_connection():
    """Calls into the WSGI app must not close the test's connection (and its transaction)
    at the end of each request, as Django's own test client also arranges."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _schema_as(user, settings_):
    settings_.ALLOWED_HOSTS = ["localhost", "testserver"]
    settings_.WEBHOOK_ALLOW_PRIVATE_URLS = True  # no DNS look-ups for generated URLs
    # The fuzzer sends requests back to back: rates (tests/api/test_throttling.py) set aside.
    rates = {"token": "100000/second", "user": "100000/second"}
    settings_.REST_FRAMEWORK = {**settings_.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    raw = create_api_token(actor=user, owner=user, name="schemathesis").raw
    headers = {"Authorization": f"Bearer {raw}"}
    return schemathesis.openapi.from_wsgi(SCHEMA_URL, application, headers=headers), headers


@pytest.fixture
def admin_api(world, settings, wsgi_keeps_the_test_connection):
    return _schema_as(world.tenants.ada, settings)


@pytest.fixture
def investor_api(world, settings, wsgi_keeps_the_test_connection):
    return _schema_as(world.tenants.bob, settings)


FUZZ = settings(
    max_examples=6,
    deadline=None,
    derandomize=True,  # the same cases every run: a failure here is reproducible
    suppress_health_check=list(HealthCheck),
    database=None,
)
CHECKS = [not_a_server_error, response_schema_conformance]


def fuzz_every_operation(schema, headers) -> int:
    """Hypothesis over each operation of the schema; schemathesis's pytest plugin is not
    used (it does not run under pytest 9), its case generation and checks are."""
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:

        @FUZZ
        @given(case=operation.as_strategy())
        def check(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        check()
    return len(operations)


def test_the_api_has_no_server_error_for_an_admin(admin_api):
    assert fuzz_every_operation(*admin_api) >= 14


def test_the_api_has_no_server_error_for_an_investor(investor_api):
    assert fuzz_every_operation(*investor_api) >= 14

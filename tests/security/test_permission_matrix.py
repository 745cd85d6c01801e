"""Walks tests/security/matrix.py: every URL × every role × own or other tenant's object."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.contrib import admin
from django.http import HttpResponseBase
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.conftest import login
from tests.security.conftest import World
from tests.security.matrix import ADMIN_LOGIN, ROLES, Objects, Redirect, Row, Status, all_rows

ROWS = all_rows()


def url_keys(resolver: URLResolver, namespace: str = "", prefix: str = "") -> Iterator[str]:
    """Every pattern's URL name ("ns:name"), or its path when it has no name."""
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from url_keys(pattern, inner, route)
        elif isinstance(pattern, URLPattern):
            # Unnamed: "/favicon.ico", or "admin:/admin/..." inside a namespace.
            yield f"{namespace}{pattern.name}" if pattern.name else f"{namespace}/{route}"


def covered_elsewhere(key: str) -> bool:
    # The admin's own pages are admin-only as a whole: the table samples them and
    # test_every_admin_page_sends_non_staff_to_the_admin_login tries all that take no argument.
    # Static files are public by design.
    return key.startswith("admin:") or key.startswith("/" + settings.STATIC_URL.lstrip("/"))


def project_url_keys() -> set[str]:
    return set(url_keys(get_resolver()))


def test_every_url_of_the_project_has_a_row():
    rows = {row.name for row in ROWS}
    missing = sorted(k for k in project_url_keys() - rows if not covered_elsewhere(k))
    assert not missing, f"URLs without a row in tests/security/matrix.py: {missing}"


def test_every_row_names_a_url_that_exists():
    stale = sorted({row.name for row in ROWS} - project_url_keys())
    assert not stale, f"rows for URLs that no longer exist: {stale}"


def test_rows_are_unique():
    names = [row.name for row in ROWS]
    assert len(names) == len(set(names))


def cases() -> Iterator[object]:
    for row in ROWS:
        for method in row.expectations():
            for role in ROLES:
                for side in ("own", "other") if row.kwargs else ("own",):
                    yield pytest.param(
                        row, method, role, side, id=f"{row.name}-{method}-{role}-{side}"
                    )


def url_of(row: Row, objects: Objects) -> str:
    if row.name.startswith("/"):
        return row.name
    return reverse(row.name, kwargs=row.kwargs(objects) if row.kwargs else None)


def answers(response: HttpResponseBase, expected: Status) -> bool:
    if isinstance(expected, Redirect):
        location = urlparse(response.get("Location", "")).path
        return response.status_code == 302 and location == reverse(expected.to)
    if isinstance(expected, frozenset):
        return response.status_code in expected
    return response.status_code == expected


def send(client: Client, method: str, url: str, row: Row) -> HttpResponseBase:
    if method == "GET":
        return client.get(url)
    if row.content_type:
        return client.post(url, row.data, content_type=row.content_type)
    return client.post(url, row.data)


def client_for(role: str, world: World) -> Client:
    return Client() if role == "anonymous" else login(world.users[role])


@pytest.mark.parametrize(("row", "method", "role", "side"), list(cases()))
def test_every_url_answers_each_role_as_the_table_says(db, matrix_world, row, method, role, side):
    expected = row.expectations()[method].status(role, side)
    url = url_of(row, matrix_world.own if side == "own" else matrix_world.other)
    client = client_for(role, matrix_world)
    response = send(client, method, url, row)
    got = f"{response.status_code} {response.get('Location', '')}".strip()
    assert answers(response, expected), f"{method} {url} as {role}: got {got}, want {expected!r}"
    # Nothing a URL answers may be kept by a browser or a proxy (config.middleware).
    assert "no-store" in response.get("Cache-Control", ""), f"{method} {url}: {response.headers}"


def admin_pages_without_arguments() -> list[str]:
    """Every admin page reverse() can build bare: index, each model's list and add page."""
    names = ["admin:index"]
    for model in admin.site._registry:
        names += [f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}"
                  for page in ("changelist", "add")]  # fmt: skip
    return names


@pytest.mark.parametrize("role", ["investor", "manager"])
def test_every_admin_page_sends_non_staff_to_the_admin_login(db, matrix_world, role):
    client = login(matrix_world.users[role])
    wrong = {}
    for name in admin_pages_without_arguments():
        response = client.get(reverse(name))
        if not answers(response, ADMIN_LOGIN):
            wrong[name] = response.status_code
    assert not wrong, f"admin pages a {role} reaches: {wrong}"

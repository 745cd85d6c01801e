"""No input gives a 500: every URL of the project with odd ids, slugs and dates, as an admin
(who reaches every view) and as an investor (who reaches the read-only ones)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.conftest import login

ODD_VALUES = ["99999999999999999999999", "9223372036854775808", "0", "²", "١٢", "-1", "x" * 300]
ODD_QUERIES = [
    "at=2024-13-45",
    "at=²⁰²⁴-01-01",
    "from=2024-02-30&to=yesterday",
    "since=99999999999999999999999&page=²",
    "portfolio=%00&state=%ff",
    "format=../../etc",
]
PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>|\(\?P<(?P<group>\w+)>[^)]*\)")


def routes(resolver: URLResolver | None = None, prefix: str = "") -> Iterator[str]:
    """Every route of the project as text: `<int:pk>` and `(?P<pk>...)` left in place."""
    for pattern in (resolver or get_resolver()).url_patterns:
        text = prefix + str(pattern.pattern).lstrip("^").rstrip("$").replace("\\", "")
        if isinstance(pattern, URLResolver):
            yield from routes(pattern, text)
        elif isinstance(pattern, URLPattern) and "format" not in text and "static" not in text:
            yield text


def filled(route: str, value: str) -> str | None:
    """The route with every parameter `value`, if the route's converters accept it."""

    def fill(match: re.Match[str]) -> str:
        converter = match.group("converter")
        if converter == "int" and not (value.isascii() and value.isdigit()):
            raise ValueError
        if converter == "slug" and not re.fullmatch(r"[-a-zA-Z0-9_]+", value):
            raise ValueError
        return value

    try:
        return "/" + PARAMETER.sub(fill, route).lstrip("/")
    except ValueError:
        return None


def odd_urls(route: str) -> list[str]:
    """The route with each odd value, or, without parameters, with each odd query."""
    if PARAMETER.search(route):
        return sorted({url for value in ODD_VALUES if (url := filled(route, value))})
    return [f"/{route.lstrip('/')}?{query}" for query in ODD_QUERIES]


@pytest.fixture
def clients(tenants):
    return {"admin": login(tenants.ada), "investor": login(tenants.bob)}


@pytest.mark.parametrize("route", sorted(set(routes())))
def test_no_odd_input_gives_a_server_error(clients, route):
    failures = [
        f"{method.__name__.upper()} {url} as {role}: {status}"
        for url in odd_urls(route)
        for role, client in clients.items()
        for method in (client.get, client.post)
        if (status := method(url).status_code) >= 500
    ]
    assert not failures, "\n".join(failures)

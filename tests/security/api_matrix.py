"""The API's rows of the permission matrix (tests/security/matrix.py, same Row shape).

The matrix signs in through the session (tests.conftest.login), which the API also accepts;
tests/api covers bearer tokens. An anonymous API request is a 401 (the bearer challenge),
not a redirect to the login page; the token page and the docs page are pages, so they are.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from accounts.api.tokens import create_api_token
from accounts.models import Role, User
from riskmodels.models import WebhookEndpoint
from tests.security.matrix import LOGIN, Expect, Objects, Redirect, Row, both, slug

NO_AUTH = both(401)


def api_reader(ok: int) -> Expect:
    return Expect(anonymous=NO_AUTH, investor=(ok, 404), manager=(ok, 404), admin=both(ok))


def api_manager_only(ok: int | frozenset[int]) -> Expect:
    return Expect(anonymous=NO_AUTH, investor=both(404), manager=(ok, 404), admin=both(ok))


def api_signed_in(ok: int) -> Expect:
    return Expect(anonymous=NO_AUTH, investor=both(ok), manager=both(ok), admin=both(ok))


def location(o: Objects) -> dict[str, Any]:
    return {"pk": o.location.pk}


def exposure(o: Objects) -> dict[str, Any]:
    return {"pk": o.exposure.pk}


def alert(o: Objects) -> dict[str, Any]:
    return {"pk": o.alert.pk}


def webhook(o: Objects) -> dict[str, Any]:
    """The tenant's webhook endpoint, made on first use (Objects has none)."""
    endpoint, _ = WebhookEndpoint.objects.get_or_create(
        portfolio=o.portfolio,
        defaults={"url": "https://example.com/hook", "secret_encrypted": "unused"},
    )
    return {"pk": endpoint.pk}


def token(o: Objects) -> dict[str, Any]:
    """A token of the tenant's investor: "own" is bob's (fund A), "other" dora's (fund B)."""
    reach = Q(stakes__portfolio=o.portfolio) | Q(grants__portfolio=o.portfolio)
    people = User.objects.filter(reach).order_by("pk")
    owner = people.filter(role=Role.INVESTOR).first() or people.first()
    assert owner is not None, "every portfolio of the matrix has people"
    return {"pk": create_api_token(actor=owner, owner=owner, name="matrix").token.pk}


API_ROWS: list[Row] = [
    Row("api:portfolio-list", get=api_signed_in(200)),
    Row("api:portfolio-detail", slug, get=api_reader(200)),
    Row("api:location-list", slug, get=api_reader(200)),
    Row("api:location-detail", location, get=api_reader(200)),
    Row("api:holding-list", slug, get=api_reader(200)),
    Row("api:exposure-list", slug, get=api_reader(200)),
    Row("api:exposure-latest", slug, get=api_reader(200)),
    Row("api:exposure-detail", exposure, get=api_reader(200)),
    Row("api:stress", slug, get=api_reader(200)),
    Row("api:alert-list", get=api_signed_in(200)),
    Row("api:alert-detail", alert, get=api_reader(200)),
    Row(
        "api:alert-acknowledge",
        alert,
        get=api_signed_in(405),
        post=api_manager_only(frozenset({200, 400})),  # 400: resolved meanwhile
        data={"reason": "matrix"},
    ),
    Row(
        "api:webhook-list",
        slug,
        get=api_manager_only(200),
        post=api_manager_only(frozenset({201, 400})),  # 400: a private URL is refused
        data={"url": "https://127.0.0.1/hook"},
    ),
    Row("api:webhook-detail", webhook, get=api_manager_only(200)),
    Row("api:webhook-deliveries", webhook, get=api_manager_only(200)),
    Row("api:schema", get=api_signed_in(200)),
    Row(
        "api:docs",
        get=Expect(anonymous=both(LOGIN), investor=both(200), manager=both(200), admin=both(200)),
    ),
    Row(
        "api:tokens",
        get=Expect(anonymous=both(LOGIN), investor=both(200), manager=both(200), admin=both(200)),
        post=Expect(anonymous=both(LOGIN), investor=both(200), manager=both(200), admin=both(200)),
        data={"name": "matrix"},
    ),
    Row(
        "api:revoke_token",
        token,
        get=Expect(anonymous=both(LOGIN), investor=both(405), manager=both(405), admin=both(405)),
        # Only the owner revokes here (admins use the Django admin): everyone else gets 404.
        post=Expect(
            anonymous=both(LOGIN),
            investor=(Redirect("api:tokens"), 404),
            manager=both(404),
            admin=both(404),
        ),
    ),
]

__all__ = ["API_ROWS"]

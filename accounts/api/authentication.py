"""`Authorization: Bearer <token>` for the API (tokens: accounts.api.tokens)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from accounts.api.tokens import user_for_token

if TYPE_CHECKING:
    from accounts.models import ApiToken, User

KEYWORD = b"bearer"


class BearerTokenAuthentication(BaseAuthentication):
    """A request with a bearer token is authenticated by it alone: a wrong token is a 401,
    never a fall-back to the session (so the session's two-factor state plays no part)."""

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send `Authorization: Bearer <token>`.")
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        found = user_for_token(raw)
        if found is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        return found

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (with this challenge) rather than 403 to an anonymous request.
        return 'Bearer realm="api"'


def is_bearer_request(request: HttpRequest) -> bool:
    """Whether the request carries a bearer token (accounts.middleware skips two-factor)."""
    return request.headers.get("Authorization", "").lower().startswith("bearer ")


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Describes the scheme in the OpenAPI schema (drf-spectacular finds it by subclassing)."""

    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A personal API token."}

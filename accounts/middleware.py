"""Two-factor enforcement for every page, the Django admin included."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from rest_framework.views import APIView

from accounts.api.authentication import BearerTokenAuthentication, is_bearer_request
from accounts.two_factor import SETUP_URL_NAME, VERIFY_URL_NAME, pending_step

# The only pages a signed-in user who still owes a code may reach.
OPEN_WHILE_PENDING = frozenset({SETUP_URL_NAME, VERIFY_URL_NAME, "accounts:logout"})


class TwoFactorMiddleware:
    """Sends a signed-in user who owes a TOTP code (accounts.two_factor) to set up or verify.

    Goes after django_otp's OTPMiddleware, which tells whether this session was verified.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        # Django resolves the URL before process_view, so this is set; were it not, the page
        # would count as none of the open ones and the check below would still apply.
        match = request.resolver_match
        if match is not None and match.view_name in OPEN_WHILE_PENDING:
            return None
        if _authenticated_by_token(request, view):
            return None
        step = pending_step(request.user)
        if step is None:
            return None
        return redirect_to_login(request.get_full_path(), resolve_url(step))


def _authenticated_by_token(request: HttpRequest, view: Callable[..., Any]) -> bool:
    """An API view called with a bearer token: the token is the whole credential there.

    When bearer authentication comes first, DRF authenticates such a request by the token
    alone (a wrong one is a 401, never a fall-back to the session), so a session that owes a
    code gains nothing by it. Plain Django views, the token page included, and API views that
    put session authentication first still check the session's two-factor step.
    """
    view_class = getattr(view, "cls", None)
    if not (isinstance(view_class, type) and issubclass(view_class, APIView)):
        return False
    schemes = list(view_class.authentication_classes)
    return bool(schemes) and schemes[0] is BearerTokenAuthentication and is_bearer_request(request)

"""API request rates, per token and per user (README, "API").

A token is limited on its own (API_RATE_PER_TOKEN), and all of a user's requests together,
every token and the browser session included, on theirs (API_RATE_PER_USER): a leaked token
or a runaway script cannot take the server's capacity from everyone else. Over the rate, the
answer is 429 with Retry-After. Counts live in the default cache (Redis in production).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle

from accounts.models import ApiToken

if TYPE_CHECKING:  # rest_framework.views loads this module while it is being loaded
    from rest_framework.request import Request
    from rest_framework.views import APIView


class RatesFromSettings:
    """The rate read when a request comes, not when the class was defined, so that a change
    of settings (a test, a reload) applies."""

    scope: str

    def get_rate(self) -> str | None:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        return None if rate is None else str(rate)


class TokenRateThrottle(RatesFromSettings, SimpleRateThrottle):
    scope = "token"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if not isinstance(request.auth, ApiToken):
            return None  # not a token request: the per-user rate applies alone
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class PerUserRateThrottle(RatesFromSettings, UserRateThrottle):
    """Every request of one user, whatever the credential; anonymous ones by address."""

    scope = "user"

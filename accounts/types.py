"""Types for annotations only: what a request looks like once the login middleware let it in."""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework.request import Request

from accounts.models import User


class AuthenticatedRequest(HttpRequest):
    """A request of a logged-in user: `user` is a User, never AnonymousUser.

    Every page but the login pages is behind login (accounts.middleware), so views annotate
    their request with this instead of testing `is_authenticated` again. Never instantiated.
    """

    user: User


class AuthenticatedApiRequest(Request):
    """An API request past authentication: every API view requires IsAuthenticated."""

    user: User

"""Responses that carry fund figures are never stored by a browser or a proxy."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every response that does not set its own caching.

    Pages, exports and API answers all carry figures or are personal; a shared proxy or the
    browser's disk cache must keep none of them (ASVS 8.2.1). Static files set their own
    long-lived Cache-Control (they are public and named by hash) and are left alone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response

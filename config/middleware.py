"""Responses that carry fund figures are never stored by a browser or a proxy; requests
carrying NUL characters are refused before any view."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest


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


class RejectNulMiddleware:
    """A 400 for a NUL character in the path, the query or a form field.

    No name, code or figure contains one, PostgreSQL cannot store one in text, and code that
    reads such a value (a form's initial data, int()) fails in ways each view would otherwise
    have to foresee.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _carries_nul(request):
            return HttpResponseBadRequest("NUL characters are not accepted.")
        return self.get_response(request)


def _carries_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path:
        return True
    fields = [*request.GET.lists()]
    if request.method == "POST" and request.content_type != "application/json":
        fields += request.POST.lists()  # JSON bodies are parsed, and checked, by DRF
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in fields)

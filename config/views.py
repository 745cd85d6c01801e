from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse


def health(request: HttpRequest) -> JsonResponse:
    """For load balancers and the demo's start-up wait: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})


def no_favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on every page, the admin's included: answer "none"
    instead of a 404 in every log and console."""
    return HttpResponse(status=204)

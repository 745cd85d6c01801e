from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse

log = logging.getLogger(__name__)


def health(request: HttpRequest) -> JsonResponse:
    """For load balancers and the demo's start-up wait: up when the database answers, down
    (503) otherwise. It says nothing else: no vendor, version or error to a stranger."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        log.exception("health check: the database does not answer")
        return JsonResponse({"status": "down"}, status=503)
    return JsonResponse({"status": "up"})


def no_favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on every page, the admin's included: answer "none"
    instead of a 404 in every log and console."""
    return HttpResponse(status=204)

"""Answers for the moments when the database is away (a restart, a failover)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


class DatabaseUnavailableMiddleware:
    """A lost database connection is the server's trouble, not the client's and not a
    bug: answer 503 with ``Retry-After`` (JSON for the API, a page otherwise) instead of a
    500, and drop the broken connection so the next request reconnects. Nothing was
    written: every write runs in a transaction that the error rolled back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        if not _connection_lost():
            return None  # e.g. a lock timeout: a real error, let it surface
        logger.warning("database unavailable: %s", exception.__class__.__name__)
        message = _("The service is briefly unavailable. Please try again in a few seconds.")
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse(
                {"code": "unavailable", "message": message, "fields": {}}, status=503
            )
        else:
            response = HttpResponse(
                render_to_string("503.html", {"message": message}, request=None), status=503
            )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


def _connection_lost() -> bool:
    """Whether the default connection is broken; it is closed, so the next query
    reconnects."""
    connection = connections["default"]
    try:
        usable = connection.connection is not None and connection.is_usable()
    except DatabaseError:
        usable = False
    if not usable:
        with contextlib.suppress(DatabaseError):
            connection.close()
    return not usable

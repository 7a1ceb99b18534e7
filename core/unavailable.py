"""The answer for a moment when the database is away (a restart, a failover): 503 with
``Retry-After`` (JSON for the API, a page otherwise), never a 500. One home, used by the
view-level middleware (supportdesk.middleware) and by any middleware that reads the
database before the view (the second-factor check)."""

from __future__ import annotations

import contextlib
import logging

from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

logger = logging.getLogger("supportdesk.middleware")

RETRY_AFTER_SECONDS = 5


def database_unavailable(request: HttpRequest, exception: BaseException) -> HttpResponse | None:
    """The 503 for ``exception`` when it means the connection is lost (the broken
    connection is closed, so the next request reconnects); None for any other error (a
    lock timeout is a real error and should surface)."""
    if not isinstance(exception, OperationalError | InterfaceError):
        return None
    if not _connection_lost():
        return None
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

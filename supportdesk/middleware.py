"""Answers for the moments when the database is away (a restart, a failover), and for
methods a resource does not serve."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _

from core.api_errors import error_body
from core.unavailable import RETRY_AFTER_SECONDS, database_unavailable

__all__ = ["RETRY_AFTER_SECONDS", "DatabaseUnavailableMiddleware", "MethodNotAllowedMiddleware"]


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
        return database_unavailable(request, exception)


# What every page and API view of the site may answer; TRACE and CONNECT none serves.
_SITE_METHODS = ("GET", "HEAD", "OPTIONS", "POST")


class MethodNotAllowedMiddleware:
    """A method the addressed resource does not serve answers 405 with ``Allow``, before
    anything else (sign-in, second factor, permissions) looks at the request: TRACE to an
    API operation is "not allowed", never "not found" or "not signed in".

    A class-based view (every API operation, most pages) says which methods it serves;
    a function view is taken to serve the site's usual ones, so only TRACE, CONNECT and
    methods outside HTTP's usual set are answered here. A path that matches nothing keeps
    its 404 (under /api/v1/, the JSON one)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        allowed = _allowed_methods(request)
        if allowed is None or request.method in allowed:
            return self.get_response(request)
        method = request.method or ""
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse(
                error_body(
                    "method_not_allowed",
                    _('Method "%(method)s" not allowed.') % {"method": method[:20]},
                ),
                status=405,
            )
        else:
            response = HttpResponseNotAllowed(allowed)
        response["Allow"] = ", ".join(allowed)
        return response


def _allowed_methods(request: HttpRequest) -> list[str] | None:
    """The methods the resolved view serves, or ``None`` when nothing resolves (or it is
    the API's catch-all 404)."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    if match.url_name == "not-found" and match.namespace == "api":
        return None
    view_class = getattr(match.func, "view_class", None)
    if view_class is None:
        if request.method in ("PUT", "PATCH", "DELETE"):
            return None  # a function view may serve them: it decides
        return list(_SITE_METHODS)
    served = [m.upper() for m in view_class.http_method_names if hasattr(view_class, m)]
    if "GET" in served and "HEAD" not in served:
        served.append("HEAD")  # View.setup serves HEAD with get()
    order = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
    return sorted(served, key=lambda m: order.index(m) if m in order else len(order))

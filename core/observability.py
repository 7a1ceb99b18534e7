"""What every log line knows about the request it belongs to: its id, the organization
and the ticket number. One middleware binds them, a logging filter puts them on every
record, and a JSON formatter writes one object per line in production.

The values live in context variables, so a log call deep inside a service needs no
request argument, and a Celery task can ``bind`` its own ticket the same way.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse

from core import metrics

_request_id: ContextVar[str] = ContextVar("request_id", default="")
_organization: ContextVar[str] = ContextVar("organization", default="")
_ticket: ContextVar[str] = ContextVar("ticket", default="")
_VARS = {"request_id": _request_id, "organization": _organization, "ticket": _ticket}

# A caller's (load balancer's) request id is kept when it is a sane token: it ties our
# lines to theirs. Anything else is replaced, never logged as sent (log injection).
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
REQUEST_ID_HEADER = "X-Request-ID"

access_log = logging.getLogger("supportdesk.request")


def current() -> dict[str, str]:
    """The bound context, for log records and error reports."""
    return {name: var.get() for name, var in _VARS.items()}


def bind(**values: object) -> None:
    """Add to the current context (e.g. the organization of an API key, once known)."""
    for name, value in values.items():
        if value is not None and name in _VARS:
            _VARS[name].set(str(value))


@contextmanager
def bound(**values: object) -> Iterator[None]:
    """A context for a block of work outside a request (a task, a command)."""
    tokens: list[tuple[ContextVar[str], Token[str]]] = [
        (_VARS[name], _VARS[name].set(str(value)))
        for name, value in values.items()
        if value is not None and name in _VARS
    ]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class RequestContextMiddleware:
    """Binds the request id (and, once the URL is resolved, the organization slug and
    ticket number from its kwargs), echoes the id in the response, writes one access log
    line and records the request's latency for the metrics endpoint."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _INCOMING_ID.match(incoming) else uuid.uuid4().hex
        started = time.perf_counter()
        with bound(request_id=request_id, organization="", ticket=""):
            response = self.get_response(request)
            seconds = time.perf_counter() - started
            route = _route(request)
            response[REQUEST_ID_HEADER] = request_id
            metrics.observe_request(request.method or "", route, response.status_code, seconds)
            path = redacted_path(request)
            access_log.info(
                "%s %s %s %.1fms",
                request.method,
                path,
                response.status_code,
                seconds * 1000,
                extra={
                    "http": {
                        "method": request.method,
                        "path": path,
                        "route": route,
                        "status": response.status_code,
                        "duration_ms": round(seconds * 1000, 1),
                    }
                },
            )
        return response

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> None:
        bind(organization=view_kwargs.get("org"), ticket=view_kwargs.get("number"))


# URL parts that are secrets (a password-reset token, a signed rating link): never
# logged. A URL pattern names them with one of these parameter names.
SECRET_URL_PARAMETERS = frozenset({"token", "uidb64", "signature"})
REDACTED = "[redacted]"


def redacted_path(request: HttpRequest) -> str:
    """The request's path with every secret URL parameter replaced by ``[redacted]``
    (replaying a logged reset link set a new password: probe finding, issue 17)."""
    path = request.path
    match = getattr(request, "resolver_match", None)
    if match is None:
        return path
    for name, value in match.kwargs.items():
        if name in SECRET_URL_PARAMETERS and isinstance(value, str) and value:
            path = path.replace(value, REDACTED)
    return path


def _route(request: HttpRequest) -> str:
    """The URL pattern's name: a bounded label (paths would carry ids)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.view_name or match.route or "unnamed"


class ContextFilter(logging.Filter):
    """Puts the bound context on every record (empty strings outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Django's own request log ("Not Found: /accounts/reset/…/") carries the path
        # in its arguments: redacted like the access log's.
        request = getattr(record, "request", None)
        if request is not None and isinstance(record.args, tuple) and record.args:
            path = getattr(request, "path", None)
            if isinstance(path, str) and path:
                safe = redacted_path(request)
                if safe != path:
                    record.args = tuple(safe if arg == path else arg for arg in record.args)
        for name, value in current().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        # For the plain format: " [<id>]" inside a request, nothing outside one. Set as
        # logging sets ``extra=`` fields: into the record's __dict__.
        request_id = getattr(record, "request_id", "")
        record.__dict__["request_tag"] = f" [{request_id}]" if request_id else ""
        return True


# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "request_tag",
    *_VARS,
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request context and
    whatever the call passed in ``extra``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _VARS:
            value = getattr(record, name, "")
            if value:
                entry[name] = value
        for name, value in record.__dict__.items():
            if name not in _STANDARD and not name.startswith("_"):
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)

"""Where a change came from (channel, address, request id), known once per request by
``AuditContextMiddleware``, so a service deep down needs no request argument to record it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse

from audit.actions import Channel
from core import observability


@dataclass(frozen=True, slots=True)
class Origin:
    channel: str = Channel.SYSTEM
    ip: str | None = None


# A frozen dataclass: the default is shared but can never change.
_origin: ContextVar[Origin] = ContextVar("audit_origin", default=Origin())  # noqa: B039
# The request being answered: who acts is read from it when needed (the authentication
# middleware runs after this one, so the user is not known yet when it is bound).
_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)

_PREFIXES = (
    ("/api/", Channel.API),
    ("/admin/", Channel.ADMIN),
    ("/desk/", Channel.DESK),
    ("/portal/", Channel.PORTAL),
)


def channel_for_path(path: str) -> str:
    for prefix, channel in _PREFIXES:
        if path.startswith(prefix):
            return channel
    return Channel.WEB


def origin() -> Origin:
    return _origin.get()


@contextmanager
def acting_from(channel: str, ip: str | None = None) -> Iterator[None]:
    """For work outside a request that still has a channel (a command, a test)."""
    token = _origin.set(Origin(channel=channel, ip=ip))
    try:
        yield
    finally:
        _origin.reset(token)


def acting_user() -> object | None:
    """The signed-in person of the request being answered, or None (no request, or
    nobody signed in): for a change deep in a model's save with no actor argument."""
    request = _request.get()
    user = getattr(request, "user", None) if request is not None else None
    return user if getattr(user, "is_authenticated", False) else None


def request_id() -> str:
    return observability.current().get("request_id", "")


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # REMOTE_ADDR only: a forwarded header is the client's word, not a fact.
        token = _origin.set(
            Origin(channel=channel_for_path(request.path), ip=request.META.get("REMOTE_ADDR"))
        )
        request_token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(request_token)
            _origin.reset(token)

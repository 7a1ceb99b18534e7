"""Activates the signed-in person's time zone for the request (tenants.zones)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from datetime import UTC

from django.db import Error as DatabaseFailure
from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone

from tenants.models import User
from tenants.zones import zone_for


class UserTimeZoneMiddleware:
    """After AuthenticationMiddleware: every time a page draws reads in the reader's zone.
    The portal's views narrow a customer's zone to the organization in the URL
    (tenants.access.tenant_view)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        try:
            timezone.activate(zone_for(request.user, look_up_organization=False))
        except DatabaseFailure:
            # The database is gone: the view's own query meets it again and
            # DatabaseUnavailableMiddleware answers 503 (an error raised here, outside
            # the view, would bypass it and answer 500).
            timezone.activate(UTC)
        try:
            return self.get_response(request)
        finally:
            # The active zone is thread-local; the thread serves the next request too.
            timezone.deactivate()

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponseBase],
        view_args: tuple[object, ...],
        view_kwargs: dict[str, object],
    ) -> None:
        """A customer without a zone of their own reads their organization's. Portal
        routes name the organization (``org``) and tenant_view activates its zone, so the
        look-up is only for the other pages."""
        # A lost database, as above: the view's own query answers 503.
        with suppress(DatabaseFailure):
            user = request.user
            if (
                isinstance(user, User)
                and user.is_authenticated
                and not user.time_zone
                and not user.is_agent
                and "org" not in view_kwargs
            ):
                timezone.activate(zone_for(user))

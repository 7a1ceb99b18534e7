"""Who a sign-in attempt is for, as the lockout counts it (django-axes).

Failures are counted per account, not per spelling: ``Admin@Contoso.example``,
``admin@contoso.example `` and ``ADMIN@CONTOSO.EXAMPLE`` are one account (addresses are
stored lower-cased, tenants.models.User.clean), so trying each case variant buys no
further guesses. Used by every form that takes a password: the portal and desk sign-in
and the Django admin's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest


def normalised_username(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip().casefold() or None


def axes_username(request: HttpRequest, credentials: Mapping[str, Any] | None) -> str | None:
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials and field in credentials:
        return normalised_username(credentials.get(field))
    data = getattr(request, "data", None) or request.POST
    return normalised_username(data.get(field))

"""System checks: a bad PIN policy or SMS setting fails at start-up, not on the first call."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured

from verification import pins
from verification.delivery import HttpSmsBackend, get_sms_backend, http_backend_problem


@register()
def pin_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    try:
        pins.PinPolicy.from_settings(asdict(settings.SUPPORTDESK))
    except ValueError as exc:
        errors.append(
            Error(
                f"The PIN policy in settings.SUPPORTDESK is invalid: {exc}", id="verification.E001"
            )
        )
    dotted = getattr(settings, "SMS_BACKEND", "") or ""
    try:
        get_sms_backend(dotted or None)
    except ImproperlyConfigured as exc:
        problem = str(exc)
        if dotted and dotted.endswith(HttpSmsBackend.__name__):
            problem = (
                http_backend_problem(
                    getattr(settings, "SMS_HTTP_URL", "") or "",
                    getattr(settings, "SMS_HTTP_TOKEN", "") or "",
                )
                or problem
            )
        errors.append(Error(problem, id="verification.E002"))
    return errors

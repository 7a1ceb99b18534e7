"""Passkeys through django-otp-webauthn, as a second step only (never instead of the
password: ``OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False``).

The relying party is the host the request came to, which Django already checked against
``ALLOWED_HOSTS``; the expected origin is that same host and scheme. The browser
refuses a passkey ceremony for any other origin, and the server refuses a response
signed for any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.http.request import split_domain_port
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp_webauthn import exceptions
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.models import WebAuthnCredential
from django_otp_webauthn.utils import rewrite_exceptions
from django_otp_webauthn.views import (
    BeginCredentialAuthenticationView,
    BeginCredentialRegistrationView,
    CompleteCredentialAuthenticationView,
    CompleteCredentialRegistrationView,
    _get_pywebauthn_logger,
)

from mfa import services


def relying_party_id(request: HttpRequest) -> str:
    domain, _port = split_domain_port(request.get_host())
    return domain


class PasskeyHelper(WebAuthnHelper):
    def get_allowed_origins(self) -> list[str]:
        return [f"{self.request.scheme}://{self.request.get_host()}"]

    def create_credential(self, user: Any, *args: Any, **kwargs: Any) -> WebAuthnCredential:
        """Named, so the security page and the audit trail can tell passkeys apart."""
        device: WebAuthnCredential = super().create_credential(user, *args, **kwargs)
        number = WebAuthnCredential.objects.filter(user=user).count() + 1
        device.name = _("Passkey %(number)s") % {"number": number}
        return device


class _ParsedBody:
    """The library parses the body with ``json.loads`` and turns only a JSONDecodeError
    into its 400: a body that is not UTF-8 (NUL bytes, another encoding) raised a
    UnicodeDecodeError, a 500. Any body that does not read as a JSON object is the same
    malformed request here."""

    def _parse_request_data(self, request: HttpRequest) -> Any:
        try:
            data = super()._parse_request_data(request)  # type: ignore[misc]
        except ValueError as error:  # UnicodeDecodeError, JSONDecodeError
            raise exceptions.MalformedRequest() from error
        if not isinstance(data, Mapping):
            raise exceptions.MalformedRequest()
        return data


class PasskeyRegistrationBegin(_ParsedBody, BeginCredentialRegistrationView):
    pass


class PasskeyAuthenticationBegin(_ParsedBody, BeginCredentialAuthenticationView):
    pass


class PasskeyAuthenticationComplete(_ParsedBody, CompleteCredentialAuthenticationView):
    pass


class PasskeyRegistrationComplete(_ParsedBody, CompleteCredentialRegistrationView):
    """The library's registration step, with the audit row written in the same
    transaction as the new passkey (``mfa.services.passkey_add``)."""

    def post(self, *args: Any, **kwargs: Any) -> JsonResponse:
        user = self.get_user()
        state = self.get_state()
        with rewrite_exceptions(logger=_get_pywebauthn_logger()):
            device = services.passkey_add(
                user=user,
                helper=self.get_helper(),
                state=state,
                data=self.request.data,
                now=timezone.now(),
            )
            # A first factor counts as passed in the session that created it (as the
            # library does); a session verified with another factor keeps that one.
            if not self.request.user.is_verified():
                otp_login(self.request, device)
        return JsonResponse({"id": device.pk})

"""``/accounts/passkeys/`` (namespace ``otp_webauthn``, which the library's template tags
reverse): django-otp-webauthn's JSON endpoints, each reading its body strictly (a body
that is no JSON object is a 400, ``mfa.passkeys``), with registration completed by
``mfa.passkeys.PasskeyRegistrationComplete`` so the audit row is written with it."""

from django.urls import path
from django.views.i18n import JavaScriptCatalog

from mfa.passkeys import (
    PasskeyAuthenticationBegin,
    PasskeyAuthenticationComplete,
    PasskeyRegistrationBegin,
    PasskeyRegistrationComplete,
)

app_name = "otp_webauthn"

urlpatterns = [
    path(
        "registration/begin/",
        PasskeyRegistrationBegin.as_view(),
        name="credential-registration-begin",
    ),
    path(
        "registration/complete/",
        PasskeyRegistrationComplete.as_view(),
        name="credential-registration-complete",
    ),
    path(
        "authentication/begin/",
        PasskeyAuthenticationBegin.as_view(),
        name="credential-authentication-begin",
    ),
    path(
        "authentication/complete/",
        PasskeyAuthenticationComplete.as_view(),
        name="credential-authentication-complete",
    ),
    path(
        "jsi18n/",
        JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]),
        name="js-i18n-catalog",
    ),
]

"""Single sign-on for support staff over OpenID Connect (issue 17), on mozilla-django-oidc.

The provider vouches for an e-mail address; the desk decides who that is. Only an existing,
active agent or supervisor whose address the provider has verified signs in: nobody is
created, customers keep signing in with their password, and a refusal says why on the
sign-in page. It is one factor, like a password: the second factor the desk asks staff
for still applies after it (nothing here marks the session as verified).

Configured from the environment (settings.py "Single sign-on"); with no client id there
are no routes and no button. The provider's endpoints are either given or read from its
discovery document on first use (cached for an hour).

Signing out of a session the provider opened ends the provider's session too
(RP-initiated logout): the browser is sent to its end-session endpoint with the ID token
kept at sign-in, and comes back to the sign-in page. Otherwise the next "Sign in with …"
on a shared computer would sign the previous person straight back in.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlencode

import httpx
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.decorators import method_decorator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.generic import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import absolutify, import_from_settings
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
    OIDCLogoutView,
)

from audit.actions import Action
from audit.services import record
from core.refusals import Refused
from tenants.models import User

# The settings mozilla-django-oidc reads for the provider's endpoints, and the discovery
# document's names for them (OpenID Connect Discovery 1.0, section 3).
PROVIDER_ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}
DISCOVERY_SECONDS = 3600
# Where the provider ends its own session (OpenID Connect RP-Initiated Logout 1.0, 2.1).
END_SESSION_DISCOVERED = "end_session_endpoint"
# The backend that opened a single sign-on session, as Django keeps it in the session.
BACKEND_PATH = "supportdesk.sso.StaffOIDCBackend"
# Where mozilla-django-oidc keeps the ID token (OIDC_STORE_ID_TOKEN): the id_token_hint.
ID_TOKEN_SESSION_KEY = "oidc_id_token"

NOT_STAFF = _(
    "Single sign-on is for support staff only, and %(email)s is not the address of an "
    "active agent or supervisor here. Customers sign in with their e-mail address and "
    "password."
)
UNVERIFIED = _(
    "%(provider)s has not verified the address %(email)s, so it cannot sign you in here. "
    "Verify the address there, or sign in with your password."
)
NO_EMAIL = _(
    "%(provider)s did not give your e-mail address, so it cannot sign you in here. "
    "Sign in with your password."
)
AMBIGUOUS = _(
    "More than one account has the address %(email)s. Ask a supervisor to correct it, "
    "or sign in with your password."
)
UNAVAILABLE = _(
    "%(provider)s could not be reached to sign you in. Try again in a moment, or sign in "
    "with your password."
)
NOT_COMPLETED = _(
    "Single sign-on with %(provider)s did not complete. Start again, or sign in with your password."
)
STILL_SIGNED_IN = _(
    "You are signed out of the support desk, but you may still be signed in at "
    "%(provider)s. On a shared computer, sign out there too or close the browser."
)


class SsoRefused(Refused):
    """A sign-in the provider allowed and the desk does not (or could not complete)."""

    def __init__(self, message: object, *, code: str, email: str = "") -> None:
        super().__init__(message, code=code)
        self.email = email


def enabled() -> bool:
    return bool(getattr(settings, "SSO_ENABLED", False))


def provider_name() -> str:
    return str(getattr(settings, "SSO_PROVIDER_NAME", "") or gettext("single sign-on"))


def _unavailable() -> SsoRefused:
    return SsoRefused(UNAVAILABLE % {"provider": provider_name()}, code="sso_unavailable")


def discovery() -> dict[str, Any]:
    """The issuer's discovery document, fetched once an hour at most."""
    issuer = str(settings.OIDC_OP_ISSUER)
    key = "sso:discovery:" + hashlib.sha256(issuer.encode()).hexdigest()
    document = cache.get(key)
    if isinstance(document, dict):
        return document
    try:
        response = httpx.get(
            f"{issuer}/.well-known/openid-configuration", timeout=settings.OIDC_TIMEOUT
        )
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise _unavailable() from error
    # The document must be the issuer's own (Discovery 1.0, 4.3): a different issuer
    # would let another provider's tokens through.
    if not isinstance(document, dict) or str(document.get("issuer", "")).rstrip("/") != issuer:
        raise _unavailable()
    cache.set(key, document, DISCOVERY_SECONDS)
    return document


def setting(name: str, *default: Any) -> Any:
    """mozilla-django-oidc's settings, with the endpoints discovered where not given."""
    if name in PROVIDER_ENDPOINTS:
        explicit = getattr(settings, name, "")
        if explicit:
            return explicit
        url = discovery().get(PROVIDER_ENDPOINTS[name])
        if not isinstance(url, str) or not url:
            raise _unavailable()
        return url
    return import_from_settings(name, *default)


def staff_member(claims: dict[str, Any]) -> User:
    """The active agent or supervisor the provider's claims name, or a refusal saying why."""
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip():
        raise SsoRefused(NO_EMAIL % {"provider": provider_name()}, code="sso_no_email")
    email = email.strip()
    # Some providers send the flag as a string; anything else is "not verified".
    if claims.get("email_verified") not in (True, "true"):
        raise SsoRefused(
            UNVERIFIED % {"provider": provider_name(), "email": email},
            code="sso_unverified",
            email=email,
        )
    matches = list(User.objects.agents().filter(email__iexact=email)[:2])
    if not matches:
        raise SsoRefused(NOT_STAFF % {"email": email}, code="sso_not_staff", email=email)
    if len(matches) > 1:
        raise SsoRefused(AMBIGUOUS % {"email": email}, code="sso_ambiguous", email=email)
    return matches[0]


class StaffOIDCBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's code flow, for staff only and never creating anyone."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Django builds every backend for every sign-in, passwords included: the provider's
        # endpoints (perhaps a discovery fetch) are read only when a code is exchanged.
        self.UserModel = get_user_model()

    @staticmethod
    def get_settings(attr: str, *args: Any) -> Any:
        return setting(attr, *args)

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        # Only the callback's code exchange passes a nonce; a password sign-in is not ours.
        if request is None or "nonce" not in kwargs or "password" in kwargs:
            return None
        super().__init__()
        try:
            user: User | None = super().authenticate(request, **kwargs)
        except requests.RequestException as error:
            raise _unavailable() from error
        return user

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        payload: dict[str, Any] = super().verify_token(token, **kwargs)
        # The library leaves the audience and issuer unchecked; an ID token is ours only
        # if it was issued to this client by the configured issuer (OIDC Core 3.1.3.7).
        audience = payload.get("aud")
        audiences = [audience] if isinstance(audience, str) else list(audience or [])
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("The ID token was issued to another client.")
        issuer = settings.OIDC_OP_ISSUER
        if issuer and str(payload.get("iss", "")).rstrip("/") != issuer:
            raise SuspiciousOperation("The ID token comes from another issuer.")
        return payload

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> Any:
        claims = super().get_userinfo(access_token, id_token, payload)
        # The UserInfo answer must be about the ID token's subject (OIDC Core 5.3.2).
        if not isinstance(claims, dict) or claims.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("The UserInfo subject differs from the ID token's.")
        return claims

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> User:
        return staff_member(self.get_userinfo(access_token, id_token, payload))

    def get_user(self, user_id: Any) -> User | None:
        # A session this backend opened ends as soon as its person is no longer active
        # staff (the library's own get_user would keep a deactivated account signed in).
        user = super().get_user(user_id)
        return user if isinstance(user, User) and user.is_agent else None


def _refused(request: HttpRequest, refusal: SsoRefused) -> HttpResponse:
    with transaction.atomic():
        record(
            action=Action.SIGNIN_FAILED,
            actor_label=refusal.email,
            target_label=refusal.email,
            after={"method": "sso", "reason": refusal.code},
        )
    messages.error(request, refusal.message)
    return HttpResponseRedirect(resolve_url(settings.LOGIN_REDIRECT_URL_FAILURE))


class StartView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider with a fresh state, nonce and PKCE challenge."""

    def __init__(self, **kwargs: Any) -> None:
        # The library reads the endpoint here; a discovery failure must be a message.
        View.__init__(self, **kwargs)

    @staticmethod
    def get_settings(attr: str, *args: Any) -> Any:
        return setting(attr, *args)

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            self.OIDC_OP_AUTH_ENDPOINT = setting("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except SsoRefused as refusal:
            return _refused(request, refusal)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        response: HttpResponse = super().get(request)
        return response


class CallbackView(OIDCAuthenticationCallbackView):
    """The provider's answer: the code is exchanged, the ID token checked against the
    provider's keys, and the staff member signed in. A state this browser did not start
    is a 400 (the library's SuspiciousOperation); a refusal, a message on the sign-in page."""

    @staticmethod
    def get_settings(attr: str, *args: Any) -> Any:
        return setting(attr, *args)

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            response: HttpResponse = super().get(request)
        except SsoRefused as refusal:
            return _refused(request, refusal)
        return response

    def login_success(self) -> HttpResponse:
        # The sign-in's audit row is written by the audit trail's user_logged_in receiver,
        # in this transaction; these say it came through single sign-on, and from where.
        self.user.audit_sign_in_action = Action.SIGNIN_SSO
        self.user.audit_sign_in_details = {
            "provider": provider_name(),
            "issuer": settings.OIDC_OP_ISSUER,
        }
        with transaction.atomic():
            response: HttpResponse = super().login_success()
        return response

    def login_failure(self) -> HttpResponse:
        return _refused(
            self.request,
            SsoRefused(NOT_COMPLETED % {"provider": provider_name()}, code="sso_not_completed"),
        )


def end_session_endpoint() -> str:
    """Where the provider ends its session: OIDC_OP_LOGOUT_ENDPOINT, else the discovery
    document's; "" when it has none (or nothing is discovered: endpoints given, no issuer).
    A provider that cannot be reached is a refusal, as at sign-in."""
    explicit = str(getattr(settings, "OIDC_OP_LOGOUT_ENDPOINT", "") or "")
    if explicit or not settings.OIDC_OP_ISSUER:
        return explicit
    url = discovery().get(END_SESSION_DISCOVERED)
    return url if isinstance(url, str) else ""


def provider_logout_url(request: HttpRequest) -> str:
    """mozilla-django-oidc's OIDC_OP_LOGOUT_URL_METHOD: where the browser goes once the
    person is signed out here (asked just before, while their session is still readable).

    A session single sign-on opened goes on to the provider's end-session endpoint, which
    ends the provider's session and sends the browser back to the sign-in page (which
    must be registered there as a post-logout redirect URI). Every other session, or a
    provider without such an endpoint, ends here only, as Django's own sign-out does."""
    signed_out_here = resolve_url(settings.LOGOUT_REDIRECT_URL)
    if request.session.get(BACKEND_SESSION_KEY) != BACKEND_PATH:
        return signed_out_here
    try:
        endpoint = end_session_endpoint()
    except SsoRefused:
        endpoint = ""
    if not endpoint:
        # Signing out here still ends the desk's session; the person is told the provider's
        # may live on (the reason RP-initiated logout exists).
        messages.warning(request, STILL_SIGNED_IN % {"provider": provider_name()})
        return signed_out_here
    params = {
        "client_id": settings.OIDC_RP_CLIENT_ID,
        "post_logout_redirect_uri": absolutify(request, signed_out_here),
    }
    # The hint names the person and this client, so the provider can end the session
    # without asking; a session from before ID tokens were kept goes without (the
    # provider then asks whether to sign out there).
    id_token = request.session.get(ID_TOKEN_SESSION_KEY)
    if isinstance(id_token, str) and id_token:
        params["id_token_hint"] = id_token
    separator = "&" if "?" in endpoint else "?"
    return f"{endpoint}{separator}{urlencode(params)}"


@method_decorator(never_cache, name="dispatch")
class SignOutView(OIDCLogoutView):
    """The sign-out (POST only, as Django's) where single sign-on is configured:
    mozilla-django-oidc's logout view, which asks provider_logout_url where to send the
    browser before it signs the person out (the audit trail's receiver records that)."""

    http_method_names = ["post", "options"]

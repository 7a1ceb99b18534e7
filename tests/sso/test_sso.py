"""Single sign-on for staff (issue 17): the real authorization-code flow against a real
OpenID provider (tests/sso/conftest.py), never a mock. Only an existing active agent or
supervisor whose verified address matches signs in; everyone else is told why on the
sign-in page, and a forged state is a 400 with nobody signed in."""

from __future__ import annotations

import runpy
import socket
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.views import LogoutView
from django.core.exceptions import SuspiciousOperation
from django.test import Client
from django.urls import NoReverseMatch, reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from audit.actions import Action
from audit.models import AuditEntry
from supportdesk.sso import SignOutView, StaffOIDCBackend
from tenants.models import User
from tests.factories import PASSWORD, AgentFactory, MembershipFactory, SupervisorFactory
from tests.sso.conftest import (
    CUSTOMER,
    FORMER_AGENT,
    PROJECT,
    STAFF,
    STRANGER,
    UNVERIFIED_AGENT,
    Provider,
    sso_sign_in,
)

# A process of its own per module (the provider); one xdist worker runs them all.
pytestmark = [pytest.mark.django_db, pytest.mark.slow, pytest.mark.xdist_group("oidc")]

BACKEND = "supportdesk.sso.StaffOIDCBackend"


def signed_in_id(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


def login_page_text(client: Client) -> str:
    return client.get("/accounts/login/").content.decode()


@pytest.fixture
def agent() -> User:
    # Stored lower-case; the provider has "Agent.SSO@Provider.Test".
    return AgentFactory(email="agent.sso@provider.test")


@pytest.mark.parametrize("configured_by", ["issuer", "endpoints"])
def test_an_agent_signs_in_through_the_provider(
    sso: Provider, agent: User, client: Client, settings: pytest.FixtureRequest, configured_by: str
) -> None:
    if configured_by == "endpoints":
        # No discovery: the four endpoints as given (the issuer then goes unchecked).
        settings.OIDC_OP_ISSUER = ""
        for name, url in sso.endpoints().items():
            setattr(settings, name, url)

    callback = sso_sign_in(client, sso, STAFF, next_url="/desk/")
    answer = client.get(callback)

    assert answer.status_code == 302
    assert answer["Location"] == "/desk/"
    assert signed_in_id(client) == str(agent.pk)
    assert client.session["_auth_user_backend"] == BACKEND
    # One factor only: nothing marks the session as having passed a second factor.
    assert "otp_device_id" not in client.session
    # One sign-in, one row: the single sign-on one, not a password sign-in besides.
    assert not AuditEntry.objects.filter(action=Action.SIGNIN).exists()
    entry = AuditEntry.objects.get(action=Action.SIGNIN_SSO)
    assert (entry.actor_id, entry.target_id) == (agent.pk, str(agent.pk))
    assert entry.after["provider"] == "Test ID"
    assert entry.after["issuer"] == ("" if configured_by == "endpoints" else sso.issuer)


def test_a_supervisor_signs_in_and_out(sso: Provider, client: Client) -> None:
    supervisor = SupervisorFactory(email="agent.sso@provider.test")

    client.get(sso_sign_in(client, sso, STAFF))
    assert signed_in_id(client) == str(supervisor.pk)
    # The session keeps working on later requests (the backend finds the person again).
    assert client.get("/").status_code == 302
    assert client.get("/").wsgi_request.user == supervisor

    client.post("/accounts/logout/")

    assert signed_in_id(client) is None
    assert client.get("/desk/")["Location"].startswith("/accounts/login/")


def test_a_deactivated_agents_sso_session_ends(sso: Provider, agent: User, client: Client) -> None:
    client.get(sso_sign_in(client, sso, STAFF))
    assert client.get("/").wsgi_request.user == agent

    User.objects.filter(pk=agent.pk).update(is_active=False)

    assert not client.get("/").wsgi_request.user.is_authenticated


@pytest.mark.parametrize(
    ("email", "message"),
    [
        (CUSTOMER, "Single sign-on is for support staff only"),
        (STRANGER, "Single sign-on is for support staff only"),
        (FORMER_AGENT, "Single sign-on is for support staff only"),
        (UNVERIFIED_AGENT, "Test ID has not verified the address"),
    ],
    ids=["customer", "unknown", "deactivated-agent", "unverified"],
)
def test_anyone_but_active_staff_with_a_verified_address_is_refused(
    sso: Provider, client: Client, email: str, message: str
) -> None:
    MembershipFactory(user__email=CUSTOMER)
    AgentFactory(email=FORMER_AGENT, is_active=False)
    AgentFactory(email=UNVERIFIED_AGENT)
    users_before = User.objects.count()

    answer = client.get(sso_sign_in(client, sso, email))

    assert answer.status_code == 302
    assert answer["Location"] == "/accounts/login/"
    assert signed_in_id(client) is None
    page = login_page_text(client)
    assert message in page
    assert email in page
    # Nobody is created, and the refusal is in the audit trail (not the sign-in).
    assert User.objects.count() == users_before
    assert not AuditEntry.objects.filter(action=Action.SIGNIN_SSO).exists()
    refused = AuditEntry.objects.get(action=Action.SIGNIN_FAILED)
    assert refused.actor_label == email
    assert refused.after["method"] == "sso"


def test_a_tampered_state_is_refused_and_signs_nobody_in(
    sso: Provider, agent: User, client: Client
) -> None:
    callback = sso_sign_in(client, sso, STAFF)
    query = parse_qs(urlsplit(callback).query)
    forged = {"code": query["code"][0], "state": "forged-" + query["state"][0]}

    answer = client.get(f"/accounts/sso/callback/?{urlencode(forged)}")

    assert answer.status_code == 400
    assert signed_in_id(client) is None
    assert not AuditEntry.objects.filter(action=Action.SIGNIN_SSO).exists()
    # The code was never exchanged: with its own state it still signs the agent in.
    client.get(callback)
    assert signed_in_id(client) == str(agent.pk)


def test_a_callback_is_used_once(sso: Provider, agent: User, client: Client) -> None:
    callback = sso_sign_in(client, sso, STAFF)
    client.get(callback)
    client.post("/accounts/logout/")

    again = client.get(callback)

    assert again.status_code in {302, 400}
    assert signed_in_id(client) is None


def test_a_callback_this_browser_did_not_start_is_refused(sso: Provider, client: Client) -> None:
    answer = client.get("/accounts/sso/callback/?code=made-up&state=made-up")

    assert answer["Location"] == "/accounts/login/"
    assert signed_in_id(client) is None
    assert "did not complete" in login_page_text(client)


def test_the_sign_in_page_offers_the_button_only_when_configured(
    client: Client, settings: pytest.FixtureRequest
) -> None:
    page = login_page_text(client)
    assert "Sign in with" not in page
    with pytest.raises(NoReverseMatch):
        reverse("sso:start")

    settings.SSO_ENABLED = True
    settings.SSO_PROVIDER_NAME = "Contoso ID"
    settings.ROOT_URLCONF = "tests.sso.urls"
    page = client.get("/accounts/login/?next=/desk/").content.decode()

    assert "Sign in with Contoso ID" in page
    assert 'href="/accounts/sso/start/?next=/desk/"' in page


def test_supportdesk_routes_sso_only_when_configured(settings: pytest.FixtureRequest) -> None:
    def routes() -> dict[str, Any]:
        urls = runpy.run_path(str(PROJECT / "supportdesk" / "urls.py"))["urlpatterns"]
        return {str(pattern.pattern): pattern for pattern in urls}

    assert "accounts/sso/" not in routes()
    assert routes()["accounts/logout/"].callback.view_class is LogoutView
    settings.SSO_ENABLED = True
    assert "accounts/sso/" in routes()
    # Signing out of a single sign-on session then ends the provider's too.
    assert routes()["accounts/logout/"].callback.view_class is SignOutView


def test_passwords_still_work_and_never_reach_the_provider(
    sso: Provider, client: Client, settings: pytest.FixtureRequest
) -> None:
    # Nothing listens there: a password sign-in that asked the provider would fail.
    settings.OIDC_OP_ISSUER = f"http://127.0.0.1:{_closed_port()}"
    customer = MembershipFactory(user__email=CUSTOMER).user

    answer = client.post("/accounts/login/", {"username": CUSTOMER, "password": PASSWORD})

    assert answer.status_code == 302
    assert signed_in_id(client) == str(customer.pk)


def test_an_unreachable_provider_is_a_message_not_an_error(
    sso: Provider, client: Client, settings: pytest.FixtureRequest
) -> None:
    settings.OIDC_OP_ISSUER = f"http://127.0.0.1:{_closed_port()}"

    answer = client.get("/accounts/sso/start/")

    assert answer.status_code == 302
    assert answer["Location"] == "/accounts/login/"
    assert "Test ID could not be reached" in login_page_text(client)


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("claims", "accepted"),
    [
        ({}, True),
        ({"aud": "another-client"}, False),
        ({"aud": ["another-client", "supportdesk"]}, True),
        ({"iss": "https://impostor.example.com"}, False),
    ],
    ids=["ours", "another-client", "several-audiences", "another-issuer"],
)
def test_an_id_token_counts_only_if_issued_to_us_by_our_issuer(
    settings: pytest.FixtureRequest, claims: dict[str, object], accepted: bool
) -> None:
    """The library leaves audience and issuer unchecked; the backend checks both (the
    signature is checked first, with the provider's key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings.OIDC_RP_CLIENT_ID = "supportdesk"
    settings.OIDC_RP_CLIENT_SECRET = "secret"
    settings.OIDC_OP_ISSUER = "https://id.example.com"
    # Given, so nothing is discovered; never called here (the key is given too).
    for name in ("AUTHORIZATION", "TOKEN", "USER", "JWKS"):
        setattr(settings, f"OIDC_OP_{name}_ENDPOINT", "https://id.example.com/unused")
    settings.OIDC_RP_IDP_SIGN_KEY = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    payload = {
        "iss": "https://id.example.com",
        "aud": "supportdesk",
        "sub": "1",
        "nonce": "n-1",
        "exp": int(time.time()) + 60,
        **claims,
    }
    token = jwt.encode(payload, key, algorithm="RS256")
    backend = StaffOIDCBackend()
    OIDCAuthenticationBackend.__init__(backend)

    if accepted:
        assert backend.verify_token(token, nonce="n-1")["sub"] == "1"
    else:
        with pytest.raises(SuspiciousOperation):
            backend.verify_token(token, nonce="n-1")


def test_single_sign_on_does_not_pass_the_second_factor(
    sso: Provider, agent: User, client: Client, settings: pytest.FixtureRequest
) -> None:
    """The provider replaces the password only: the desk still asks staff for their own
    second factor (mfa) after a single sign-on."""
    if "mfa.middleware.SecondFactorMiddleware" not in settings.MIDDLEWARE:
        pytest.skip("the second-factor middleware is not installed")
    client.get(sso_sign_in(client, sso, STAFF))
    assert signed_in_id(client) == str(agent.pk)

    desk = client.get("/desk/")

    assert desk.status_code == 302
    assert desk["Location"].startswith((reverse("mfa:verify"), reverse("mfa:security")))

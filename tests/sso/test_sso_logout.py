"""Signing out of a single sign-on session ends the provider's session too (RP-initiated
logout), against the real provider of tests/sso/conftest.py: the site ends its session and
sends the browser to the provider's end-session endpoint with the ID token kept at sign-in;
the provider ends its own and sends the browser back to the sign-in page, so the next
"Sign in with …" asks for the provider's password again. Password sessions, and a provider
without an end-session endpoint, sign out here only."""

from __future__ import annotations

import socket
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from audit.actions import Action
from audit.models import AuditEntry
from tenants.models import User
from tests.factories import PASSWORD, AgentFactory, MembershipFactory
from tests.sso.conftest import (
    CLIENT_ID,
    CUSTOMER,
    POST_LOGOUT_REDIRECT_URI,
    STAFF,
    Provider,
    provider_browser,
    sso_sign_in,
)

# A process of its own per module (the provider); one xdist worker runs them all.
pytestmark = [pytest.mark.django_db, pytest.mark.slow, pytest.mark.xdist_group("oidc")]

STILL_SIGNED_IN = "you may still be signed in at Test ID"


def signed_in_id(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


def sso_start(client: Client) -> str:
    start = client.get("/accounts/sso/start/")
    assert start.status_code == 302, start.content
    return str(start["Location"])


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def agent() -> User:
    # Stored lower-case; the provider has "Agent.SSO@Provider.Test".
    return AgentFactory(email="agent.sso@provider.test")


@pytest.mark.parametrize("configured_by", ["issuer", "endpoints"])
def test_signing_out_ends_the_providers_session_and_comes_back_to_sign_in(
    sso: Provider, agent: User, client: Client, settings: pytest.FixtureRequest, configured_by: str
) -> None:
    if configured_by == "endpoints":
        # No discovery: the end-session endpoint as given, with the other four.
        settings.OIDC_OP_ISSUER = ""
        for name, url in sso.endpoints().items():
            setattr(settings, name, url)
        settings.OIDC_OP_LOGOUT_ENDPOINT = sso.end_session_endpoint
    with provider_browser() as browser:
        client.get(sso_sign_in(client, sso, STAFF, browser=browser))
        assert signed_in_id(client) == str(agent.pk)
        id_token = client.session["oidc_id_token"]
        # Signed in at the provider too: it would sign them straight back in.
        assert not sso.asks_for_password(sso_start(client), browser)

        signed_out = client.post("/accounts/logout/")

        # Signed out here, and sent to the provider to end its session too.
        assert signed_out.status_code == 302
        assert signed_in_id(client) is None
        end_session = urlsplit(signed_out["Location"])
        assert f"{end_session.scheme}://{end_session.netloc}{end_session.path}" == (
            sso.end_session_endpoint
        )
        assert parse_qs(end_session.query) == {
            "id_token_hint": [id_token],
            "client_id": [CLIENT_ID],
            "post_logout_redirect_uri": [POST_LOGOUT_REDIRECT_URI],
        }
        # One sign-out, one audit row, by the person who signed out.
        entry = AuditEntry.objects.get(action=Action.SIGNOUT)
        assert (entry.actor_id, entry.target_id) == (agent.pk, str(agent.pk))

        # The provider ends its session without asking (the hint names the person signed
        # in there; a missing or foreign hint would get its confirmation page, a 200) and
        # sends the browser back to the sign-in page.
        at_provider = browser.get(signed_out["Location"])
        assert at_provider.status_code == 302, at_provider.text
        assert at_provider.headers["location"] == POST_LOGOUT_REDIRECT_URI
        landing = client.get(urlsplit(at_provider.headers["location"]).path)
        assert landing.status_code == 200
        page = landing.content.decode()
        assert "Sign in with Test ID" in page
        assert STILL_SIGNED_IN not in page

        # The next single sign-on in this browser asks for the provider's password again.
        assert sso.asks_for_password(sso_start(client), browser)
        client.get(sso_sign_in(client, sso, STAFF, browser=browser))
        assert signed_in_id(client) == str(agent.pk)


def test_a_password_session_signs_out_here_only(sso: Provider, client: Client) -> None:
    customer = MembershipFactory(user__email=CUSTOMER).user
    signed_in = client.post("/accounts/login/", {"username": CUSTOMER, "password": PASSWORD})
    assert signed_in.status_code == 302
    assert signed_in_id(client) == str(customer.pk)

    signed_out = client.post("/accounts/logout/")

    assert signed_out.status_code == 302
    assert signed_out["Location"] == "/accounts/login/"
    assert signed_in_id(client) is None
    assert AuditEntry.objects.get(action=Action.SIGNOUT).actor_id == customer.pk
    assert STILL_SIGNED_IN not in client.get("/accounts/login/").content.decode()


def test_without_an_end_session_endpoint_signing_out_is_local_and_says_so(
    sso: Provider, agent: User, client: Client, settings: pytest.FixtureRequest
) -> None:
    # Endpoints given, no issuer to discover from and no end-session endpoint.
    settings.OIDC_OP_ISSUER = ""
    for name, url in sso.endpoints().items():
        setattr(settings, name, url)
    with provider_browser() as browser:
        client.get(sso_sign_in(client, sso, STAFF, browser=browser))
        assert signed_in_id(client) == str(agent.pk)

        signed_out = client.post("/accounts/logout/")

        assert signed_out["Location"] == "/accounts/login/"
        assert signed_in_id(client) is None
        assert AuditEntry.objects.get(action=Action.SIGNOUT).actor_id == agent.pk
        assert STILL_SIGNED_IN in client.get("/accounts/login/").content.decode()
        # What the warning is about: the provider still signs them straight back in.
        assert not sso.asks_for_password(sso_start(client), browser)


def test_an_unreachable_provider_at_sign_out_still_signs_out_here(
    sso: Provider, agent: User, client: Client, settings: pytest.FixtureRequest
) -> None:
    client.get(sso_sign_in(client, sso, STAFF))
    assert signed_in_id(client) == str(agent.pk)
    # Nothing listens there, and nothing is cached for it.
    settings.OIDC_OP_ISSUER = f"http://127.0.0.1:{_closed_port()}"

    signed_out = client.post("/accounts/logout/")

    assert signed_out["Location"] == "/accounts/login/"
    assert signed_in_id(client) is None
    assert AuditEntry.objects.get(action=Action.SIGNOUT).actor_id == agent.pk
    assert STILL_SIGNED_IN in client.get("/accounts/login/").content.decode()


def test_signing_out_takes_a_post(sso: Provider, agent: User, client: Client) -> None:
    """A link or an image cannot sign anyone out (Django's own sign-out is POST only too)."""
    client.get(sso_sign_in(client, sso, STAFF))

    assert client.get("/accounts/logout/").status_code == 405
    assert signed_in_id(client) == str(agent.pk)
    assert not AuditEntry.objects.filter(action=Action.SIGNOUT).exists()

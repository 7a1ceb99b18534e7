"""Portal pages over the test client: sign-in landing, the request pages, bad input."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import World
from tests.factories import PASSWORD, UserFactory
from tests.mfa_support import app_code
from tickets.models import EventKind, Status

pytestmark = pytest.mark.django_db


def sign_in(client: Client, email: str) -> str:
    response = client.post(reverse("login"), {"username": email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    if response["Location"].startswith("/accounts/verify/"):
        # Staff pass their second factor next (mfa), then land.
        device = TOTPDevice.objects.get(user__email=email)
        response = client.post(response["Location"], {"code": app_code(device)})
        assert response.status_code == 302, response.content[:500]
    landing = client.get(response["Location"])
    assert landing.status_code == 302
    return landing["Location"]


def test_each_kind_of_person_lands_on_their_home(world: World, client: Client) -> None:
    assert sign_in(client, world.admin_a.user.email) == "/portal/alpha/"
    client.logout()
    assert sign_in(client, world.user_a.user.email) == "/portal/alpha/"
    client.logout()
    assert sign_in(client, world.agent.email) == "/desk/"
    client.logout()
    assert sign_in(client, world.supervisor.email) == "/desk/"


def test_a_person_without_organization_is_told_so(db: None, client: Client) -> None:
    lonely = UserFactory()
    client.post(reverse("login"), {"username": lonely.email, "password": PASSWORD})
    response = client.get("/")
    assert response.status_code == 200
    assert b"not a member of any organization" in response.content


def test_wrong_password_is_a_form_error(world: World, client: Client) -> None:
    response = client.post(
        reverse("login"), {"username": world.admin_a.user.email, "password": "nope"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors


def test_admin_sees_requests_on_home_and_list(world: World, client: Client) -> None:
    ticket = world.file(title="Autodiscover fails for shared mailboxes")
    client.force_login(world.admin_a.user)
    home = client.get(reverse("portal:home", kwargs={"org": "alpha"}))
    assert ticket.title in home.content.decode()
    listing = client.get(reverse("portal:request_list", kwargs={"org": "alpha"}))
    assert ticket.reference in listing.content.decode()
    resolved = client.get(
        reverse("portal:request_list", kwargs={"org": "alpha"}), {"status": "resolved"}
    )
    assert ticket.reference not in resolved.content.decode()
    # An unknown filter falls back to everything instead of failing.
    odd = client.get(reverse("portal:request_list", kwargs={"org": "alpha"}), {"status": "<x>"})
    assert odd.status_code == 200
    assert ticket.reference in odd.content.decode()


def test_plain_user_home_shows_no_requests(world: World, client: Client) -> None:
    ticket = world.file(title="Secret budget mailbox")
    client.force_login(world.user_a.user)
    home = client.get(reverse("portal:home", kwargs={"org": "alpha"}))
    assert home.status_code == 200
    assert ticket.title not in home.content.decode()


def test_customer_reply_from_the_portal(world: World, client: Client) -> None:
    ticket = world.file()
    client.force_login(world.admin_a.user)
    url = reverse("portal:request_detail", kwargs={"org": "alpha", "number": ticket.reference})
    response = client.post(url, {"body": "Here is the trace."})
    assert response.status_code == 302
    assert ticket.messages.get().body == "Here is the trace."
    assert ticket.events.filter(kind=EventKind.CUSTOMER_REPLIED).count() == 1


def test_empty_reply_is_a_form_error_and_writes_nothing(world: World, client: Client) -> None:
    ticket = world.file()
    client.force_login(world.admin_a.user)
    url = reverse("portal:request_detail", kwargs={"org": "alpha", "number": ticket.pk})
    response = client.post(url, {"body": "   "})
    assert response.status_code == 200
    assert response.context["form"].errors["body"]
    assert ticket.messages.count() == 0


def test_reply_to_a_closed_request_is_refused_with_a_message(world: World, client: Client) -> None:
    from tickets import services
    from tickets.actors import Actor

    ticket = world.file()
    agent = Actor.for_user(world.agent)
    services.ticket_resolve(ticket=ticket, actor=agent, reason="", now=ticket.created_at)
    services.ticket_close(ticket=ticket, actor=agent, now=ticket.created_at)
    client.force_login(world.admin_a.user)
    url = reverse("portal:request_detail", kwargs={"org": "alpha", "number": ticket.pk})
    response = client.post(url, {"body": "Hello?"})
    assert response.status_code == 200
    assert str(services.ERR_CLOSED) in response.context["form"].errors["body"]
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED


def test_user_text_is_escaped(world: World, client: Client) -> None:
    ticket = world.file(title='<script>alert("x")</script>', description="<img src=x onerror=y>")
    client.force_login(world.admin_a.user)
    url = reverse("portal:request_detail", kwargs={"org": "alpha", "number": ticket.pk})
    body = client.get(url).content.decode()
    assert '<script>alert("x")</script>' not in body
    assert "<img src=x onerror=y>" not in body
    assert "&lt;script&gt;" in body


def test_portal_times_are_in_the_organizations_zone(world: World, client: Client) -> None:
    ticket = world.file(world.admin_b)  # Bravo is in America/New_York
    client.force_login(world.admin_b.user)
    url = reverse("portal:request_detail", kwargs={"org": "bravo", "number": ticket.pk})
    response = client.get(url)
    assert response.status_code == 200
    assert str(response.context["TIME_ZONE"]) == "America/New_York"

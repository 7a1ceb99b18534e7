"""One rule, every channel: writing again about a closed request files a follow-up linked
to it — from the portal, the REST API and e-mail alike (ticket_follow_up). The same
copied answers, the same severity, the same Events; only the channel differs. A channel
that refused, ignored or reopened instead would fail here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from mailin.models import IncomingMail
from mailin.services import ingest
from tenants.api_keys import api_key_create
from tenants.models import Role
from tests.conftest import T0, World
from tickets.actors import Actor
from tickets.mail import reply_address
from tickets.models import Channel, EventKind, Status, Ticket
from tickets.services import ERR_FOLLOW_UP_OPEN, ticket_close, ticket_resolve

pytestmark = pytest.mark.django_db

BODY = "The relay drops mail again since 9:00."
# What a follow-up copies from the request it follows.
COPIED = (
    "organization_id",
    "category",
    "product_id",
    "impact",
    "scope",
    "business_impact",
    "contact_24x7",
    "contact_phone",
    "contact_email",
    "preferred_contact",
    "language",
    "severity",
)

FollowUp = Callable[[Ticket], Ticket]


@pytest.fixture(autouse=True)
def _media(settings: object, tmp_path: object) -> None:
    settings.MEDIA_ROOT = str(tmp_path)  # type: ignore[attr-defined]


def closed(world: World) -> Ticket:
    ticket = world.file(
        impact="service_down", business_impact="Orders stop.", contact_24x7="Ops, +48 22 1"
    )
    agent = Actor.for_user(world.agent)
    ticket_resolve(ticket=ticket, actor=agent, reason="Fixed", now=T0)
    return ticket_close(ticket=ticket, actor=agent, now=T0 + timedelta(days=1))


def _portal(world: World) -> FollowUp:
    client = Client()
    client.force_login(world.admin_a.user)

    def follow_up(ticket: Ticket) -> Ticket:
        url = reverse("portal:request_detail", kwargs={"org": "alpha", "number": ticket.pk})
        response = client.post(url, {"action": "follow_up", "body": BODY})
        assert response.status_code == 302, response.status_code
        return Ticket.objects.filter(follow_up_of=ticket).latest("pk")

    return follow_up


def _api(world: World) -> FollowUp:
    issued = api_key_create(
        organization=world.org_a, name="parity", role=Role.GLOBAL_ADMIN,
        created_by=world.admin_a.user, now=timezone.now(),
    )  # fmt: skip
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")

    def follow_up(ticket: Ticket) -> Ticket:
        response = client.post(
            f"/api/v1/tickets/{ticket.reference}/follow-up/", {"body": BODY}, format="json"
        )
        assert response.status_code == 201, response.content
        new = Ticket.objects.filter(follow_up_of=ticket).latest("pk")
        assert response.json()["number"] == new.reference
        return new

    return follow_up


def _email(world: World) -> FollowUp:
    sender = world.admin_a.user.email

    def follow_up(ticket: Ticket) -> Ticket:
        message = EmailMessage()
        message["From"] = sender
        message["To"] = reply_address(ticket.pk, sender)
        message["Subject"] = f"Re: [{ticket.reference}] Resolved: {ticket.title}"
        message["Message-ID"] = f"<again-{ticket.pk}@alpha.example>"
        message.set_content(BODY)
        outcome = ingest(message.as_bytes(), now=timezone.now(), source="test")
        assert outcome.action == "filed", outcome
        new = Ticket.objects.filter(follow_up_of=ticket).latest("pk")
        assert outcome.ticket_id == new.pk
        assert IncomingMail.objects.get(message_id=message["Message-ID"]).ticket_id == new.pk
        return new

    return follow_up


CHANNELS: dict[str, tuple[Callable[[World], FollowUp], str]] = {
    "portal": (_portal, Channel.WEB),
    "api": (_api, Channel.API),
    "email": (_email, Channel.EMAIL),
}


@pytest.mark.parametrize("channel", CHANNELS)
def test_every_channel_files_a_linked_follow_up(world: World, channel: str) -> None:
    make, expected_channel = CHANNELS[channel]
    original = closed(world)
    new = make(world)(original)
    assert new.follow_up_of_id == original.pk
    assert new.channel == expected_channel
    assert new.status == Status.NEW
    assert new.description == BODY
    assert new.title == f"Follow-up to {original.reference}: {original.title}"
    for field in COPIED:
        assert getattr(new, field) == getattr(original, field), (channel, field)
    # The closed request stays closed and unchanged; its timeline names the follow-up.
    original.refresh_from_db()
    assert original.status == Status.CLOSED
    assert not original.messages.exists()
    event = original.events.get(kind=EventKind.FOLLOW_UP)
    assert event.after == {"follow_up": new.reference, "ticket": new.pk}
    assert event.actor_label == world.admin_a.user.email or channel == "api"
    assert new.events.get(kind=EventKind.CREATED).after["follow_up_of"] == original.reference


def test_the_channels_agree(world: World) -> None:
    """The same closed request followed up three ways: three identical follow-ups."""
    original = closed(world)
    made = [make(world)(original) for make, _channel in CHANNELS.values()]
    assert len({new.pk for new in made}) == 3
    for field in (*COPIED, "title", "description", "severity_reason"):
        assert len({str(getattr(new, field)) for new in made}) == 1, field
    assert original.events.filter(kind=EventKind.FOLLOW_UP).count() == 3


# --- Each channel's own edges --------------------------------------------------------------


def test_the_api_refuses_a_request_that_can_still_be_reopened(world: World) -> None:
    ticket = world.file()
    client = Client()
    client.force_login(world.admin_a.user)
    response = client.post(
        f"/api/v1/tickets/{ticket.reference}/follow-up/",
        {"body": BODY},
        content_type="application/json",
    )
    assert response.status_code == 409
    assert response.json()["message"] == str(ERR_FOLLOW_UP_OPEN)
    empty = client.post(
        f"/api/v1/tickets/{ticket.reference}/follow-up/", {}, content_type="application/json"
    )
    assert empty.status_code == 400
    assert Ticket.objects.count() == 1


def test_the_api_follow_up_is_documented() -> None:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/tickets/{number}/follow-up/"]["post"]
    assert operation["summary"] == "Follow up a closed request"
    assert "201" in operation["responses"] and "409" in operation["responses"]


def test_an_answer_by_email_to_a_resolved_request_is_unchanged(world: World) -> None:
    """Resolved, not closed: a reply within the window reopens it (no follow-up)."""
    ticket = world.file()
    ticket_resolve(ticket=ticket, actor=Actor.for_user(world.agent), reason="", now=T0)
    sender = world.admin_a.user.email
    message = EmailMessage()
    message["From"] = sender
    message["To"] = reply_address(ticket.pk, sender)
    message["Subject"] = "Re: resolved"
    message["Message-ID"] = "<again@alpha.example>"
    message.set_content(BODY)
    outcome = ingest(message.as_bytes(), now=T0 + timedelta(days=1), source="test")
    assert outcome.action == "replied"
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert not Ticket.objects.filter(follow_up_of=ticket).exists()


def test_an_email_follow_up_from_the_contact_address(
    world: World, mailoutbox: list[object], django_capture_on_commit_callbacks: object
) -> None:
    ticket = world.file(contact_email="ops@alpha.example")
    agent = Actor.for_user(world.agent)
    ticket_resolve(ticket=ticket, actor=agent, reason="", now=T0)
    ticket_close(ticket=ticket, actor=agent, now=T0)
    message = EmailMessage()
    message["From"] = "ops@alpha.example"
    message["To"] = reply_address(ticket.pk, "ops@alpha.example")
    message["Subject"] = "Re: closed"
    message["Message-ID"] = "<contact-again@alpha.example>"
    message.set_content(BODY)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        outcome = ingest(message.as_bytes(), now=T0 + timedelta(days=2), source="test")
    assert outcome.action == "filed"
    new = Ticket.objects.filter(follow_up_of=ticket).latest("pk")
    assert new.created_by is None and new.contact_email == "ops@alpha.example"
    # The contact hears from the new request's own confirmation, not an extra answer.
    assert mailoutbox == []


def test_an_email_follow_up_from_another_admin_is_answered(
    world: World, mailoutbox: list[object], django_capture_on_commit_callbacks: object
) -> None:
    ticket = world.file(contact_email="ops@alpha.example")
    agent = Actor.for_user(world.agent)
    ticket_resolve(ticket=ticket, actor=agent, reason="", now=T0)
    ticket_close(ticket=ticket, actor=agent, now=T0)
    sender = world.admin_a.user.email
    message = EmailMessage()
    message["From"] = sender
    message["To"] = reply_address(ticket.pk, sender)
    message["Subject"] = "Re: closed"
    message["Message-ID"] = "<admin-again@alpha.example>"
    message.set_content(BODY)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        outcome = ingest(message.as_bytes(), now=T0 + timedelta(days=2), source="test")
    assert outcome.action == "filed"
    new = Ticket.objects.filter(follow_up_of=ticket).latest("pk")
    [answer] = mailoutbox
    assert answer.to == [sender]  # type: ignore[attr-defined]
    assert new.reference in answer.body and ticket.reference in answer.body  # type: ignore[attr-defined]

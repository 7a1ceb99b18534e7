"""The original e-mail of a reply that came by e-mail, on the desk: staff only, only
through its own request, and never rendered as HTML."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from django.test import Client
from django.urls import reverse

from mailin.models import IncomingMail
from mailin.services import ingest
from tests.conftest import T0, World
from tickets.mail import reply_address
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script> It works now.'


@pytest.fixture(autouse=True)
def _media(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)


def _answer(world: World, ticket: Ticket, body: str = HOSTILE) -> IncomingMail:
    sender = world.admin_a.user.email
    message = EmailMessage()
    message["From"] = sender
    message["To"] = reply_address(ticket.pk, sender)
    message["Subject"] = "Re: <b>Cannot send mail</b>"
    message["Message-ID"] = f"<answer-{ticket.pk}@alpha.example>"
    message.set_content(body)
    outcome = ingest(message.as_bytes(), now=T0, source="test")
    assert outcome.action == "replied"
    return IncomingMail.objects.get(message_id=message["Message-ID"])


def _url(ticket: Ticket, mail: IncomingMail) -> str:
    return reverse("mailin:original", kwargs={"number": ticket.pk, "mail": mail.pk})


def test_an_agent_opens_the_original_from_the_ticket_page(world: World, client: Client) -> None:
    ticket = world.file()
    mail = _answer(world, ticket)
    client.force_login(world.agent)
    page = client.get(reverse("desk:ticket", kwargs={"number": ticket.pk})).content.decode()
    assert _url(ticket, mail) in page
    assert page.count('class="original-email"') == 1
    response = client.get(_url(ticket, mail))
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    content = response.content.decode()
    assert world.admin_a.user.email in content
    assert "answer-" in content  # the Message-ID among the headers


def test_the_content_is_escaped(world: World, client: Client) -> None:
    ticket = world.file()
    mail = _answer(world, ticket)
    client.force_login(world.agent)
    content = client.get(_url(ticket, mail)).content.decode()
    assert "<script>alert" not in content
    assert "<b>Cannot" not in content
    # In the text and again in the source.
    assert content.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") == 2
    assert "&lt;b&gt;Cannot send mail&lt;/b&gt;" in content


def test_a_customer_gets_404(world: World, client: Client) -> None:
    ticket = world.file()
    mail = _answer(world, ticket)
    client.force_login(world.admin_a.user)
    assert client.get(_url(ticket, mail)).status_code == 404


def test_another_tickets_id_is_404(world: World, client: Client) -> None:
    ticket = world.file()
    other = world.file()
    mail = _answer(world, other)
    client.force_login(world.agent)
    assert client.get(_url(ticket, mail)).status_code == 404
    assert client.get(_url(other, mail)).status_code == 200


def test_messages_written_on_the_desk_have_no_original(world: World, client: Client) -> None:
    from tickets.actors import Actor
    from tickets.services import ticket_agent_reply

    ticket = world.file()
    ticket_agent_reply(ticket=ticket, actor=Actor.for_user(world.agent), body="Hello", now=T0)
    client.force_login(world.agent)
    page = client.get(reverse("desk:ticket", kwargs={"number": ticket.pk})).content.decode()
    assert "original-email" not in page

"""Ticket mail threads, service tier: each e-mail of a ticket has a Message-ID fixed by
its Event and recipients, answers the ticket's earlier mails (In-Reply-To, References),
carries the customer's signed reply address, and is recorded once as an OutgoingMail."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from tests.conftest import T0, World
from tickets import outbox, services
from tickets.actors import Actor
from tickets.mail import (
    REFERENCES_KEPT_LATEST,
    REPLY_ABOVE_MARKER,
    parse_reply_address,
    reply_address,
    reply_tag_valid,
    thread_headers,
)
from tickets.models import Event, EventKind, OutgoingMail, Ticket

pytestmark = pytest.mark.django_db

M = timedelta(minutes=1)
H = timedelta(hours=1)
MESSAGE_ID = re.compile(r"<sd\.(\d+)\.(\d+)\.[0-9a-f]{12}@supportdesk\.localhost>")


def deliver(*events: Event, now: datetime = T0 + M) -> int:
    return outbox.deliver_events([e.pk for e in events], now=now)


def last(ticket: Ticket, kind: str) -> Event:
    return ticket.events.filter(kind=kind).order_by("-created_at", "-pk")[0]


def agent(world: World) -> Actor:
    return Actor.for_user(world.agent)


def html(message: mail.EmailMessage) -> str:
    assert isinstance(message, EmailMultiAlternatives)
    [(content, _mimetype)] = message.alternatives
    return str(content)


def header(message: mail.EmailMessage, name: str) -> str:
    return str(message.message()[name] or "")


def test_every_customer_mail_of_a_ticket_answers_the_one_before(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    ticket = world.file()
    assert deliver(last(ticket, EventKind.CREATED)) == 1
    services.ticket_agent_reply(ticket=ticket, actor=agent(world), body="On it", now=T0 + M)
    assert deliver(last(ticket, EventKind.REPLIED), now=T0 + 2 * M) == 1
    services.ticket_resolve(ticket=ticket, actor=agent(world), reason="Fixed", now=T0 + H)
    assert deliver(last(ticket, EventKind.RESOLVED), now=T0 + H) == 1

    received, replied, resolved = mailoutbox
    ids = [header(message, "Message-ID") for message in mailoutbox]
    for message_id, event_kind in zip(
        ids, (EventKind.CREATED, EventKind.REPLIED, EventKind.RESOLVED), strict=True
    ):
        match = MESSAGE_ID.fullmatch(message_id)
        assert match is not None, message_id
        assert int(match[1]) == ticket.pk
        assert int(match[2]) == last(ticket, event_kind).pk
    assert len(set(ids)) == 3
    assert header(received, "In-Reply-To") == "" and header(received, "References") == ""
    assert header(replied, "In-Reply-To") == ids[0]
    assert header(replied, "References") == ids[0]
    assert header(resolved, "In-Reply-To") == ids[1]
    assert header(resolved, "References") == f"{ids[0]} {ids[1]}"
    for message in mailoutbox:
        assert message.subject.startswith(f"[{ticket.reference}] ")
        assert message.reply_to == [reply_address(ticket.pk, world.admin_a.user.email)]
        assert header(message, "Auto-Submitted") == "auto-generated"

    rows = list(OutgoingMail.objects.for_ticket(ticket.pk).values_list("message_id", "recipient"))
    assert rows == [(message_id, world.admin_a.user.email.lower()) for message_id in ids]
    assert OutgoingMail.objects.ticket_for_message_ids(["<unknown@x>", ids[1]]) == ticket.pk
    assert OutgoingMail.objects.ticket_for_message_ids(["<unknown@x>", " "]) is None


def test_the_reply_address_is_signed_for_this_ticket_and_this_customer(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    ticket = world.file()
    deliver(last(ticket, EventKind.CREATED))
    [message] = mailoutbox
    [address] = message.reply_to
    assert address.startswith(f"support+{ticket.reference}.")
    parsed = parse_reply_address(address)
    assert parsed is not None and parsed[0] == ticket.pk
    assert reply_tag_valid(ticket.pk, world.admin_a.user.email, parsed[1])
    assert not reply_tag_valid(ticket.pk, world.admin_b.user.email, parsed[1])
    assert not reply_tag_valid(ticket.pk + 1, world.admin_a.user.email, parsed[1])


def test_two_events_of_one_ticket_in_one_batch_are_chained(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    ticket = world.file()
    services.ticket_agent_reply(ticket=ticket, actor=agent(world), body="On it", now=T0 + M)
    assert deliver(last(ticket, EventKind.CREATED), last(ticket, EventKind.REPLIED)) == 2
    first, second = mailoutbox
    assert header(second, "In-Reply-To") == header(first, "Message-ID")


def test_staff_mail_threads_too_but_has_no_reply_address(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    ticket = world.file()
    deliver(last(ticket, EventKind.CREATED))
    services.ticket_assign(
        ticket=ticket,
        actor=Actor.for_user(world.supervisor),
        assignee=world.agent,
        now=T0 + M,
    )
    mailoutbox.clear()
    deliver(last(ticket, EventKind.ASSIGNED), now=T0 + 2 * M)
    [assigned] = [m for m in mailoutbox if m.to == [world.agent.email]]
    assert MESSAGE_ID.fullmatch(header(assigned, "Message-ID"))
    assert assigned.reply_to == []
    assert header(assigned, "Reply-To") == ""
    customer_mail = OutgoingMail.objects.get(event=last(ticket, EventKind.CREATED))
    assert header(assigned, "In-Reply-To") == customer_mail.message_id
    assert REPLY_ABOVE_MARKER not in assigned.body


def test_a_retried_delivery_sends_the_same_message_id_and_records_it_once(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    ticket = world.file()
    event = last(ticket, EventKind.CREATED)
    assert deliver(event) == 1
    # The worker sent the mail, but the mark was lost (say, a crash and a re-run).
    Event.objects.filter(pk=event.pk).update(delivered_at=None)
    assert deliver(event, now=T0 + 2 * M) == 1
    first, again = mailoutbox
    assert header(first, "Message-ID") == header(again, "Message-ID")
    assert header(again, "In-Reply-To") == ""  # never an answer to itself
    assert OutgoingMail.objects.for_ticket(ticket.pk).count() == 1


def test_a_failed_send_records_nothing_and_the_retry_records_one(
    world: World, mailoutbox: list[mail.EmailMessage], monkeypatch: Any
) -> None:
    ticket = world.file()
    event = last(ticket, EventKind.CREATED)
    real_send = EmailMultiAlternatives.send

    def failing(self: EmailMultiAlternatives, fail_silently: bool = False) -> int:
        raise OSError("mail server down")

    monkeypatch.setattr(EmailMultiAlternatives, "send", failing)
    assert deliver(event) == 0
    assert not OutgoingMail.objects.exists()
    monkeypatch.setattr(EmailMultiAlternatives, "send", real_send)
    assert outbox.deliver_pending(now=T0 + H) == 1
    [sent] = mailoutbox
    assert OutgoingMail.objects.get().message_id == header(sent, "Message-ID")


@pytest.mark.parametrize(
    ("language", "instruction"),
    [
        ("en", "type your answer above the line marked ##-"),
        ("pl", "wpisz odpowiedź nad linią oznaczoną ##-"),
    ],
)
def test_customer_mail_ends_with_the_reply_above_marker(
    world: World, mailoutbox: list[mail.EmailMessage], language: str, instruction: str
) -> None:
    ticket = world.file(language=language)
    deliver(last(ticket, EventKind.CREATED))
    [message] = mailoutbox
    assert REPLY_ABOVE_MARKER in message.body.splitlines()
    assert instruction in message.body
    assert "not read" not in message.body and "nie są czytane" not in message.body
    assert REPLY_ABOVE_MARKER in html(message)
    assert instruction in html(message)


def test_references_keep_the_first_and_the_latest_and_end_with_the_parent() -> None:
    sent = [("anna@x.test", f"<m{i}@d>") for i in range(30)] + [("boss@x.test", "<b@d>")]
    headers = thread_headers(sent, "anna@x.test")
    assert headers["In-Reply-To"] == "<m29@d>"
    references = headers["References"].split()
    assert references[0] == "<m0@d>" and references[-1] == "<m29@d>"
    assert len(references) == REFERENCES_KEPT_LATEST + 2
    assert "<b@d>" in references
    assert thread_headers(sent, "new@x.test")["In-Reply-To"] == "<b@d>"
    assert thread_headers([], "anna@x.test") == {}

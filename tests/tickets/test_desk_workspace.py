"""The desk's ticket workspace (issue 7): replies, notes, asking for information,
escalation by hand, resolve and reopen, the ledger bar, macros and masked contacts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tenants.models import RegisteredEmail, RegisteredPhone
from tests.conftest import World
from tickets import services
from tickets.actors import Actor
from tickets.models import EventKind, Macro, MessageKind, Status, Ticket

pytestmark = pytest.mark.django_db


def _url(name: str, ticket: Ticket) -> str:
    return reverse(name, kwargs={"number": ticket.pk})


def test_a_public_reply_meets_the_first_response_and_records_its_target(
    world: World, client: Client
) -> None:
    ticket = world.file()
    due = ticket.response_due_at
    client.force_login(world.agent)
    response = client.post(
        _url("desk:ticket_reply", ticket), {"reply-body": "We are on it.", "reply-action": "reply"}
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.first_response_at is not None
    assert ticket.first_response_due_at == due
    message = ticket.messages.get()
    assert (message.kind, message.body, message.author) == (
        MessageKind.REPLY,
        "We are on it.",
        world.agent,
    )


def test_asking_for_information_pauses_the_response_clock(world: World, client: Client) -> None:
    ticket = world.file()
    client.force_login(world.agent)
    client.post(
        _url("desk:ticket_reply", ticket),
        {"reply-body": "Which mailbox?", "reply-action": "request_information"},
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.AWAITING_CUSTOMER
    assert ticket.response_due_at is None
    assert ticket.customer_due_at is not None
    assert ticket.events.filter(kind=EventKind.INFORMATION_REQUESTED).exists()
    page = client.get(_url("desk:ticket", ticket)).content.decode()
    assert "Response clock paused" in page
    assert 'data-countdown="customer"' in page
    # Asking again while it waits is refused next to the field, nothing is written.
    again = client.post(
        _url("desk:ticket_reply", ticket),
        {"reply-body": "And?", "reply-action": "request_information"},
    )
    assert again.status_code == 400
    assert again.context["reply_form"].errors
    assert ticket.messages.count() == 1


def test_internal_notes_are_apart_from_replies(world: World, client: Client) -> None:
    ticket = world.file()
    client.force_login(world.agent)
    client.post(_url("desk:ticket_note", ticket), {"note-body": "Customer is VIP"})
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW  # a note is no response
    assert ticket.first_response_at is None
    assert ticket.messages.get().kind == MessageKind.NOTE
    page = client.get(_url("desk:ticket", ticket)).content.decode()
    assert "Only support sees this" in page
    assert "message-note" in page
    # The customer's portal does not show it.
    client.force_login(world.admin_a.user)
    portal = client.get(
        reverse("portal:request_detail", kwargs={"org": "alpha", "number": ticket.pk})
    )
    assert "Customer is VIP" not in portal.content.decode()


@pytest.mark.parametrize(
    ("name", "data", "field"),
    [
        ("desk:ticket_reply", {"reply-body": "  ", "reply-action": "reply"}, "body"),
        ("desk:ticket_reply", {"reply-body": "x", "reply-action": "delete"}, "action"),
        ("desk:ticket_note", {"note-body": ""}, "body"),
        ("desk:ticket_escalate", {"escalate-reason": " "}, "reason"),
    ],
)
def test_bad_input_is_an_error_next_to_the_field(
    world: World, client: Client, name: str, data: dict[str, str], field: str
) -> None:
    ticket = world.file()
    client.force_login(world.agent)
    response = client.post(_url(name, ticket), data)
    assert response.status_code == 400
    forms = [f for f in (response.context[n] for n in ("reply_form", "note_form", "escalate_form"))]
    assert any(field in f.errors for f in forms)
    assert list(ticket.events.values_list("kind", flat=True)) == [EventKind.CREATED]


def test_escalating_by_hand_records_who_and_why(world: World, client: Client) -> None:
    ticket = world.file()
    client.force_login(world.agent)
    url = _url("desk:ticket_escalate", ticket)
    client.post(url, {"escalate-reason": "Customer's CEO called"})
    ticket.refresh_from_db()
    assert ticket.escalation_level == 1
    event = ticket.events.get(kind=EventKind.ESCALATED)
    assert event.actor_user == world.agent
    assert event.reason == "Customer's CEO called"
    assert (event.before, event.after) == ({"level": 0}, {"level": 1, "manual": True})
    client.post(url, {"escalate-reason": "Still down after an hour"})
    ticket.refresh_from_db()
    assert ticket.escalation_level == 2
    # Level 2 is the top: refused, nothing more written.
    response = client.post(url, {"escalate-reason": "Again"})
    assert response.status_code == 400
    assert ticket.events.filter(kind=EventKind.ESCALATED).count() == 2
    assert "already escalated" in response.content.decode()


def test_escalation_needs_an_active_request_and_an_agent(world: World) -> None:
    ticket = world.file()
    with pytest.raises(services.TicketError):
        services.ticket_escalate(
            ticket=ticket, actor=Actor.for_member(world.admin_a), reason="x", now=timezone.now()
        )
    services.ticket_resolve(
        ticket=ticket, actor=Actor.for_user(world.agent), reason="", now=timezone.now()
    )
    with pytest.raises(services.TicketError):
        services.ticket_escalate(
            ticket=ticket, actor=Actor.for_user(world.agent), reason="x", now=timezone.now()
        )
    assert not ticket.events.filter(kind=EventKind.ESCALATED).exists()


def test_escalating_keeps_the_deadline_and_skips_the_reached_step(world: World) -> None:
    ticket = world.file()
    due = ticket.response_due_at
    services.ticket_escalate(
        ticket=ticket, actor=Actor.for_user(world.agent), reason="x", now=timezone.now()
    )
    ticket.refresh_from_db()
    assert ticket.response_due_at == due
    # Level 1 is reached: the workers' next step is the warning or the second escalation.
    assert ticket.next_action_at != due


def test_resolve_and_reopen(world: World, client: Client) -> None:
    ticket = world.file()
    client.force_login(world.agent)
    reopen = _url("desk:ticket_reopen", ticket)
    # Reopening an open request is an illegal transition, shown as a form error.
    response = client.post(reopen, {"reopen-reason": "x"})
    assert response.status_code == 400
    assert "Only a resolved request" in response.content.decode()
    client.post(_url("desk:ticket_resolve", ticket), {"resolve-reason": "Fixed the connector"})
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert ticket.events.get(kind=EventKind.RESOLVED).reason == "Fixed the connector"
    page = client.get(_url("desk:ticket", ticket)).content.decode()
    assert "Mark as resolved" not in page
    assert "Why reopen" in page
    client.post(reopen, {"reopen-reason": "It came back"})
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_the_ledger_bar_draws_every_stretch(world: World, client: Client) -> None:
    now = timezone.now()
    ticket = world.file(now=now - timedelta(hours=30))
    client.force_login(world.agent)
    response = client.get(_url("desk:ticket", ticket))
    bar = response.context["bar"]
    assert bar is not None
    kinds = {s.kind for s in bar.segments}
    # B/C technical works 09:00–24:00 Beijing time: 30 hours hold both.
    assert {"running", "out_of_hours"} <= kinds
    assert all(0 <= s.x <= 1000 and s.width > 0 for s in bar.segments)
    assert bar.segments == sorted(bar.segments, key=lambda s: s.start)
    body = response.content.decode()
    assert 'role="img"' in body
    assert "seg-out_of_hours" in body
    assert "Out of hours" in body


def test_macros_are_offered_in_the_tickets_language_first(world: World, client: Client) -> None:
    Macro.objects.create(name="Przywitanie", language="pl", body="Dzień dobry")
    Macro.objects.create(name="Greeting", language="en", body="Hello,\nthanks for writing.")
    Macro.objects.create(name="Old", language="en", body="unused", is_active=False)
    ticket = world.file()
    client.force_login(world.agent)
    response = client.get(_url("desk:ticket", ticket))
    groups = response.context["macros"]
    assert [name for name, _ in groups] == ["English", "Polski"]
    body = response.content.decode()
    assert 'data-macro-target="id_reply-body"' in body
    assert 'data-body="Hello,\nthanks for writing."' in body
    assert "unused" not in body


def test_registered_contacts_are_masked(world: World, client: Client) -> None:
    RegisteredPhone.objects.create(organization=world.org_a, number="+48600100123")
    RegisteredEmail.objects.create(organization=world.org_a, email="jan.kowalski@contoso.com")
    ticket = world.file()
    client.force_login(world.agent)
    body = client.get(_url("desk:ticket", ticket)).content.decode()
    assert "+48 *** *** 123" in body
    assert "j***@contoso.com" in body
    assert "600100123" not in body
    assert "jan.kowalski" not in body
    assert "Advanced (premium)" in body


def test_unknown_tickets_and_customers_get_404(world: World, client: Client) -> None:
    ticket = world.file()
    client.force_login(world.agent)
    for name in ("desk:ticket_reply", "desk:ticket_note", "desk:ticket_escalate"):
        assert client.post(reverse(name, kwargs={"number": "SR-999999"})).status_code == 404
        assert client.post(reverse(name, kwargs={"number": "nonsense"})).status_code == 404
    client.force_login(world.admin_a.user)
    response = client.post(
        _url("desk:ticket_reply", ticket), {"reply-body": "hi", "reply-action": "reply"}
    )
    assert response.status_code == 404
    assert not ticket.messages.exists()


@pytest.mark.parametrize("notes", [1, 12])
def test_the_workspace_queries_do_not_grow_with_the_conversation(
    world: World, client: Client, django_assert_max_num_queries: object, notes: int
) -> None:
    RegisteredPhone.objects.create(organization=world.org_a, number="+48600100123")
    Macro.objects.create(name="Greeting", language="en", body="Hello")
    ticket = world.file(now=timezone.now() - timedelta(hours=5))
    for index in range(notes):
        services.ticket_internal_note(
            ticket=ticket, actor=Actor.for_user(world.agent), body=f"n{index}", now=timezone.now()
        )
    client.force_login(world.supervisor)
    # Session, user, the session's second factor, ticket, SLA policy, target and history
    # (the ledger), agents, contacts (2), macros, navigation, heartbeat, messages,
    # timeline, the projection's history, files and following.
    with django_assert_max_num_queries(18):  # type: ignore[operator]
        response = client.get(_url("desk:ticket", ticket))
    assert response.status_code == 200
    assert response.content.decode().count("message-note") == notes

"""Issue 16: the workspace centred on the conversation, and two agents on one request —
replying assigns, a stale reply is held, presence, macros with placeholders."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import World
from tests.factories import AgentFactory
from tickets import presence, services
from tickets.actors import Actor
from tickets.collision import StaleReply
from tickets.macros import fill
from tickets.models import ActorKind, Event, EventKind, Macro, Message, MessageKind, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    cache.clear()


def _url(name: str, ticket: Ticket) -> str:
    return reverse(name, kwargs={"number": ticket.pk})


def _newest(ticket: Ticket) -> int:
    return ticket.events.order_by("-pk").values_list("pk", flat=True)[0]


# --- Services -------------------------------------------------------------------------------


def test_a_reply_assigns_an_unassigned_request_to_the_replier(world: World) -> None:
    ticket = world.file()
    services.ticket_agent_reply(
        ticket=ticket, actor=Actor.for_user(world.agent), body="On it.", now=timezone.now()
    )
    ticket.refresh_from_db()
    assert ticket.assignee == world.agent
    assigned = ticket.events.get(kind=EventKind.ASSIGNED)
    assert assigned.before == {"assignee": None}
    assert assigned.after["assignee"] == world.agent.email
    assert assigned.actor_user == world.agent


def test_a_reply_leaves_someone_elses_request_and_notes_never_assign(world: World) -> None:
    ticket = world.file()
    services.ticket_internal_note(
        ticket=ticket, actor=Actor.for_user(world.agent), body="Looking", now=timezone.now()
    )
    ticket.refresh_from_db()
    assert ticket.assignee is None
    services.ticket_assign(
        ticket=ticket,
        actor=Actor.for_user(world.supervisor),
        assignee=world.supervisor,
        now=timezone.now(),
    )
    services.ticket_agent_reply(
        ticket=ticket, actor=Actor.for_user(world.agent), body="Hi", now=timezone.now()
    )
    ticket.refresh_from_db()
    assert ticket.assignee == world.supervisor


def test_reply_assigns_can_be_switched_off(world: World, settings: object) -> None:
    settings.SUPPORTDESK = dataclasses.replace(  # type: ignore[attr-defined]
        settings.SUPPORTDESK,  # type: ignore[attr-defined]
        REPLY_ASSIGNS=False,
    )
    ticket = world.file()
    services.ticket_request_information(
        ticket=ticket, actor=Actor.for_user(world.agent), body="Which?", now=timezone.now()
    )
    ticket.refresh_from_db()
    assert ticket.assignee is None
    assert not ticket.events.filter(kind=EventKind.ASSIGNED).exists()


def test_a_reply_written_before_a_customer_answer_is_held(world: World) -> None:
    ticket = world.file()
    agent = Actor.for_user(world.agent)
    services.ticket_request_information(
        ticket=ticket, actor=agent, body="Which?", now=timezone.now()
    )
    seen = _newest(ticket)
    services.ticket_customer_reply(
        ticket=ticket, actor=Actor.for_member(world.admin_a), body="All", now=timezone.now()
    )
    with pytest.raises(StaleReply) as held:
        services.ticket_agent_reply(
            ticket=ticket, actor=agent, body="Fixed", now=timezone.now(), seen_event_id=seen
        )
    assert held.value.code == "stale"
    assert held.value.http_status == 409
    assert [e.kind for e in held.value.events] == [EventKind.CUSTOMER_REPLIED]
    assert ticket.messages.count() == 2  # nothing written
    # Sent anyway (no mark), it goes out.
    services.ticket_agent_reply(ticket=ticket, actor=agent, body="Fixed", now=timezone.now())
    assert ticket.messages.count() == 3


def test_only_others_replies_and_status_changes_make_a_reply_stale(world: World) -> None:
    ticket = world.file()
    me, other = Actor.for_user(world.agent), Actor.for_user(world.supervisor)
    seen = _newest(ticket)
    # My own note, a note of another agent and an assignment are no news for the customer.
    services.ticket_internal_note(ticket=ticket, actor=me, body="mine", now=timezone.now())
    services.ticket_internal_note(ticket=ticket, actor=other, body="theirs", now=timezone.now())
    services.ticket_assign(
        ticket=ticket, actor=other, assignee=world.supervisor, now=timezone.now()
    )
    services.ticket_agent_reply(
        ticket=ticket, actor=me, body="first", now=timezone.now(), seen_event_id=seen
    )
    # Another agent's reply is.
    seen = _newest(ticket)
    services.ticket_agent_reply(ticket=ticket, actor=other, body="second", now=timezone.now())
    with pytest.raises(StaleReply) as held:
        services.ticket_request_information(
            ticket=ticket, actor=me, body="third", now=timezone.now(), seen_event_id=seen
        )
    assert [e.actor_user for e in held.value.events] == [world.supervisor]


# --- Macros ---------------------------------------------------------------------------------


def test_fill_replaces_only_the_known_placeholders_once() -> None:
    values = {"requester_name": "{reference}", "reference": "SR-1"}
    assert fill("Hi {requester_name}, {reference} {unknown} {", values) == (
        "Hi {reference}, SR-1 {unknown} {"
    )
    assert fill("{{ request.user }} {% now %}", values) == "{{ request.user }} {% now %}"


def test_macros_are_filled_for_the_request_and_escaped(world: World, client: Client) -> None:
    world.admin_a.user.full_name = "<script>alert(1)</script>{{ settings.SECRET_KEY }}"
    world.admin_a.user.save()
    Macro.objects.create(
        name="Ack", language="en", body="Hello {requester_name}, {reference} by {due_time}."
    )
    ticket = world.file()
    client.force_login(world.agent)
    body = client.get(_url("desk:ticket", ticket)).content.decode()
    assert "<script>alert(1)" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;{{ settings.SECRET_KEY }}, " in body
    assert f"{ticket.reference} by " in body
    assert "{due_time}" not in body


# --- The page -------------------------------------------------------------------------------


def test_the_thread_starts_with_the_request_and_keeps_time_order(
    world: World, client: Client
) -> None:
    now = timezone.now()
    ticket = world.file(now=now - timedelta(hours=3))
    agent = Actor.for_user(world.agent)
    services.ticket_internal_note(
        ticket=ticket, actor=agent, body="note one", now=now - timedelta(hours=2)
    )
    services.ticket_request_information(
        ticket=ticket, actor=agent, body="question two", now=now - timedelta(hours=1)
    )
    services.ticket_customer_reply(
        ticket=ticket, actor=Actor.for_member(world.admin_a), body="answer three", now=now
    )
    Event.objects.create(
        organization=ticket.organization,
        ticket=ticket,
        kind=EventKind.WARNED,
        actor_kind=ActorKind.SYSTEM,
        actor_label="sweep",
        created_at=now + timedelta(minutes=1),
    )
    client.force_login(world.agent)
    response = client.get(_url("desk:ticket", ticket))
    thread = response.context["thread"]
    # The assignment by the reply comes just before the reply it came with.
    kinds = [e.kind for e in thread]
    assert kinds == ["request", "note", "system", "agent", "customer", "system"]
    assert thread[2].event.kind == EventKind.ASSIGNED
    assert thread[0].author == world.admin_a.user.get_full_name()
    body = response.content.decode()
    order = [
        body.index(t) for t in (ticket.description, "note one", "question two", "answer three")
    ]
    assert order == sorted(order)
    assert "Automatic SLA check" in body
    assert "· sweep" not in body
    assert "No messages yet" not in body


def test_one_composer_sends_a_note_or_a_reply(world: World, client: Client) -> None:
    ticket = world.file()
    client.force_login(world.agent)
    page = client.get(_url("desk:ticket", ticket)).content.decode()
    assert page.count('id="composer-form"') == 1
    assert 'value="public" checked' in page
    assert 'name="reply-action" value="note"' in page
    response = client.post(
        _url("desk:ticket_reply", ticket),
        {"reply-mode": "note", "reply-body": "Internal only", "reply-action": "note"},
    )
    assert response.status_code == 302
    assert ticket.messages.get().kind == MessageKind.NOTE
    ticket.refresh_from_db()
    assert ticket.assignee is None  # a note does not assign
    client.post(
        _url("desk:ticket_reply", ticket),
        {"reply-mode": "public", "reply-body": "Public", "reply-action": "reply"},
    )
    assert list(ticket.messages.values_list("kind", flat=True)) == ["note", "reply"]
    ticket.refresh_from_db()
    assert ticket.assignee == world.agent


def test_a_resolved_request_offers_only_the_note(world: World, client: Client) -> None:
    ticket = world.file()
    services.ticket_resolve(
        ticket=ticket, actor=Actor.for_user(world.agent), reason="", now=timezone.now()
    )
    client.force_login(world.agent)
    page = client.get(_url("desk:ticket", ticket)).content.decode()
    assert 'value="public"' not in page
    assert 'value="note" checked' in page
    assert 'value="request_information"' not in page


def test_a_stale_reply_comes_back_with_the_draft_and_what_is_new(
    world: World, client: Client
) -> None:
    ticket = world.file()
    client.force_login(world.agent)
    page = client.get(_url("desk:ticket", ticket))
    seen = page.context["newest_event_id"]
    assert f'name="reply-seen_event" value="{seen}"' in page.content.decode()
    services.ticket_agent_reply(
        ticket=ticket,
        actor=Actor.for_user(world.supervisor),
        body="Colleague was faster",
        now=timezone.now(),
    )
    response = client.post(
        _url("desk:ticket_reply", ticket),
        {"reply-body": "My late draft", "reply-action": "reply", "reply-seen_event": seen},
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert "New activity since you started" in body
    assert "My late draft</textarea>" in body
    assert "Send anyway" in body
    assert Message.objects.filter(body="My late draft").count() == 0
    # The page now shows the new state: sending anyway (or again) goes out.
    anyway = client.post(
        _url("desk:ticket_reply", ticket),
        {"reply-body": "My late draft", "reply-send_anyway": "reply", "reply-seen_event": seen},
    )
    assert anyway.status_code == 302
    assert Message.objects.filter(body="My late draft").count() == 1


def test_the_sla_strip_says_at_risk_past_the_warning(world: World, client: Client) -> None:
    ticket = world.file()
    now = timezone.now()
    Ticket.objects.filter(pk=ticket.pk).update(
        response_due_at=now + timedelta(hours=1), response_warning_at=now - timedelta(minutes=1)
    )
    client.force_login(world.agent)
    response = client.get(_url("desk:ticket", ticket))
    assert response.context["sla"].state == "at_risk"
    assert "At risk" in response.content.decode()


# --- Presence -------------------------------------------------------------------------------


def test_presence_shows_the_other_agents_viewing_and_replying(world: World, client: Client) -> None:
    ticket = world.file()
    other = Client()
    other.force_login(world.supervisor)
    other.get(_url("desk:ticket", ticket))
    client.force_login(world.agent)
    page = client.get(_url("desk:ticket", ticket)).content.decode()
    name = world.supervisor.get_full_name()
    assert f"{name} is viewing" in page
    assert "hx-post" in page and _url("desk:ticket_presence", ticket) in page
    other.post(_url("desk:ticket_presence", ticket), {"state": "replying"})
    fragment = client.post(_url("desk:ticket_presence", ticket), {"state": "viewing"})
    assert fragment.status_code == 200
    text = fragment.content.decode()
    assert f"{name} is replying" in text
    assert world.agent.get_full_name() not in text  # not oneself
    # An unknown state is "viewing"; entries expire.
    other.post(_url("desk:ticket_presence", ticket), {"state": "<b>"})
    assert (
        f"{name} is viewing" in client.post(_url("desk:ticket_presence", ticket)).content.decode()
    )
    later = timezone.now() + timedelta(seconds=presence.TTL + 1)
    assert presence.present_on(ticket.pk, now=later) == []


def test_presence_is_for_agents_only(world: World, client: Client) -> None:
    ticket = world.file()
    client.force_login(world.admin_a.user)
    assert client.post(_url("desk:ticket_presence", ticket)).status_code == 404
    client.force_login(AgentFactory())
    assert client.get(_url("desk:ticket_presence", ticket)).status_code == 405


def test_the_ticket_page_queries_are_pinned(
    world: World, client: Client, django_assert_max_num_queries: object
) -> None:
    Macro.objects.create(name="Ack", language="en", body="Hello {requester_name}")
    ticket = world.file(now=timezone.now() - timedelta(hours=4))
    agent = Actor.for_user(world.agent)
    for index in range(8):
        services.ticket_internal_note(
            ticket=ticket, actor=agent, body=f"n{index}", now=timezone.now()
        )
    services.ticket_agent_reply(ticket=ticket, actor=agent, body="reply", now=timezone.now())
    client.force_login(world.agent)
    # Session, user, the reader's zone, ticket, ledger (policy, history twice), files,
    # messages, events, agents, contacts (2), macros, navigation, heartbeat, following.
    with django_assert_max_num_queries(17):  # type: ignore[operator]
        response = client.get(_url("desk:ticket", ticket))
    assert response.status_code == 200

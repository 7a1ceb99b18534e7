"""Ticket services: every legal transition, every illegal one, and the Event each writes."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from tenants.models import Role
from tests.conftest import T0, World
from tests.factories import MembershipFactory
from tickets import services
from tickets.actors import Actor
from tickets.intake import TicketDraft
from tickets.models import ActorKind, Event, EventKind, MessageKind, Status, Ticket
from tickets.services import TicketError

pytestmark = pytest.mark.django_db

MIN = timedelta(minutes=1)


def kinds(ticket: Ticket) -> list[str]:
    return list(ticket.events.order_by("created_at", "pk").values_list("kind", flat=True))


def test_create_records_the_opening_and_assesses_severity(world: World) -> None:
    ticket = world.file(impact="service_down", scope="many")
    assert ticket.status == Status.NEW
    # Alpha has the advanced contract but gave no business-impact statement: A is capped.
    assert ticket.severity == "B"
    assert "business impact" in ticket.severity_reason
    event = ticket.events.get()
    assert event.kind == EventKind.CREATED
    assert event.actor_kind == ActorKind.USER
    assert event.actor_user == world.admin_a.user
    assert event.after["status"] == "new"
    assert event.after["matrix_severity"] == "A"
    assert ticket.reference == f"SR-{ticket.pk:06d}"


def test_create_with_statement_and_contact_is_a(world: World) -> None:
    ticket = world.file(
        impact="service_down",
        scope="many",
        business_impact="All 4,000 staff cannot send mail; orders stopped.",
        contact_24x7="Jan Nowak +48 601 234 567",
    )
    assert ticket.severity == ticket.original_severity == "A"


def test_standard_contract_a_is_filed_as_b_with_the_reason(world: World) -> None:
    ticket = world.file(
        world.admin_b,
        impact="service_down",
        scope="many",
        business_impact="Nobody can work.",
        contact_24x7="Ops desk +1 212 555 0100",
    )
    assert ticket.severity == "B"
    assert "advanced support agreement" in ticket.severity_reason


def test_role_rules_refuse_with_a_clear_message(world: World) -> None:
    billing = MembershipFactory(organization=world.org_a, role=Role.BILLING_ADMIN)
    with pytest.raises(TicketError) as refused:
        world.file(billing, category="technical")
    assert refused.value.code == "forbidden_category"
    assert "cannot file" in refused.value.message
    with pytest.raises(TicketError):
        world.file(world.user_a)
    assert not Ticket.objects.exists()
    assert not Event.objects.exists()
    assert world.file(billing, category="billing").category == "billing"


def test_create_needs_a_contact_and_a_phone_for_phone_contact(world: World) -> None:
    with pytest.raises(TicketError) as no_contact:
        world.file(contact_email="")
    assert no_contact.value.message == str(services.ERR_NO_CONTACT)
    with pytest.raises(TicketError) as no_phone:
        world.file(preferred_contact="phone")
    assert no_phone.value.field == "contact_phone"
    assert not Ticket.objects.exists()


def test_invalid_choice_is_refused_without_a_write(world: World) -> None:
    with pytest.raises(services.TicketError) as refused:
        world.file(impact="apocalyptic")
    assert (refused.value.code, refused.value.field) == ("invalid_choice", "impact")
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "x" * 201),
        ("contact_24x7", "x" * 201),
        ("contact_email", "not an address"),
        ("contact_phone", "12"),
        ("caller_phone", "12"),
        ("channel", "pigeon"),
    ],
)
def test_the_models_limits_refuse_on_their_field_whatever_the_channel(
    world: World, field: str, value: str
) -> None:
    with pytest.raises(services.TicketError) as refused:
        world.file(**{field: value})
    assert (refused.value.code, refused.value.field) == ("invalid", field)
    assert not Ticket.objects.exists()


def test_every_field_of_a_draft_is_checked_by_the_rules_or_the_model() -> None:
    # A new draft field that neither draft_problems nor the model's limits check would be
    # stored unchecked from a channel that skipped its own parsing.
    checked_by_the_rules = {"category", "impact", "scope", "preferred_contact", "language"}
    checked_by_the_rules |= {"product"}  # must exist and be offered (POL-REQ-3)
    drafted = {field.name for field in dataclasses.fields(TicketDraft)}
    assert drafted <= checked_by_the_rules | services._MODEL_CHECKED


def test_full_life_cycle_writes_an_event_for_every_change(world: World) -> None:
    agent = Actor.for_user(world.agent)
    customer = Actor.for_member(world.admin_a)
    ticket = world.file()
    services.ticket_assign(ticket=ticket, actor=agent, assignee=world.agent, now=T0 + MIN)
    services.ticket_internal_note(
        ticket=ticket, actor=agent, body="Checking logs", now=T0 + 2 * MIN
    )
    services.ticket_agent_reply(ticket=ticket, actor=agent, body="Looking at it", now=T0 + 3 * MIN)
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.first_response_at == T0 + 3 * MIN
    services.ticket_request_information(
        ticket=ticket, actor=agent, body="Send the message trace", now=T0 + 4 * MIN
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.AWAITING_CUSTOMER
    assert ticket.first_response_at == T0 + 3 * MIN  # the first answer stays the first
    services.ticket_customer_reply(ticket=ticket, actor=customer, body="Attached", now=T0 + 5 * MIN)
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    services.ticket_resolve(ticket=ticket, actor=agent, reason="Connector fixed", now=T0 + 6 * MIN)
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert ticket.resolved_at == T0 + 6 * MIN
    services.ticket_reopen(ticket=ticket, actor=customer, reason="Back again", now=T0 + 7 * MIN)
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.resolved_at is None
    services.ticket_resolve(ticket=ticket, actor=agent, reason="Fixed again", now=T0 + 8 * MIN)
    services.ticket_close(ticket=ticket, actor=agent, now=T0 + 9 * MIN)
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    assert kinds(ticket) == [
        EventKind.CREATED,
        EventKind.ASSIGNED,
        EventKind.NOTED,
        EventKind.REPLIED,
        EventKind.INFORMATION_REQUESTED,
        EventKind.CUSTOMER_REPLIED,
        EventKind.RESOLVED,
        EventKind.REOPENED,
        EventKind.RESOLVED,
        EventKind.CLOSED,
    ]
    statuses = [e.after.get("status") for e in ticket.events.order_by("created_at", "pk")]
    assert statuses == [
        "new", None, None, "open", "awaiting_customer", "open",
        "resolved", "open", "resolved", "closed",
    ]  # fmt: skip
    assert ticket.messages.filter(kind=MessageKind.NOTE).count() == 1
    assert ticket.messages.filter(kind=MessageKind.REPLY).count() == 3


def test_closed_ticket_refuses_everything(world: World) -> None:
    agent = Actor.for_user(world.agent)
    customer = Actor.for_member(world.admin_a)
    ticket = world.file()
    services.ticket_resolve(ticket=ticket, actor=agent, reason="", now=T0 + MIN)
    services.ticket_close(ticket=ticket, actor=agent, now=T0 + 2 * MIN)
    events_before = Event.objects.count()
    attempts = [
        lambda: services.ticket_agent_reply(ticket=ticket, actor=agent, body="x", now=T0),
        lambda: services.ticket_internal_note(ticket=ticket, actor=agent, body="x", now=T0),
        lambda: services.ticket_request_information(ticket=ticket, actor=agent, body="x", now=T0),
        lambda: services.ticket_customer_reply(ticket=ticket, actor=customer, body="x", now=T0),
        lambda: services.ticket_assign(ticket=ticket, actor=agent, assignee=world.agent, now=T0),
        lambda: services.ticket_resolve(ticket=ticket, actor=agent, reason="", now=T0),
        lambda: services.ticket_reopen(ticket=ticket, actor=agent, reason="", now=T0),
        lambda: services.ticket_close(ticket=ticket, actor=agent, now=T0),
    ]
    for attempt in attempts:
        with pytest.raises(TicketError) as refused:
            attempt()
        assert refused.value.code == "illegal_transition"
        assert refused.value.message == str(services.ERR_CLOSED)
    assert Event.objects.count() == events_before


@pytest.mark.parametrize(
    ("status_path", "operation", "message"),
    [
        ([], "reopen", services.ERR_NOT_RESOLVED),
        ([], "close", services.ERR_NOT_RESOLVED),
        (["request_information"], "request_information", services.ERR_ALREADY_WAITING),
        (["resolve"], "resolve", services.ERR_ALREADY_RESOLVED),
        (["resolve"], "agent_reply", services.ERR_NOT_ACTIVE),
        (["resolve"], "request_information", services.ERR_NOT_ACTIVE),
        (["resolve"], "assign", services.ERR_NOT_ACTIVE),
    ],
)
def test_illegal_transitions_change_nothing(
    world: World, status_path: list[str], operation: str, message: object
) -> None:
    agent = Actor.for_user(world.agent)
    ticket = world.file()
    step = T0
    calls = {
        "request_information": lambda t, at: services.ticket_request_information(
            ticket=t, actor=agent, body="Need logs", now=at
        ),
        "resolve": lambda t, at: services.ticket_resolve(ticket=t, actor=agent, reason="", now=at),
        "reopen": lambda t, at: services.ticket_reopen(ticket=t, actor=agent, reason="", now=at),
        "close": lambda t, at: services.ticket_close(ticket=t, actor=agent, now=at),
        "agent_reply": lambda t, at: services.ticket_agent_reply(
            ticket=t, actor=agent, body="Hi", now=at
        ),
        "assign": lambda t, at: services.ticket_assign(
            ticket=t, actor=agent, assignee=world.agent, now=at
        ),
    }
    for name in status_path:
        step += MIN
        calls[name](ticket, step)
    ticket.refresh_from_db()
    snapshot = (ticket.status, ticket.assignee_id, ticket.updated_at, Event.objects.count())
    with pytest.raises(TicketError) as refused:
        calls[operation](ticket, step + MIN)
    assert refused.value.message == str(message)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee_id, ticket.updated_at, Event.objects.count()) == snapshot


def test_only_staff_act_as_support(world: World) -> None:
    ticket = world.file()
    customer = Actor.for_member(world.admin_a)
    for call in (
        services.ticket_agent_reply,
        services.ticket_internal_note,
        services.ticket_request_information,
    ):
        with pytest.raises(TicketError) as refused:
            call(ticket=ticket, actor=customer, body="hello", now=T0)
        assert refused.value.code == "forbidden"
    with pytest.raises(TicketError):
        services.ticket_customer_reply(
            ticket=ticket, actor=Actor.for_user(world.agent), body="hi", now=T0
        )


def test_empty_messages_are_refused(world: World) -> None:
    ticket = world.file()
    with pytest.raises(TicketError) as refused:
        services.ticket_agent_reply(
            ticket=ticket, actor=Actor.for_user(world.agent), body="   ", now=T0
        )
    assert refused.value.field == "body"
    assert ticket.messages.count() == 0


def test_assignment_rules(world: World) -> None:
    agent = Actor.for_user(world.agent)
    supervisor = Actor.for_user(world.supervisor)
    ticket = world.file()
    with pytest.raises(TicketError) as not_agent:
        services.ticket_assign(ticket=ticket, actor=agent, assignee=world.admin_a.user, now=T0)
    assert not_agent.value.message == str(services.ERR_ASSIGNEE_NOT_AGENT)
    with pytest.raises(TicketError) as not_supervisor:
        services.ticket_assign(ticket=ticket, actor=agent, assignee=world.supervisor, now=T0)
    assert not_supervisor.value.message == str(services.ERR_ASSIGN_OTHERS)
    services.ticket_assign(ticket=ticket, actor=supervisor, assignee=world.agent, now=T0 + MIN)
    # Assigning to the current assignee changes nothing and records nothing.
    services.ticket_assign(ticket=ticket, actor=agent, assignee=world.agent, now=T0 + 2 * MIN)
    assigned = ticket.events.filter(kind=EventKind.ASSIGNED)
    assert assigned.count() == 1
    assert assigned.get().after == {"assignee": world.agent.email}
    services.ticket_assign(ticket=ticket, actor=agent, assignee=None, now=T0 + 3 * MIN)
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_bulk_assign_is_all_or_nothing(world: World) -> None:
    supervisor = Actor.for_user(world.supervisor)
    first, second = world.file(), world.file()
    services.ticket_resolve(ticket=second, actor=supervisor, reason="", now=T0 + MIN)
    with pytest.raises(TicketError):
        services.tickets_bulk_assign(
            tickets=[first, second], actor=supervisor, assignee=world.agent, now=T0 + 2 * MIN
        )
    first.refresh_from_db()
    assert first.assignee is None
    assert not Event.objects.filter(kind=EventKind.ASSIGNED).exists()


def test_customer_reply_to_resolved_request_reopens_it(world: World) -> None:
    ticket = world.file()
    services.ticket_resolve(
        ticket=ticket, actor=Actor.for_user(world.agent), reason="", now=T0 + MIN
    )
    services.ticket_customer_reply(
        ticket=ticket, actor=Actor.for_member(world.admin_a), body="Still broken", now=T0 + 2 * MIN
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    event = ticket.events.get(kind=EventKind.CUSTOMER_REPLIED)
    assert (event.before["status"], event.after["status"]) == ("resolved", "open")


def test_severity_override_keeps_caps_and_records_the_reason(world: World) -> None:
    agent = Actor.for_user(world.agent)
    ticket = world.file(world.admin_b, impact="minimal", scope="one")
    assert ticket.severity == "C"
    services.ticket_change_severity(
        ticket=ticket, actor=agent, severity="A", reason="Whole site is down", now=T0 + MIN
    )
    ticket.refresh_from_db()
    # Bravo has the standard contract: the override is capped at B (POL-SEV-5).
    assert ticket.severity == "B"
    assert ticket.original_severity == "C"
    event = ticket.events.get(kind=EventKind.SEVERITY_CHANGED)
    assert (event.before, event.after) == ({"severity": "C"}, {"severity": "B", "requested": "A"})
    assert event.reason == "Whole site is down"
    with pytest.raises(TicketError) as no_reason:
        services.ticket_change_severity(
            ticket=ticket, actor=agent, severity="C", reason=" ", now=T0 + 2 * MIN
        )
    assert no_reason.value.field == "reason"


def test_only_support_or_the_organizations_admins_resolve_reopen_close(world: World) -> None:
    ticket = world.file()
    plain_user = Actor.for_member(world.user_a)
    other_admin = Actor.for_member(world.admin_b)
    for actor in (plain_user, other_admin):
        with pytest.raises(TicketError) as refused:
            services.ticket_resolve(ticket=ticket, actor=actor, reason="", now=T0 + MIN)
        assert refused.value.message == str(services.ERR_NOT_ALLOWED)
    services.ticket_resolve(
        ticket=ticket, actor=Actor.for_member(world.admin_a), reason="Solved it", now=T0 + MIN
    )
    for actor in (plain_user, other_admin):
        with pytest.raises(TicketError):
            services.ticket_reopen(ticket=ticket, actor=actor, reason="", now=T0 + 2 * MIN)
        with pytest.raises(TicketError):
            services.ticket_close(ticket=ticket, actor=actor, now=T0 + 2 * MIN)
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED


def test_only_the_organizations_admins_reply_as_the_customer(world: World) -> None:
    ticket = world.file()
    for actor in (
        Actor.for_member(world.user_a),
        Actor.for_member(world.admin_b),
        Actor.system("sweep"),
    ):
        with pytest.raises(TicketError) as refused:
            services.ticket_customer_reply(ticket=ticket, actor=actor, body="hi", now=T0 + MIN)
        assert refused.value.message == str(services.ERR_CUSTOMER_ONLY)
    assert ticket.messages.count() == 0

"""Ticket clocks, hand-computed (SLA engine issue "Done when"), through the real services."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from severity.models import Calendar, CalendarHoliday, SlaTarget
from tenants.models import Contract, Role
from tests.conftest import World
from tests.factories import MembershipFactory, OrganizationFactory
from tickets import services
from tickets.actors import Actor
from tickets.clocks import explain

pytestmark = pytest.mark.django_db

BEIJING = ZoneInfo("Asia/Shanghai")
WARSAW = ZoneInfo("Europe/Warsaw")
UTC = ZoneInfo("UTC")
H = timedelta(hours=1)
A_READY = {
    "impact": "service_down",
    "scope": "many",
    "business_impact": "No one can send mail; sales are stopped.",
    "contact_24x7": "Duty IT +48 601 234 567",
}


def beijing(*args: int) -> datetime:
    return datetime(*args, tzinfo=BEIJING)  # type: ignore[misc]


def test_seeded_targets_follow_the_policy() -> None:
    targets = {(t.severity, t.category): t for t in SlaTarget.objects.select_related("calendar")}
    assert targets["A", "technical"].calendar.name == "24x7"
    assert targets["A", "technical"].first_response == H
    assert targets["A", "technical"].update_cadence == H
    assert targets["A", "technical"].cooperation_window == 4 * H
    assert targets["B", "technical"].first_response == 15 * H  # one B/C business day
    assert targets["B", "technical"].cooperation_window == 30 * H
    assert targets["C", "technical"].first_response == 45 * H
    assert targets["C", "technical"].cooperation_window == 75 * H
    assert targets["B", "billing"].first_response == 8 * H
    assert targets["B", "presales"].calendar.uses_organization_time_zone
    assert Calendar.objects.get(name="B/C technical").windows.count() == 7
    assert Calendar.objects.get(name="Billing").windows.count() == 5


def test_b_opened_1630_beijing_is_due_1630_next_day(world: World) -> None:
    ticket = world.file(now=beijing(2026, 6, 10, 16, 30))  # degraded × many → B
    assert ticket.severity == "B"
    assert ticket.response_due_at == beijing(2026, 6, 11, 16, 30)


def test_c_opened_friday_2300_beijing_is_due_45_working_hours_later(world: World) -> None:
    ticket = world.file(impact="minimal", scope="one", now=beijing(2026, 6, 12, 23, 0))
    assert ticket.severity == "C"
    # Fri 23–24 (1 h), Sat 15 h, Sun 15 h, Mon 09:00 + 14 h = Mon 23:00.
    assert ticket.response_due_at == beijing(2026, 6, 15, 23, 0)


def test_billing_b_opened_friday_1600_is_due_monday_1600(world: World) -> None:
    billing = MembershipFactory(organization=world.org_a, role=Role.BILLING_ADMIN)
    ticket = world.file(billing, category="billing", now=beijing(2026, 6, 12, 16, 0))
    assert ticket.severity == "B"
    assert ticket.response_due_at == beijing(2026, 6, 15, 16, 0)


def test_presales_follows_the_organizations_week_across_dst(world: World) -> None:
    warsaw = OrganizationFactory(slug="warsaw", time_zone="Europe/Warsaw")
    admin = MembershipFactory(organization=warsaw, role=Role.GLOBAL_ADMIN)
    opened = datetime(2026, 3, 27, 15, 0, tzinfo=WARSAW)  # Friday, CET (UTC+1)
    ticket = world.file(admin, category="presales", now=opened)
    due = datetime(2026, 3, 30, 15, 0, tzinfo=WARSAW)  # Monday, CEST (UTC+2)
    assert ticket.response_due_at == due
    assert ticket.response_due_at == datetime(2026, 3, 30, 13, 0, tzinfo=UTC)


def test_a_is_an_hour_around_the_clock_then_hourly_updates(world: World) -> None:
    opened = beijing(2026, 6, 13, 3, 0)  # Saturday night
    ticket = world.file(now=opened, **A_READY)
    assert ticket.severity == "A"
    assert ticket.response_due_at == opened + H
    agent = Actor.for_user(world.agent)
    services.ticket_agent_reply(ticket=ticket, actor=agent, body="On it", now=opened + 20 * 60 * S)
    ticket.refresh_from_db()
    # POL-SLA-1 continued work: the next update is due an hour after the last one.
    assert ticket.response_due_at == opened + 80 * 60 * S


S = timedelta(seconds=1)


def test_b_after_first_response_has_no_response_clock(world: World) -> None:
    ticket = world.file(now=beijing(2026, 6, 10, 10, 0))
    services.ticket_agent_reply(
        ticket=ticket, actor=Actor.for_user(world.agent), body="Hi", now=beijing(2026, 6, 10, 11)
    )
    ticket.refresh_from_db()
    assert ticket.response_due_at is None


def test_waiting_on_the_customer_pauses_the_response_clock(world: World) -> None:
    agent = Actor.for_user(world.agent)
    ticket = world.file(now=beijing(2026, 6, 10, 10, 0))  # B: due 10:00 + 15 h = next day 10:00
    assert ticket.response_due_at == beijing(2026, 6, 11, 10, 0)
    # A note does not stop the clock; asking for information is a first response.
    services.ticket_request_information(
        ticket=ticket, actor=agent, body="Which mailbox?", now=beijing(2026, 6, 10, 12, 0)
    )
    ticket.refresh_from_db()
    assert ticket.response_due_at is None
    # B cooperation window: 2 business days = 30 working hours from 12:00.
    # Wed 12–24 (12 h), Thu 15 h → 27 h, Fri 09:00 + 3 h = Fri 12:00.
    assert ticket.customer_due_at == beijing(2026, 6, 12, 12, 0)
    services.ticket_customer_reply(
        ticket=ticket,
        actor=Actor.for_member(world.admin_a),
        body="The CEO's",
        now=beijing(2026, 6, 10, 20, 0),
    )
    ticket.refresh_from_db()
    assert ticket.customer_due_at is None
    assert ticket.response_due_at is None  # B's first response was met; no cadence


def test_pause_shifts_the_first_response_deadline(world: World) -> None:
    """A customer-caused wait before the first answer: resolved then reopened."""
    ticket = world.file(**A_READY, now=datetime(2026, 6, 10, 10, 0, tzinfo=UTC))
    agent = Actor.for_user(world.agent)
    services.ticket_resolve(
        ticket=ticket, actor=agent, reason="dup", now=datetime(2026, 6, 10, 10, 20, tzinfo=UTC)
    )
    ticket.refresh_from_db()
    assert ticket.response_due_at is None
    services.ticket_reopen(
        ticket=ticket, actor=agent, reason="not dup", now=datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
    )
    ticket.refresh_from_db()
    # 20 minutes were used before resolving; 40 remain from 12:00.
    assert ticket.response_due_at == datetime(2026, 6, 10, 12, 40, tzinfo=UTC)


def test_severity_change_recomputes_from_opening(world: World) -> None:
    opened = beijing(2026, 6, 10, 10, 0)
    ticket = world.file(now=opened)
    assert ticket.response_due_at == beijing(2026, 6, 11, 10, 0)
    services.ticket_change_severity(
        ticket=ticket,
        actor=Actor.for_user(world.agent),
        severity="A",
        reason="Customer confirmed the whole tenant is down",
        now=opened + 30 * 60 * S,
    )
    ticket.refresh_from_db()
    assert (ticket.severity, ticket.original_severity) == ("A", "B")
    assert ticket.response_due_at == opened + H  # A's hour counts from the opening
    version = ticket.clock_version
    services.ticket_change_severity(
        ticket=ticket,
        actor=Actor.for_user(world.agent),
        severity="C",
        reason="Workaround found",
        now=opened + 40 * 60 * S,
    )
    ticket.refresh_from_db()
    assert ticket.response_due_at == beijing(2026, 6, 13, 10, 0)  # 45 h from Wed 10:00
    assert ticket.clock_version == version + 1


def test_holidays_move_deadlines(world: World) -> None:
    calendar = Calendar.objects.get(name="B/C technical")
    CalendarHoliday.objects.create(calendar=calendar, date=datetime(2026, 6, 11).date())
    Calendar.objects.filter(pk=calendar.pk).update(updated_at=datetime.now(UTC))
    ticket = world.file(now=beijing(2026, 6, 10, 16, 30))
    assert ticket.response_due_at == beijing(2026, 6, 12, 16, 30)


def test_resolution_stops_every_clock(world: World) -> None:
    ticket = world.file(now=beijing(2026, 6, 10, 10, 0))
    services.ticket_resolve(
        ticket=ticket, actor=Actor.for_user(world.agent), reason="", now=beijing(2026, 6, 10, 11)
    )
    ticket.refresh_from_db()
    assert (ticket.response_due_at, ticket.customer_due_at) == (None, None)


def test_standard_contract_a_request_is_b_with_the_reason_and_b_clock(world: World) -> None:
    world.org_b.contract = Contract.STANDARD
    ticket = world.file(world.admin_b, now=beijing(2026, 6, 10, 16, 30), **A_READY)
    assert ticket.severity == "B"
    assert "advanced support agreement" in ticket.severity_reason
    assert ticket.response_due_at == beijing(2026, 6, 11, 16, 30)


def test_the_ledger_explains_the_deadline(world: World) -> None:
    agent = Actor.for_user(world.agent)
    opened = beijing(2026, 6, 10, 22, 0)  # B: 2 h tonight, then from 09:00 tomorrow
    ticket = world.file(now=opened)
    services.ticket_resolve(ticket=ticket, actor=agent, reason="", now=beijing(2026, 6, 10, 23))
    services.ticket_reopen(ticket=ticket, actor=agent, reason="", now=beijing(2026, 6, 11, 10))
    ticket.refresh_from_db()
    story = explain(ticket, now=beijing(2026, 6, 11, 11, 0))
    assert story.calendar == "B/C technical"
    assert story.time_zone == "Asia/Shanghai"
    assert story.measuring == "first_response"
    assert [(s.kind, s.start, s.end) for s in story.segments] == [
        ("running", opened, beijing(2026, 6, 10, 23, 0)),
        ("stopped", beijing(2026, 6, 10, 23, 0), beijing(2026, 6, 11, 10, 0)),
        ("running", beijing(2026, 6, 11, 10, 0), beijing(2026, 6, 11, 11, 0)),
    ]
    assert story.used == 2 * H
    assert story.remaining == 13 * H
    assert story.due_at == beijing(2026, 6, 11, 24 - 1, 0) + H  # 10:00 + 14 h = 24:00
    assert story.due_at == ticket.response_due_at


def test_the_ledger_shows_the_pause_while_waiting_on_the_customer(world: World) -> None:
    agent = Actor.for_user(world.agent)
    opened = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)
    ticket = world.file(now=opened, **A_READY)
    services.ticket_agent_reply(ticket=ticket, actor=agent, body="On it", now=opened + 10 * 60 * S)
    services.ticket_request_information(
        ticket=ticket, actor=agent, body="Trace?", now=opened + 20 * 60 * S
    )
    ticket.refresh_from_db()
    story = explain(ticket, now=opened + 2 * H)
    assert story.measuring == "update"
    assert [(s.kind, s.start, s.end) for s in story.segments] == [
        ("paused", opened + 20 * 60 * S, opened + 2 * H),
    ]
    assert story.due_at is None
    assert story.customer_due_at == opened + 20 * 60 * S + 4 * H  # A: 4 working hours
    assert story.remaining == H


def test_the_ledger_shows_out_of_hours_and_holidays(world: World) -> None:
    calendar = Calendar.objects.get(name="B/C technical")
    CalendarHoliday.objects.create(calendar=calendar, date=datetime(2026, 6, 11).date())
    Calendar.objects.filter(pk=calendar.pk).update(updated_at=datetime.now(UTC))
    opened = beijing(2026, 6, 10, 23, 0)
    ticket = world.file(now=opened)
    story = explain(ticket, now=beijing(2026, 6, 12, 10, 0))
    assert [(s.kind, s.start, s.end) for s in story.segments] == [
        ("running", opened, beijing(2026, 6, 11, 0, 0)),
        ("holiday", beijing(2026, 6, 11, 0, 0), beijing(2026, 6, 12, 0, 0)),
        ("out_of_hours", beijing(2026, 6, 12, 0, 0), beijing(2026, 6, 12, 9, 0)),
        ("running", beijing(2026, 6, 12, 9, 0), beijing(2026, 6, 12, 10, 0)),
    ]
    assert story.used == 2 * H
    assert story.remaining == 13 * H
    assert story.due_at == beijing(2026, 6, 12, 23, 0)  # 1 h Wed + 14 h Fri


def test_the_ledger_of_a_met_first_response_ends_at_the_answer(world: World) -> None:
    opened = beijing(2026, 6, 10, 10, 0)
    ticket = world.file(now=opened)
    services.ticket_agent_reply(
        ticket=ticket, actor=Actor.for_user(world.agent), body="Hi", now=opened + 2 * H
    )
    ticket.refresh_from_db()
    story = explain(ticket, now=opened + 30 * H)
    assert story.measuring is None
    assert story.due_at is None
    assert story.used == 2 * H
    assert story.first_response_at == opened + 2 * H
    assert [s.kind for s in story.segments] == ["running"]

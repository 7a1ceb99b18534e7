"""The expected wait before filing (POL-REQ-2) and the SLA state in plain words afterwards
(POL-SLA-1, POL-SLA-3, POL-SEV-7): pure helpers, then the selectors on the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import T0, World
from tests.factories import OrganizationFactory
from tickets import services
from tickets.actors import Actor
from tickets.expectations import (
    expected_wait,
    median_duration,
    moment_phrase,
    sla_state,
    zone_label,
)

WARSAW = ZoneInfo("Europe/Warsaw")
MIN = timedelta(minutes=1)


# --- Pure ----------------------------------------------------------------------------------


def test_median_is_none_without_data_and_never_negative() -> None:
    assert median_duration([]) is None
    assert median_duration([3 * MIN, 1 * MIN, 2 * MIN]) == 2 * MIN
    assert median_duration([1 * MIN, 3 * MIN]) == 2 * MIN
    # A clock skew (answered "before" filed) must not promise a negative wait.
    assert median_duration([-5 * MIN, -1 * MIN]) == timedelta(0)


def test_moments_are_read_in_the_organizations_day() -> None:
    now = datetime(2026, 6, 10, 21, 30, tzinfo=UTC)  # 23:30 in Warsaw, Wednesday
    assert moment_phrase(now + 10 * MIN, now=now, zone=WARSAW) == "23:40 today"
    # 00:10 Thursday in Warsaw, though still Wednesday in UTC.
    assert moment_phrase(now + 40 * MIN, now=now, zone=WARSAW) == "00:10 tomorrow"
    assert moment_phrase(now + timedelta(days=3), now=now, zone=WARSAW) == (
        "23:30 on Saturday 13 June"
    )
    assert moment_phrase(now + timedelta(days=300), now=now, zone=WARSAW).endswith("2027")


def test_zones_are_named_as_people_say_them() -> None:
    assert zone_label("Asia/Shanghai") == "Beijing time"
    assert zone_label(WARSAW) == "Warsaw time"
    assert zone_label("America/New_York") == "New York time"
    assert zone_label("UTC") == "UTC"


# --- The expected wait ---------------------------------------------------------------------


@pytest.mark.django_db
def test_b_technical_waits_one_business_day_on_the_beijing_calendar(world: World) -> None:
    """POL-SLA-1/3: 15 working hours, 09:00–24:00 Beijing. T0 is 18:00 in Beijing: six
    hours today, nine tomorrow from 09:00 → 18:00 Beijing = 12:00 tomorrow in Warsaw."""
    wait = expected_wait(organization=world.org_a, category="technical", severity="B", now=T0)
    assert wait.respond_by == datetime(2026, 6, 11, 10, 0, tzinfo=UTC)
    assert wait.respond_by_text == "Support will respond by 12:00 tomorrow, Warsaw time."
    assert wait.open_now is True
    beijing = OrganizationFactory(slug="beijing", time_zone="Asia/Shanghai")
    text = expected_wait(organization=beijing, category="technical", severity="B", now=T0)
    assert text.respond_by_text == "Support will respond by 18:00 tomorrow, Beijing time."


@pytest.mark.django_db
def test_a_waits_one_hour_around_the_clock(world: World) -> None:
    night = datetime(2026, 6, 10, 22, 0, tzinfo=UTC)  # 06:00 in Beijing: B/C closed
    wait = expected_wait(organization=world.org_a, category="technical", severity="A", now=night)
    assert wait.respond_by == night + timedelta(hours=1)
    assert wait.open_now is True
    closed = expected_wait(organization=world.org_a, category="technical", severity="B", now=night)
    assert closed.open_now is False


@pytest.mark.django_db
def test_the_live_queue_counts_every_tenant_and_takes_the_recent_median(world: World) -> None:
    """POL-REQ-2 default: requests of that severity still waiting, and the median first
    response of comparable requests over the last 7 days."""
    agent = Actor.for_user(world.agent)
    answered_fast = world.file(now=T0 - timedelta(hours=3))
    answered_slow = world.file(world.admin_b, now=T0 - timedelta(hours=3))
    services.ticket_agent_reply(
        ticket=answered_fast, actor=agent, body="Hi", now=T0 - timedelta(hours=3) + 20 * MIN
    )
    services.ticket_agent_reply(
        ticket=answered_slow, actor=agent, body="Hi", now=T0 - timedelta(hours=3) + 40 * MIN
    )
    world.file(now=T0 - timedelta(hours=1))  # still waiting, Alpha
    world.file(world.admin_b, now=T0 - MIN)  # still waiting, Bravo
    world.file(now=T0 - MIN, impact="minimal")  # C: another queue
    old = world.file(now=T0 - timedelta(days=8))  # answered, but too long ago to count
    services.ticket_agent_reply(
        ticket=old, actor=agent, body="Hi", now=T0 - timedelta(days=7, hours=20)
    )
    billing = world.file(now=T0 - MIN, category="billing", impact="degraded")  # other category
    assert billing.severity == "B"

    wait = expected_wait(organization=world.org_a, category="technical", severity="B", now=T0)
    assert wait.waiting == 2
    assert wait.median == 30 * MIN
    assert wait.sample == 2
    quiet = expected_wait(organization=world.org_a, category="presales", severity="C", now=T0)
    assert (quiet.waiting, quiet.median, quiet.sample) == (0, None, 0)


# --- The SLA state -------------------------------------------------------------------------


@pytest.mark.django_db
def test_sla_state_through_a_requests_life(world: World) -> None:
    agent = Actor.for_user(world.agent)
    ticket = world.file()
    state = sla_state(ticket, now=T0)
    assert state.kind == "responding"
    assert state.text == "Support will respond by 12:00 tomorrow, Warsaw time."

    late = sla_state(ticket, now=T0 + timedelta(days=2))
    assert late.kind == "overdue"

    services.ticket_request_information(ticket=ticket, actor=agent, body="Logs?", now=T0 + MIN)
    ticket.refresh_from_db()
    waiting = sla_state(ticket, now=T0 + MIN)
    assert waiting.kind == "waiting_on_you" and waiting.needs_you
    assert "please answer by" in waiting.text
    assert "the severity may be lowered." in waiting.text
    assert "POL-" not in waiting.text

    services.ticket_customer_reply(
        ticket=ticket, actor=Actor.for_member(world.admin_a), body="Here.", now=T0 + 2 * MIN
    )
    ticket.refresh_from_db()
    assert sla_state(ticket, now=T0 + 2 * MIN).kind == "working"  # answered; B has no cadence

    services.ticket_resolve(ticket=ticket, actor=agent, reason="", now=T0 + 3 * MIN)
    ticket.refresh_from_db()
    resolved = sla_state(ticket, now=T0 + 3 * MIN)
    assert resolved.kind == "resolved" and "Reopen it until" in resolved.text
    expired = sla_state(ticket, now=T0 + timedelta(days=30))
    assert "file a new request" in expired.text

    services.ticket_close(ticket=ticket, actor=agent, now=T0 + 4 * MIN)
    ticket.refresh_from_db()
    assert sla_state(ticket, now=T0 + 4 * MIN).kind == "closed"


@pytest.mark.django_db
def test_at_c_a_late_answer_is_not_threatened_with_a_lower_severity(world: World) -> None:
    """POL-SEV-7 default: a lapse at C only sends a reminder."""
    ticket = world.file(impact="minimal")
    services.ticket_request_information(
        ticket=ticket, actor=Actor.for_user(world.agent), body="Logs?", now=T0
    )
    ticket.refresh_from_db()
    text = sla_state(ticket, now=T0).text
    assert "please answer by" in text and "lowered" not in text


@pytest.mark.django_db
def test_a_reports_the_next_update(world: World) -> None:
    """POL-SLA-1: A means continued work — after the first answer, the next update."""
    ticket = world.file(impact="service_down", business_impact="Sales stop", contact_24x7="Jan")
    assert ticket.severity == "A"
    services.ticket_agent_reply(
        ticket=ticket, actor=Actor.for_user(world.agent), body="On it", now=T0
    )
    ticket.refresh_from_db()
    state = sla_state(ticket, now=T0)
    assert state.kind == "updating"
    assert state.text == "Support will send the next update by 13:00 today, Warsaw time."

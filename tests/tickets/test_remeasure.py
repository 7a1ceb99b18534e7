"""Re-measuring open tickets after an SLA change (tickets.remeasure), and the two clock
defects of issue 15: a severity raised during a wait, a calendar changed elsewhere."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from severity.models import (
    Calendar,
    CalendarHoliday,
    SlaPolicy,
    SlaPolicyVersion,
    SlaTarget,
    forget_targets,
)
from tests.conftest import World
from tickets import services
from tickets.actors import Actor
from tickets.clocks import current_clocks, explain
from tickets.models import Event, EventKind, RemeasureKind, RemeasureStatus, Status, Ticket
from tickets.remeasure import preview, remeasure_run, remeasure_start, start_calendar_jobs
from tickets.sweep import sweep

pytestmark = pytest.mark.django_db

BEIJING = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)
A_READY = {
    "impact": "service_down",
    "scope": "many",
    "business_impact": "No one can send mail; sales are stopped.",
    "contact_24x7": "Duty IT +48 601 234 567",
}


def beijing(*args: int) -> datetime:
    return datetime(*args, tzinfo=BEIJING)  # type: ignore[misc]


def publish_copy(
    changes: dict[tuple[str, str], dict[str, Any]], *, now: datetime, **steps: Any
) -> SlaPolicyVersion:
    """A new published version of the default policy: the version in force with
    ``changes`` to some targets (what the desk's editor does, without its audit)."""
    policy = SlaPolicy.objects.default()
    current = policy.current_version
    assert current is not None
    version = SlaPolicyVersion.objects.create(
        policy=policy,
        number=current.number + 1,
        published_at=now,
        warning_share=steps.get("warning_share", current.warning_share),
        second_escalation_factor=steps.get(
            "second_escalation_factor", current.second_escalation_factor
        ),
        duty_emails=current.duty_emails,
    )
    for target in SlaTarget.objects.filter(version=current):
        target.pk = None
        target.version = version
        for name, value in changes.get((target.severity, target.category), {}).items():
            setattr(target, name, value)
        target.save()
    policy.current_version = version
    policy.save(update_fields=["current_version"])
    return version


def run(job_id: int) -> None:
    job = remeasure_run(job_id)
    assert job.status == RemeasureStatus.DONE, job.error


def stored_equals_ledger(ticket: Ticket) -> None:
    ticket.refresh_from_db()
    clocks, _target, _calendar, _history = current_clocks(ticket)
    assert (ticket.response_due_at, ticket.customer_due_at) == (
        clocks.response_due_at,
        clocks.customer_due_at,
    ), ticket.reference


# --- The severity raised during a wait (issue 15, item 4) ------------------------------------


def test_raising_severity_while_waiting_keeps_the_deadline_the_customer_was_given(
    world: World,
) -> None:
    agent = Actor.for_user(world.agent)
    ticket = world.file(now=beijing(2026, 6, 10, 10, 0))  # B technical
    services.ticket_request_information(
        ticket=ticket,
        actor=agent,
        body="Which mailbox? Reply by Friday noon.",
        now=beijing(2026, 6, 10, 12, 0),
    )
    ticket.refresh_from_db()
    promised = ticket.customer_due_at
    assert promised == beijing(2026, 6, 12, 12, 0)  # B: 30 working hours

    # Ten hours into the wait the agent raises it to A (4 h cooperation window, 24x7):
    # counted from the start of the wait, A's window "lapsed" six hours ago.
    raised_at = beijing(2026, 6, 10, 22, 0)
    services.ticket_change_severity(
        ticket=ticket, actor=agent, severity="A", reason="Whole tenant down", now=raised_at
    )
    ticket.refresh_from_db()
    assert ticket.severity == "A"
    assert ticket.customer_due_at == promised
    change = ticket.events.get(kind=EventKind.SEVERITY_CHANGED)
    assert change.after["customer_due_floor"] == promised.isoformat()

    # The next sweep does nothing: the customer is not late.
    sweep(now=raised_at + timedelta(minutes=1))
    ticket.refresh_from_db()
    assert ticket.severity == "A"
    assert not ticket.events.filter(kind=EventKind.DOWNGRADED).exists()
    # Any later recomputation keeps the promise too (it comes from the Event).
    services.ticket_internal_note(
        ticket=ticket, actor=agent, body="Waiting on them", now=raised_at + H
    )
    stored_equals_ledger(ticket)
    ticket.refresh_from_db()
    assert ticket.customer_due_at == promised
    # At the promised deadline the lapse is acted on, once.
    sweep(now=promised + timedelta(seconds=1))
    ticket.refresh_from_db()
    assert ticket.severity == "B"
    downgrade = ticket.events.get(kind=EventKind.DOWNGRADED)
    assert downgrade.after["lapse_at"] == promised.isoformat()


def test_lowering_severity_while_waiting_gives_the_later_deadline(world: World) -> None:
    agent = Actor.for_user(world.agent)
    ticket = world.file(now=beijing(2026, 6, 10, 10, 0))
    services.ticket_request_information(
        ticket=ticket, actor=agent, body="Logs?", now=beijing(2026, 6, 10, 12, 0)
    )
    services.ticket_change_severity(
        ticket=ticket, actor=agent, severity="C", reason="Workaround", now=beijing(2026, 6, 10, 13)
    )
    ticket.refresh_from_db()
    # C: 5 business days = 75 working hours from Wed 12:00, seven days a week: 12 + 4 × 15
    # to Sunday 24:00, then 3 h on Monday.
    assert ticket.customer_due_at == beijing(2026, 6, 15, 12, 0)


def test_a_new_wait_forgets_an_earlier_promise(world: World) -> None:
    agent, customer = Actor.for_user(world.agent), Actor.for_member(world.admin_a)
    ticket = world.file(now=beijing(2026, 6, 10, 10, 0))
    services.ticket_request_information(
        ticket=ticket, actor=agent, body="Logs?", now=beijing(2026, 6, 10, 12, 0)
    )
    services.ticket_change_severity(
        ticket=ticket, actor=agent, severity="A", reason="Down", now=beijing(2026, 6, 10, 13, 0)
    )
    services.ticket_customer_reply(
        ticket=ticket, actor=customer, body="Here", now=beijing(2026, 6, 10, 14, 0)
    )
    services.ticket_request_information(
        ticket=ticket, actor=agent, body="More?", now=beijing(2026, 6, 10, 15, 0)
    )
    ticket.refresh_from_db()
    assert ticket.customer_due_at == beijing(2026, 6, 10, 19, 0)  # A's 4 h, 24x7


# --- Publishing a version and re-measuring ---------------------------------------------------


def test_preview_then_remeasure_moves_open_tickets_and_explains_each_move(world: World) -> None:
    opened = beijing(2026, 6, 10, 10, 0)
    tickets = [world.file(now=opened + i * H) for i in range(3)]  # B technical, 15 h
    resolved = world.file(now=opened)
    services.ticket_resolve(
        ticket=resolved, actor=Actor.for_user(world.agent), reason="done", now=opened + H
    )
    old_version = tickets[0].sla_version_id
    old_due = [t.response_due_at for t in tickets]
    version = publish_copy({("B", "technical"): {"first_response": 8 * H}}, now=opened + 4 * H)

    impact = preview(kind=RemeasureKind.POLICY, version=version, now=opened + 4 * H)
    assert (impact.total, impact.moved_earlier, impact.moved_later, impact.breached_now) == (
        3,
        3,
        0,
        0,
    )
    # A preview writes nothing.
    assert not Event.objects.filter(kind=EventKind.SLA_REMEASURED).exists()

    with transaction.atomic():
        job = remeasure_start(kind=RemeasureKind.POLICY, version=version, now=opened + 4 * H)
    assert job.total == 3
    run(job.pk)
    job.refresh_from_db()
    assert (job.done, job.moved_earlier, job.percent) == (3, 3, 100)
    for i, ticket in enumerate(tickets):
        ticket.refresh_from_db()
        assert ticket.sla_version_id == version.pk
        assert ticket.response_due_at == opened + i * H + 8 * H
        stored_equals_ledger(ticket)
        assert explain(ticket, now=opened + 4 * H).due_at == ticket.response_due_at
        event = ticket.events.get(kind=EventKind.SLA_REMEASURED)
        assert event.before["sla_version"] == old_version
        assert event.after["sla_version"] == version.pk
        assert event.before["response_due_at"] == old_due[i].isoformat()
        assert event.after["response_due_at"] == ticket.response_due_at.isoformat()
    resolved.refresh_from_db()
    assert resolved.sla_version_id == old_version  # closed history is not rewritten


def test_new_tickets_only_leaves_open_ones_on_their_version(world: World) -> None:
    opened = beijing(2026, 6, 10, 10, 0)
    before = world.file(now=opened)
    version = publish_copy({("B", "technical"): {"first_response": 8 * H}}, now=opened + H)
    after = world.file(now=opened + 2 * H)
    before.refresh_from_db()
    assert before.sla_version_id != version.pk
    assert before.response_due_at == beijing(2026, 6, 11, 10, 0)  # 15 h of 09:00–24:00
    assert after.sla_version_id == version.pk
    assert after.response_due_at == opened + 2 * H + 8 * H
    # The ledger of the older ticket explains its own version's 15 h.
    assert explain(before, now=opened + 3 * H).target == 15 * H
    stored_equals_ledger(before)


def test_a_deadline_moved_into_the_past_is_acted_on_by_the_next_sweep_once(
    world: World,
) -> None:
    opened = beijing(2026, 6, 10, 10, 0)
    ticket = world.file(now=opened)
    now = opened + 5 * H
    version = publish_copy({("B", "technical"): {"first_response": 2 * H}}, now=now)
    assert preview(kind=RemeasureKind.POLICY, version=version, now=now).breached_now == 1
    with transaction.atomic():
        job = remeasure_start(kind=RemeasureKind.POLICY, version=version, now=now)
    run(job.pk)
    ticket.refresh_from_db()
    assert ticket.response_due_at == opened + 2 * H
    assert ticket.next_action_at is not None and ticket.next_action_at <= now
    sweep(now=now + timedelta(seconds=1))
    sweep(now=now + timedelta(seconds=2))
    assert ticket.events.escalations(1).count() == 1
    assert ticket.events.filter(kind=EventKind.WARNED).count() == 0  # it lapsed: escalate


def test_steps_already_taken_are_not_taken_again(world: World) -> None:
    opened = beijing(2026, 6, 10, 10, 0)
    ticket = world.file(now=opened)
    sweep(now=beijing(2026, 6, 11, 10, 1))  # B's 15 h lapsed: level 1
    ticket.refresh_from_db()
    assert ticket.escalation_level == 1
    now = beijing(2026, 6, 11, 11, 0)
    version = publish_copy({("B", "technical"): {"first_response": 14 * H}}, now=now)
    with transaction.atomic():
        job = remeasure_start(kind=RemeasureKind.POLICY, version=version, now=now)
    run(job.pk)
    ticket.refresh_from_db()
    assert ticket.escalation_level == 1  # the new deadline lapsed too: still escalated
    sweep(now=now + H)
    assert ticket.events.escalations(1).count() == 1


def test_a_waiting_customer_keeps_their_deadline_when_the_policy_shortens_it(
    world: World,
) -> None:
    opened = beijing(2026, 6, 10, 10, 0)
    ticket = world.file(now=opened)
    services.ticket_request_information(
        ticket=ticket, actor=Actor.for_user(world.agent), body="Logs?", now=opened + 2 * H
    )
    ticket.refresh_from_db()
    promised = ticket.customer_due_at
    now = opened + 3 * H
    version = publish_copy({("B", "technical"): {"cooperation_window": 2 * H}}, now=now)
    with transaction.atomic():
        job = remeasure_start(kind=RemeasureKind.POLICY, version=version, now=now)
    run(job.pk)
    ticket.refresh_from_db()
    assert ticket.customer_due_at == promised
    stored_equals_ledger(ticket)


def test_new_escalation_steps_apply_to_remeasured_tickets(world: World) -> None:
    opened = datetime(2026, 6, 10, 10, 0, tzinfo=ZoneInfo("UTC"))
    ticket = world.file(now=opened, **A_READY)  # A: 1 h, warning at 45 min
    assert ticket.response_warning_at == opened + 45 * timedelta(minutes=1)
    version = publish_copy(
        {("A", "technical"): {"first_response": 2 * H}},
        now=opened,
        warning_share="0.50",
        second_escalation_factor="3",
    )
    with transaction.atomic():
        job = remeasure_start(kind=RemeasureKind.POLICY, version=version, now=opened)
    run(job.pk)
    ticket.refresh_from_db()
    assert ticket.response_warning_at == opened + H
    assert ticket.second_escalation_at == opened + 6 * H


# --- Calendars changed elsewhere (issue 15, item 4) ------------------------------------------


def test_a_holiday_added_outside_the_admin_is_remeasured_by_the_sweep(world: World) -> None:
    opened = beijing(2026, 6, 12, 16, 0)  # Friday: billing B is due Monday 16:00
    ticket = world.file(
        now=opened, category="billing", impact="degraded", scope="one", product=None
    )
    assert ticket.response_due_at == beijing(2026, 6, 15, 16, 0)
    for job_id in start_calendar_jobs(now=opened):  # the migrations' public holidays
        run(job_id)
    calendar = Calendar.objects.get(name="Billing")
    # As from a shell or an import: a plain ORM write.
    CalendarHoliday.objects.create(calendar=calendar, date=date(2026, 6, 15), name="Closed")
    started = start_calendar_jobs(now=opened + H)
    assert len(started) == 1
    assert start_calendar_jobs(now=opened + H) == []  # once per change
    run(started[0])
    ticket.refresh_from_db()
    assert ticket.response_due_at == beijing(2026, 6, 16, 16, 0)
    stored_equals_ledger(ticket)
    event = ticket.events.get(kind=EventKind.SLA_REMEASURED)
    assert "Billing" in event.reason


def test_a_calendar_change_that_moves_nothing_writes_nothing(world: World) -> None:
    ticket = world.file(now=beijing(2026, 6, 10, 10, 0))  # B/C technical
    calendar = Calendar.objects.get(name="Billing")
    CalendarHoliday.objects.create(calendar=calendar, date=date(2026, 6, 15))
    for job_id in start_calendar_jobs(now=beijing(2026, 6, 10, 11, 0)):
        run(job_id)
    assert not ticket.events.filter(kind=EventKind.SLA_REMEASURED).exists()


def test_a_job_runs_once(world: World) -> None:
    opened = beijing(2026, 6, 10, 10, 0)
    world.file(now=opened)
    version = publish_copy({("B", "technical"): {"first_response": 8 * H}}, now=opened)
    with transaction.atomic():
        job = remeasure_start(kind=RemeasureKind.POLICY, version=version, now=opened)
    run(job.pk)
    again = remeasure_run(job.pk)
    assert again.done == 1
    assert Event.objects.filter(kind=EventKind.SLA_REMEASURED).count() == 1


# --- Property: after re-measuring, stored due times are what the ledger computes -------------

_HOURS = st.integers(min_value=1, max_value=60)
_KINDS = [("B", "technical"), ("C", "technical"), ("B", "billing"), ("C", "billing")]
_STATES = st.sampled_from(["new", "answered", "waiting", "waiting_raised", "resolved"])


@hypothesis_settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    edits=st.dictionaries(
        st.sampled_from(_KINDS),
        st.fixed_dictionaries({"first_response": _HOURS, "cooperation_window": _HOURS}),
        min_size=1,
    ),
    tickets=st.lists(
        st.tuples(st.sampled_from(["technical", "billing"]), _STATES, st.integers(0, 200)),
        min_size=1,
        max_size=6,
    ),
    later=st.integers(min_value=0, max_value=120),
)
def test_after_remeasuring_stored_due_times_equal_the_ledger(
    world: World,
    edits: dict[tuple[str, str], dict[str, int]],
    tickets: list[tuple[str, str, int]],
    later: int,
) -> None:
    class Rollback(Exception):
        pass

    forget_targets()
    start = beijing(2026, 6, 8, 9, 0)
    try:
        with transaction.atomic():
            filed = [
                _ticket(world, category, state, start + offset * timedelta(minutes=37))
                for category, state, offset in tickets
            ]
            now = start + (200 * 37 + later * 60) * timedelta(minutes=1)
            changes = {
                kind: {name: hours * H for name, hours in values.items()}
                for kind, values in edits.items()
            }
            version = publish_copy(changes, now=now)
            job = remeasure_start(kind=RemeasureKind.POLICY, version=version, now=now)
            remeasure_run(job.pk)
            for ticket in filed:
                ticket.refresh_from_db()
                if ticket.status in Status.active():
                    assert ticket.sla_version_id == version.pk
                stored_equals_ledger(ticket)
            raise Rollback
    except Rollback:
        pass
    finally:
        forget_targets()


def _ticket(world: World, category: str, state: str, at: datetime) -> Ticket:
    agent, customer = Actor.for_user(world.agent), Actor.for_member(world.admin_a)
    extra: dict[str, Any] = (
        {"impact": "degraded", "scope": "one", "product": None} if category == "billing" else {}
    )
    ticket = world.file(now=at, category=category, **extra)
    if state in ("answered", "waiting", "waiting_raised"):
        services.ticket_request_information(ticket=ticket, actor=agent, body="?", now=at + H)
    if state == "answered":
        services.ticket_customer_reply(ticket=ticket, actor=customer, body="!", now=at + 2 * H)
    if state == "waiting_raised":
        services.ticket_change_severity(
            ticket=ticket, actor=agent, severity="C", reason="lower", now=at + 2 * H
        )
    if state == "resolved":
        services.ticket_resolve(ticket=ticket, actor=agent, reason="done", now=at + H)
    ticket.refresh_from_db()
    return ticket


def test_a_contracts_first_policy_reaches_the_organizations_on_that_contract(
    world: World,
) -> None:
    opened = beijing(2026, 6, 10, 10, 0)
    advanced = world.file(now=opened)  # Alpha: advanced contract
    standard = world.file(world.admin_b, now=opened)  # Bravo: standard
    default_version = advanced.sla_version_id
    policy = SlaPolicy.objects.create(name="Advanced terms", contract="advanced")
    version = SlaPolicyVersion.objects.create(policy=policy, number=1, published_at=opened)
    for target in SlaTarget.objects.filter(version_id=default_version):
        target.pk = None
        target.version = version
        if (target.severity, target.category) == ("B", "technical"):
            target.first_response = 8 * H
        target.save()
    policy.current_version = version
    policy.save()
    now = opened + H
    assert preview(kind=RemeasureKind.POLICY, version=version, now=now).total == 1
    with transaction.atomic():
        job = remeasure_start(kind=RemeasureKind.POLICY, version=version, now=now)
    run(job.pk)
    advanced.refresh_from_db()
    standard.refresh_from_db()
    assert (advanced.sla_version_id, advanced.response_due_at) == (version.pk, opened + 8 * H)
    assert standard.sla_version_id == default_version
    stored_equals_ledger(advanced)

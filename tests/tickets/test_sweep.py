"""The sweep, service tier: every step once, catching up, racing replies (workers issue)."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from tests.conftest import T0, World
from tickets import services
from tickets import sweep as sweeping
from tickets.actors import Actor
from tickets.models import Event, EventKind, Status, Ticket, WorkerHeartbeat

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
M = timedelta(minutes=1)
S = timedelta(seconds=1)
A_READY = {
    "impact": "service_down",
    "scope": "many",
    "business_impact": "Mail is down for the whole company.",
    "contact_24x7": "Duty IT +48 601 234 567",
}


@pytest.fixture(autouse=True)
def _no_broker(settings: object) -> None:
    # Service tier: no deadline tasks or delivery tasks are published.
    settings.SUPPORTDESK = dataclasses.replace(  # type: ignore[attr-defined]
        settings.SUPPORTDESK,  # type: ignore[attr-defined]
        DEADLINE_TASKS=False,
        OUTBOX_TASKS=False,
    )


def a_ticket(world: World, at: datetime = T0) -> Ticket:
    ticket = world.file(now=at, **A_READY)
    assert ticket.severity == "A"
    return ticket


def steps(ticket: Ticket) -> list[tuple[str, int]]:
    return list(
        Event.objects.sla_steps()
        .filter(ticket=ticket)
        .order_by("step_lapse_at", "step_level")
        .values_list("kind", "step_level")
    )


def run(at: datetime) -> sweeping.SweepResult:
    return sweeping.sweep(now=at, worker="test")


def test_new_ticket_schedules_its_warning_first(world: World) -> None:
    ticket = a_ticket(world)
    assert ticket.response_due_at == T0 + H
    assert ticket.response_warning_at == T0 + 45 * M
    assert ticket.second_escalation_at == T0 + 2 * H
    assert ticket.next_action_at == T0 + 45 * M


def test_nothing_happens_before_the_first_step(world: World) -> None:
    a_ticket(world)
    assert run(T0 + 44 * M).acted == 0
    assert not Event.objects.sla_steps().exists()


def test_warning_then_escalations_each_once(world: World) -> None:
    ticket = a_ticket(world)
    result = run(T0 + 46 * M)
    assert (result.warnings, result.escalations) == (1, 0)
    ticket.refresh_from_db()
    assert ticket.response_warning_at is None
    assert ticket.next_action_at == T0 + H
    assert run(T0 + 50 * M).acted == 0

    assert run(T0 + H).escalations == 1  # at the deadline itself
    ticket.refresh_from_db()
    assert ticket.escalation_level == 1
    assert ticket.next_action_at == T0 + 2 * H
    assert run(T0 + 90 * M).acted == 0

    assert run(T0 + 2 * H + S).escalations == 1
    ticket.refresh_from_db()
    assert (ticket.escalation_level, ticket.next_action_at) == (2, None)
    assert steps(ticket) == [("warned", 0), ("escalated", 1), ("escalated", 2)]
    events = ticket.events.filter(kind__in=[EventKind.WARNED, EventKind.ESCALATED])
    assert [(e.kind, e.after["level"], e.actor_label) for e in events] == [
        ("warned", 0, "test"),
        ("escalated", 1, "test"),
        ("escalated", 2, "test"),
    ]
    assert run(T0 + 5 * H).acted == 0


def test_a_missed_stretch_catches_up_without_a_stale_warning(world: World) -> None:
    ticket = a_ticket(world)
    result = run(T0 + 10 * H)  # the workers were down all along
    assert (result.warnings, result.escalations) == (0, 2)
    assert steps(ticket) == [("escalated", 1), ("escalated", 2)]


def test_the_unique_step_cannot_be_taken_twice(world: World) -> None:
    ticket = a_ticket(world)
    # Another worker took level 1 a moment ago but had not moved the ticket yet.
    Event.objects.create(
        organization=ticket.organization,
        ticket=ticket,
        kind=EventKind.ESCALATED,
        actor_kind="system",
        actor_label="other",
        step_level=1,
        step_lapse_at=T0 + H,
        created_at=T0 + H,
    )
    result = run(T0 + 61 * M)
    assert result.escalations == 0
    assert result.skipped == 1
    assert list(ticket.events.escalations(1).values_list("actor_label", flat=True)) == ["other"]


def test_sev_a_update_cadence_escalates_and_an_update_resets(world: World) -> None:
    agent = Actor.for_user(world.agent)
    ticket = a_ticket(world)
    services.ticket_agent_reply(ticket=ticket, actor=agent, body="On it", now=T0 + 10 * M)
    ticket.refresh_from_db()
    assert ticket.response_due_at == T0 + 70 * M
    assert run(T0 + 71 * M).escalations == 1
    event = ticket.events.get(kind=EventKind.ESCALATED)
    assert "update cadence" in event.reason
    services.ticket_agent_reply(ticket=ticket, actor=agent, body="Progress", now=T0 + 80 * M)
    ticket.refresh_from_db()
    assert (ticket.escalation_level, ticket.response_due_at) == (0, T0 + 140 * M)
    assert run(T0 + 141 * M).escalations == 1  # a new lapse of the new deadline
    assert ticket.events.escalations(1).count() == 2


def test_cooperation_lapse_lowers_a_to_b_to_c_then_reminds(world: World) -> None:
    agent = Actor.for_user(world.agent)
    ticket = a_ticket(world)
    services.ticket_request_information(ticket=ticket, actor=agent, body="Logs?", now=T0 + 10 * M)
    ticket.refresh_from_db()
    lapse = T0 + 10 * M + 4 * H  # A: 4 working hours on 24x7
    assert ticket.customer_due_at == lapse
    assert run(lapse - S).downgrades == 0
    assert run(lapse).downgrades == 1
    ticket.refresh_from_db()
    assert (ticket.severity, ticket.original_severity) == ("B", "A")
    downgrade = ticket.events.get(kind=EventKind.DOWNGRADED)
    assert (downgrade.before, downgrade.after["severity"]) == ({"severity": "A"}, "B")
    assert "cooperation" in downgrade.reason
    # B's window (2 business days on the B/C calendar) counts from the request.
    assert ticket.customer_due_at is not None and ticket.customer_due_at > lapse
    assert run(lapse + M).downgrades == 0

    run(ticket.customer_due_at)
    ticket.refresh_from_db()
    assert ticket.severity == "C"
    c_lapse = ticket.customer_due_at
    assert run(c_lapse).reminders == 1
    ticket.refresh_from_db()
    assert ticket.severity == "C"
    assert ticket.events.filter(kind=EventKind.REMINDED).count() == 1
    assert ticket.customer_due_at > c_lapse  # the next window counts from the reminder
    assert run(c_lapse + S).acted == 0
    assert [k for k, _ in steps(ticket)] == ["downgraded", "downgraded", "reminded"]


def test_a_reply_committed_before_the_lapse_wins(world: World) -> None:
    agent = Actor.for_user(world.agent)
    ticket = a_ticket(world)
    services.ticket_request_information(ticket=ticket, actor=agent, body="Logs?", now=T0)
    lapse = T0 + 4 * H
    services.ticket_customer_reply(
        ticket=ticket, actor=Actor.for_member(world.admin_a), body="Here", now=lapse - S
    )
    result = run(lapse + M)
    assert result.downgrades == 0
    ticket.refresh_from_db()
    assert (ticket.severity, ticket.status) == ("A", Status.OPEN)


def test_a_reply_sent_in_time_that_lost_the_race_restores_the_severity(world: World) -> None:
    agent = Actor.for_user(world.agent)
    ticket = a_ticket(world)
    services.ticket_request_information(ticket=ticket, actor=agent, body="Logs?", now=T0)
    lapse = T0 + 4 * H
    assert run(lapse + S).downgrades == 1
    # The reply was sent a second before the lapse, and committed after the downgrade.
    services.ticket_customer_reply(
        ticket=ticket, actor=Actor.for_member(world.admin_a), body="Here", now=lapse - S
    )
    ticket.refresh_from_db()
    assert (ticket.severity, ticket.status) == ("A", Status.OPEN)
    restored = ticket.events.get(kind=EventKind.SEVERITY_CHANGED)
    assert (restored.before, restored.after) == ({"severity": "B"}, {"severity": "A"})


def test_a_late_reply_keeps_the_downgrade(world: World) -> None:
    agent = Actor.for_user(world.agent)
    ticket = a_ticket(world)
    services.ticket_request_information(ticket=ticket, actor=agent, body="Logs?", now=T0)
    lapse = T0 + 4 * H
    run(lapse + S)
    services.ticket_customer_reply(
        ticket=ticket, actor=Actor.for_member(world.admin_a), body="Sorry", now=lapse + M
    )
    ticket.refresh_from_db()
    assert ticket.severity == "B"


def test_resolved_and_closed_tickets_are_left_alone(world: World) -> None:
    ticket = a_ticket(world)
    services.ticket_resolve(ticket=ticket, actor=Actor.for_user(world.agent), reason="", now=T0)
    ticket.refresh_from_db()
    assert ticket.next_action_at is None
    assert run(T0 + 10 * H).acted == 0


def test_the_deadline_task_acts_only_for_its_version(world: World) -> None:
    ticket = a_ticket(world)
    stale = sweeping.act_on_ticket(
        ticket_id=ticket.pk, clock_version=ticket.clock_version - 1, now=T0 + H, worker="deadline"
    )
    assert stale.acted == 0
    early = sweeping.act_on_ticket(
        ticket_id=ticket.pk, clock_version=ticket.clock_version, now=T0 + 30 * M, worker="deadline"
    )
    assert early.acted == 0
    fresh = sweeping.act_on_ticket(
        ticket_id=ticket.pk, clock_version=ticket.clock_version, now=T0 + H, worker="deadline"
    )
    assert fresh.escalations == 1
    assert ticket.events.escalations(1).get().actor_label == "deadline"


def test_sweep_records_its_heartbeat(world: World) -> None:
    a_ticket(world)
    run(T0 + H)
    beat = WorkerHeartbeat.objects.get(name="sweep")
    assert beat.last_run_at == T0 + H
    assert beat.acted == 1


def test_batches_cover_everything_due(world: World) -> None:
    tickets = [a_ticket(world, T0 + i * S) for i in range(7)]
    result = sweeping.sweep(now=T0 + 10 * H, worker="test", batch_size=3)
    assert result.escalations == 14
    assert all(t.events.sla_steps().count() == 2 for t in tickets)


def test_sweep_queries_do_not_grow_with_due_tickets(
    world: World, django_assert_max_num_queries: object
) -> None:
    for i in range(40):
        a_ticket(world, T0 + i * S)
    Event.objects.update(delivered_at=T0)  # the outbox is measured in its own tests
    with django_assert_max_num_queries(17):  # type: ignore[operator]
        result = run(T0 + H + M)
    assert result.escalations == 40


def test_manage_py_sweep_runs_without_a_broker(world: World) -> None:
    a_ticket(world, T0)
    out = StringIO()
    call_command("sweep", stdout=out)
    figures = json.loads(out.getvalue().strip().splitlines()[-1])
    assert figures["escalations"] == 2  # T0 lies months in the past: both levels lapsed
    assert Event.objects.filter(kind=EventKind.ESCALATED).count() == 2


def test_deadline_task_is_queued_after_commit_for_near_deadlines(
    world: World, settings: object, django_capture_on_commit_callbacks: object, monkeypatch: object
) -> None:
    from django.utils import timezone

    from tickets import tasks

    settings.SUPPORTDESK = dataclasses.replace(  # type: ignore[attr-defined]
        settings.SUPPORTDESK,  # type: ignore[attr-defined]
        DEADLINE_TASKS=True,
        DEADLINE_TASK_HORIZON_SECONDS=3600,
    )
    published: list[tuple[object, object]] = []
    monkeypatch.setattr(  # type: ignore[attr-defined]
        tasks.act_on_ticket, "apply_async", lambda args, eta, **kw: published.append((args, eta))
    )
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        near = world.file(now=now, **A_READY)  # A: the warning is 45 minutes away
        far = world.file(now=now)  # B: the first step is hours away
    assert published == [((near.pk, near.clock_version), now + 45 * M)]
    assert far.next_action_at is not None and far.next_action_at > now + H


def test_deadline_task_publish_failure_does_not_fail_the_request(
    world: World, settings: object, django_capture_on_commit_callbacks: object, monkeypatch: object
) -> None:
    from django.utils import timezone
    from kombu.exceptions import OperationalError

    from tickets import tasks

    settings.SUPPORTDESK = dataclasses.replace(  # type: ignore[attr-defined]
        settings.SUPPORTDESK,  # type: ignore[attr-defined]
        DEADLINE_TASKS=True,
    )

    def broker_down(*args: object, **kwargs: object) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.act_on_ticket, "apply_async", broker_down)  # type: ignore[attr-defined]
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        ticket = world.file(now=timezone.now() - 50 * M, **A_READY)
    assert Ticket.objects.filter(pk=ticket.pk).exists()


def test_a_backlog_asks_for_helper_sweeps(world: World, settings: object) -> None:
    from django.db import connection

    settings.SUPPORTDESK = dataclasses.replace(  # type: ignore[attr-defined]
        settings.SUPPORTDESK,  # type: ignore[attr-defined]
        SWEEP_BATCH_SIZE=2,
        SWEEP_PARALLELISM=3,
    )
    for i in range(3):
        a_ticket(world, T0 + i * S)
    assert sweeping.helpers_wanted(now=T0 + 30 * M) == 0  # nothing due yet
    if not connection.features.has_select_for_update_skip_locked:
        assert sweeping.helpers_wanted(now=T0 + 10 * H) == 0  # SQLite: one writer anyway
        return
    assert sweeping.helpers_wanted(now=T0 + 10 * H) == 0  # 3 due < two batches of 2
    a_ticket(world, T0 + 4 * S)
    assert sweeping.helpers_wanted(now=T0 + 10 * H) == 2

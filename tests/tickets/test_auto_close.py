"""Resolved requests close by themselves (tickets_auto_close, the beat's
tickets.tasks.close_resolved): after AUTO_CLOSE_DAYS, once, with the Event saying why."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

import pytest
from django.db import connection

from tests.conftest import T0, World
from tickets.actors import Actor
from tickets.models import ActorKind, EventKind, Status, Ticket
from tickets.services import ticket_close, ticket_resolve, tickets_auto_close

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


@pytest.fixture
def days(settings: object) -> int:
    return int(settings.SUPPORTDESK.AUTO_CLOSE_DAYS)  # type: ignore[attr-defined]


def auto_close_days(settings: object, value: int) -> None:
    settings.SUPPORTDESK = dataclasses.replace(  # type: ignore[attr-defined]
        settings.SUPPORTDESK,  # type: ignore[attr-defined]
        AUTO_CLOSE_DAYS=value,
    )


def resolved(world: World, at: object = T0) -> Ticket:
    ticket = world.file(now=T0 - DAY)
    return ticket_resolve(ticket=ticket, actor=Actor.for_user(world.agent), reason="", now=at)  # type: ignore[arg-type]


def test_the_default_lines_up_with_the_reopen_window(settings: object, days: int) -> None:
    assert days == settings.SUPPORTDESK.REOPEN_WINDOW_DAYS == 14  # type: ignore[attr-defined]


def test_closes_only_what_was_resolved_more_than_the_days_ago(world: World, days: int) -> None:
    old = resolved(world)
    boundary = resolved(world, at=T0 + DAY)
    recent = resolved(world, at=T0 + 2 * DAY)
    still_open = world.file(now=T0)
    now = T0 + DAY + days * DAY  # exactly `days` after `boundary`: not more
    assert tickets_auto_close(now=now) == 1
    statuses = dict(Ticket.objects.values_list("pk", "status"))
    assert statuses == {
        old.pk: Status.CLOSED,
        boundary.pk: Status.RESOLVED,
        recent.pk: Status.RESOLVED,
        still_open.pk: Status.NEW,
    }
    old.refresh_from_db()
    assert old.closed_at == now
    event = old.events.get(kind=EventKind.CLOSED)
    assert event.actor_kind == ActorKind.SYSTEM and event.actor_label == "auto-close"
    assert event.reason == f"Closed automatically {days} days after it was resolved."
    assert event.before == {"status": "resolved"}
    assert event.after == {"status": "closed", "auto_close_days": days}
    # A second later the boundary one is over the line too.
    assert tickets_auto_close(now=now + timedelta(seconds=1)) == 1


def test_running_twice_closes_each_request_once(world: World, days: int) -> None:
    tickets = [resolved(world) for _ in range(5)]
    later = T0 + (days + 1) * DAY
    assert tickets_auto_close(now=later, batch_size=2) == 5
    assert tickets_auto_close(now=later, batch_size=2) == 0
    for ticket in tickets:
        assert ticket.events.filter(kind=EventKind.CLOSED).count() == 1


def test_zero_days_means_never(world: World, settings: object) -> None:
    auto_close_days(settings, 0)
    ticket = resolved(world)
    assert tickets_auto_close(now=T0 + 3650 * DAY) == 0
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED


def test_other_days_are_configurable(world: World, settings: object) -> None:
    auto_close_days(settings, 3)
    ticket = resolved(world)
    assert tickets_auto_close(now=T0 + 3 * DAY) == 0
    assert tickets_auto_close(now=T0 + 3 * DAY + timedelta(minutes=1)) == 1
    assert ticket.events.get(kind=EventKind.CLOSED).reason == (
        "Closed automatically 3 days after it was resolved."
    )


def test_a_request_closed_by_hand_is_left_alone(world: World, days: int) -> None:
    ticket = resolved(world)
    ticket_close(ticket=ticket, actor=Actor.for_user(world.agent), now=T0 + DAY)
    assert tickets_auto_close(now=T0 + (days + 1) * DAY) == 0
    assert ticket.events.filter(kind=EventKind.CLOSED).count() == 1


def test_the_beat_task_runs_the_service(world: World, settings: object) -> None:
    from tickets.tasks import close_resolved

    assert "tickets.tasks.close_resolved" in {
        entry["task"]
        for entry in settings.CELERY_BEAT_SCHEDULE.values()  # type: ignore[attr-defined]
    }
    # Resolved long ago (the fixed T0), so the real clock is past the line.
    ticket = resolved(world)
    assert close_resolved() == 1
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_close_each_request_once(world: World, days: int) -> None:
    tickets = [resolved(world) for _ in range(30)]
    later = T0 + (days + 1) * DAY
    counts: list[int] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait()
            counts.append(tickets_auto_close(now=later, batch_size=5))
        finally:
            connection.close()  # the thread's own connection

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == 30
    for ticket in tickets:
        assert ticket.events.filter(kind=EventKind.CLOSED).count() == 1

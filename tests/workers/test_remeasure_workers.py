"""Re-measuring with the real parts (issue 15): a calendar changed from another process is
picked up by a running worker that already used it, and a re-measure under load leaves
the sweep running and takes no step twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from severity.models import (
    Calendar,
    CalendarHoliday,
    SlaPolicy,
    SlaPolicyVersion,
    SlaTarget,
    business_calendar,
    forget_targets,
)
from tests.conftest import World
from tests.workers.conftest import Cluster, due_tickets, wait_until
from tickets.clocks import current_clocks
from tickets.models import Event, EventKind, RemeasureJob, RemeasureKind, RemeasureStatus, Ticket
from tickets.remeasure import remeasure_start

pytestmark = [
    pytest.mark.workers,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

H = timedelta(hours=1)


def _calendar_jobs_done(calendar: Calendar) -> bool:
    calendar.refresh_from_db()
    jobs = RemeasureJob.objects.filter(kind=RemeasureKind.CALENDAR, calendar=calendar)
    return (
        calendar.measured_revision == calendar.revision
        and jobs.exists()
        and not jobs.exclude(status=RemeasureStatus.DONE).exists()
    )


def test_a_holiday_added_from_a_shell_reaches_a_worker_that_used_the_calendar(
    world: World, cluster: Cluster
) -> None:
    now = timezone.now()
    ticket = world.file(now=now, category="billing", impact="degraded", scope="one", product=None)
    assert ticket.response_due_at is not None
    billing = Calendar.objects.get(name="Billing")
    # The migrations' public holidays changed Billing: the first sweeps re-measure it,
    # so the worker builds (and caches) the Billing calendar before the holiday below.
    Calendar.objects.filter(pk=billing.pk).update(measured_revision=0)
    cluster.worker(sweep_interval=1)
    cluster.beat(sweep_interval=1)
    wait_until(
        lambda: _calendar_jobs_done(billing),
        timeout=60,
        what="the first calendar re-measure",
        logs=cluster.logs,
    )
    ticket.refresh_from_db()
    before = ticket.response_due_at
    assert before is not None

    # "The shell": a plain ORM write in another process than the worker's.
    closed = before.astimezone(billing_zone(billing)).date()
    CalendarHoliday.objects.create(calendar=billing, date=closed, name="Office closed")
    forget_targets()
    expected = business_calendar(Calendar.objects.get(pk=billing.pk)).add(
        ticket.created_at, timedelta(hours=8)
    )
    assert expected > before

    moved = wait_until(
        lambda: Ticket.objects.filter(pk=ticket.pk, response_due_at=expected).first(),
        timeout=30,
        what="the worker to move the deadline past the new holiday",
        logs=cluster.logs,
    )
    event = moved.events.filter(kind=EventKind.SLA_REMEASURED).last()
    assert event is not None and "Billing" in event.reason
    assert event.actor_label == "sla-remeasure"
    clocks, *_ = current_clocks(moved)
    assert clocks.response_due_at == moved.response_due_at


def billing_zone(calendar: Calendar) -> object:
    from zoneinfo import ZoneInfo

    return ZoneInfo(calendar.time_zone)


def test_a_remeasure_under_load_keeps_the_sweep_going_and_takes_no_step_twice(
    world: World, cluster: Cluster
) -> None:
    now = timezone.now()
    policy = SlaPolicy.objects.default()
    current = policy.current_version
    assert current is not None
    # 1,500 B requests filed over the last 12 hours (15 h target: none due yet) …
    opened = [now - timedelta(minutes=m % 720) for m in range(0, 1500 * 7, 7)]
    b_tickets = Ticket.objects.bulk_create(
        [
            Ticket(
                organization=world.org_a,
                title=f"Slow mail {i}",
                description="Outbound mail takes an hour.",
                category="technical",
                impact="degraded",
                scope="many",
                severity="B",
                original_severity="B",
                status="new",
                contact_email="admin@alpha.test",
                created_at=at,
                updated_at=at,
                sla_version=current,
            )
            for i, at in enumerate(opened)
        ]
    )
    for ticket in Ticket.objects.filter(pk__in=[t.pk for t in b_tickets]):
        from tickets.clocks import refresh_clocks

        refresh_clocks(ticket, now=now)
    # … and 1,000 A requests whose escalation the sweep is taking meanwhile.
    a_ids = due_tickets(world, 1000, now=now)
    cluster.worker(sweep_interval=1)
    cluster.worker(sweep_interval=1)
    cluster.beat(sweep_interval=1)

    # The new terms: B technical answered within 1 h around the clock — every B request
    # filed over an hour ago lapses at once, whatever the time of day.
    around_the_clock = Calendar.objects.get(name="24x7")
    with transaction.atomic():
        version = SlaPolicyVersion.objects.create(
            policy=policy, number=current.number + 1, published_at=timezone.now()
        )
        for target in SlaTarget.objects.filter(version=current):
            target.pk = None
            target.version = version
            if (target.severity, target.category) == ("B", "technical"):
                target.first_response = H
                target.calendar = around_the_clock
            target.save()
        policy.current_version = version
        policy.save(update_fields=["current_version"])
        job = remeasure_start(kind=RemeasureKind.POLICY, version=version, now=timezone.now())

    wait_until(
        lambda: RemeasureJob.objects.filter(pk=job.pk, status=RemeasureStatus.DONE).exists(),
        timeout=120,
        what="the re-measure job",
        logs=cluster.logs,
    )
    b_ids = [t.pk for t in b_tickets]
    lapsed = Ticket.objects.filter(pk__in=b_ids, response_due_at__lte=timezone.now()).count()
    assert lapsed >= 1300, lapsed
    wait_until(
        lambda: (
            Event.objects.escalations(1).filter(ticket_id__in=b_ids + a_ids).count()
            >= lapsed + len(a_ids)
        ),
        timeout=120,
        what="the sweep to escalate every lapsed request",
        logs=cluster.logs,
    )
    per_ticket = (
        Event.objects.escalations(1)
        .filter(ticket_id__in=b_ids + a_ids)
        .values("ticket_id")
        .annotate(n=Count("id"))
    )
    assert max(row["n"] for row in per_ticket) == 1
    # Every open request of the organization moved onto the new version, the A ones too.
    remeasured = Event.objects.filter(kind=EventKind.SLA_REMEASURED)
    assert sorted(remeasured.values_list("ticket_id", flat=True)) == sorted(b_ids + a_ids)
    forget_targets()
    for ticket in Ticket.objects.filter(pk__in=b_ids[::50]):
        assert ticket.sla_version_id == version.pk
        clocks, *_ = current_clocks(ticket)
        assert clocks.response_due_at == ticket.response_due_at, ticket.pk

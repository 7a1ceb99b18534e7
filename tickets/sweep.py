"""The sweep: act on every lapsed deadline, exactly once (workers issue).

The database is the source of truth. A sweep selects everything whose
``next_action_at`` has passed — not a time window — so a missed tick, a dead worker
or a broker outage only delays an action. Work is claimed in batches with
``SELECT … FOR UPDATE SKIP LOCKED`` (where the database has it; SQLite serialises
writers instead), and each step's Event is inserted under a unique constraint on
(ticket, kind, level, lapse), so two sweepers, a re-delivered task and a deadline task
racing the sweep can never take the same step twice.

Escalations and warnings are applied set-based: one INSERT of the Events (the steps not
yet taken come back) and one UPDATE per kind of outcome for the whole batch — never a
save() per ticket. Cooperation lapses (downgrades and reminders) are rarer and recompute a
ticket's clocks, so they go through the per-ticket service.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils.translation import gettext_noop

from core import metrics
from tickets.actors import Actor
from tickets.bulk import insert_rows as _insert_rows
from tickets.clocks import next_action_at
from tickets.events import event_values
from tickets.health import SWEEP
from tickets.models import Event, EventKind, Status, Ticket, WorkerHeartbeat
from tickets.outbox import deliver_pending, queue_delivery
from tickets.scheduling import schedule_deadline
from tickets.services import ticket_cooperation_lapse

logger = logging.getLogger(__name__)


# Stored on the Event in English; the notification renders it in the reader's language.
# xgettext:no-python-format
REASON_WARNING = gettext_noop("75% of the response target has passed without a response.")
REASON_LEVEL_1 = gettext_noop("The response deadline lapsed (POL-SLA-1).")
REASON_LEVEL_1_UPDATE = gettext_noop(
    "No agent update within the update cadence of a Severity A request (POL-SLA-1)."
)
REASON_LEVEL_2 = gettext_noop("Twice the response target has passed; the duty manager is told.")

WARNED = EventKind.WARNED
ESCALATED = EventKind.ESCALATED


@dataclass
class SweepResult:
    claimed: int = 0
    warnings: int = 0
    escalations: int = 0
    downgrades: int = 0
    reminders: int = 0
    skipped: int = 0
    duration_ms: int = 0
    event_ids: list[int] = field(default_factory=list)

    @property
    def acted(self) -> int:
        return self.warnings + self.escalations + self.downgrades + self.reminders

    def as_dict(self) -> dict[str, int]:
        return {
            "claimed": self.claimed,
            "warnings": self.warnings,
            "escalations": self.escalations,
            "downgrades": self.downgrades,
            "reminders": self.reminders,
            "skipped": self.skipped,
            "duration_ms": self.duration_ms,
        }


def sweep(
    *, now: datetime, worker: str = SWEEP, batch_size: int | None = None, heartbeat: bool = True
) -> SweepResult:
    """Act on everything due at ``now``, batch after batch, until nothing is left."""

    started = time.monotonic()
    batch_size = batch_size or settings.SUPPORTDESK.SWEEP_BATCH_SIZE
    result = SweepResult()
    seen: set[int] = set()
    while True:
        with transaction.atomic():
            rows = _claim(now=now, limit=batch_size)
            fresh = [row for row in rows if row["pk"] not in seen]
            if fresh:
                _act(fresh, now=now, worker=worker, result=result)
        seen.update(row["pk"] for row in rows)
        # A full batch means more may be due; a batch of tickets this sweep already
        # handled means their next step did not move (a bug elsewhere): stop, don't spin.
        if len(rows) < batch_size or not fresh:
            break
    deliver_pending(now=now)
    result.duration_ms = int((time.monotonic() - started) * 1000)
    if heartbeat:
        WorkerHeartbeat.objects.update_or_create(
            name=SWEEP,
            defaults={
                "last_run_at": now,
                "last_duration_ms": result.duration_ms,
                "acted": result.acted,
            },
        )
    if result.acted:
        logger.info("sweep acted", extra={"sweep": result.as_dict()})
    metrics.count_sla_steps(
        warnings=result.warnings,
        escalations=result.escalations,
        downgrades=result.downgrades,
        reminders=result.reminders,
    )
    return result


def helpers_wanted(*, now: datetime) -> int:
    """How many extra sweeps to start beside this one: on a backlog of at least two
    batches, ``SWEEP_PARALLELISM - 1`` (SKIP LOCKED splits the rows between them)."""

    parallelism = settings.SUPPORTDESK.SWEEP_PARALLELISM
    if parallelism <= 1 or not connection.features.has_select_for_update_skip_locked:
        return 0
    backlog = 2 * settings.SUPPORTDESK.SWEEP_BATCH_SIZE
    due = Ticket.objects.filter(status__in=Status.active(), next_action_at__lte=now).values("pk")
    return parallelism - 1 if due[:backlog].count() >= backlog else 0


def act_on_ticket(*, ticket_id: int, clock_version: int, now: datetime, worker: str) -> SweepResult:
    """The deadline task's path: the same steps for one ticket, if it has not moved on."""

    result = SweepResult()
    with transaction.atomic():
        rows = list(
            Ticket.objects.filter(
                pk=ticket_id,
                clock_version=clock_version,
                status__in=Status.active(),
                next_action_at__lte=now,
            )
            .select_for_update(skip_locked=True)
            .values(*_FIELDS)
        )
        if rows:
            _act(rows, now=now, worker=worker, result=result)
    metrics.count_sla_steps(
        warnings=result.warnings,
        escalations=result.escalations,
        downgrades=result.downgrades,
        reminders=result.reminders,
    )
    return result


def _claim(*, now: datetime, limit: int) -> list[dict[str, Any]]:
    """Lock and read the next batch of due tickets in one statement."""

    query = (
        Ticket.objects.filter(status__in=Status.active(), next_action_at__lte=now)
        .order_by("next_action_at")
        .values(*_FIELDS)
    )
    if connection.features.has_select_for_update_skip_locked:
        query = query.select_for_update(skip_locked=True)
    return list(query[:limit])


_FIELDS = (
    "pk",
    "organization_id",
    "status",
    "escalation_level",
    "response_due_at",
    "response_warning_at",
    "second_escalation_at",
    "customer_due_at",
    "first_response_at",
    "clock_version",
)


@dataclass(frozen=True, slots=True)
class _Step:
    ticket_id: int
    organization_id: int
    kind: str
    level: int
    lapse_at: datetime
    before_level: int
    reason: str


def _act(rows: list[dict[str, Any]], *, now: datetime, worker: str, result: SweepResult) -> None:
    """Take the due steps of the claimed (locked) rows."""

    result.claimed += len(rows)
    steps: list[_Step] = []
    final_level: dict[int, int] = {}
    warned_only: list[int] = []
    stale: list[int] = []
    lapsed_cooperation: list[int] = []
    for row in rows:
        planned = _plan(row, now)
        if row["status"] == Status.AWAITING_CUSTOMER:
            if row["customer_due_at"] is not None and row["customer_due_at"] <= now:
                lapsed_cooperation.append(row["pk"])
            else:
                stale.append(row["pk"])
            continue
        if not planned:
            stale.append(row["pk"])
            continue
        steps.extend(planned)
        top = max(step.level for step in planned)
        if top == 0:
            warned_only.append(row["pk"])
        else:
            final_level[row["pk"]] = top

    taken, event_ids = _write_steps(steps, now=now, worker=worker)
    result.event_ids.extend(event_ids)
    taken_tickets = {s.ticket_id for s in steps if _key(s) in taken}
    result.warnings += sum(1 for s in steps if s.kind == WARNED and _key(s) in taken)
    result.escalations += sum(1 for s in steps if s.kind == ESCALATED and _key(s) in taken)

    level_two = [pk for pk, level in final_level.items() if level == 2 and pk in taken_tickets]
    level_one = [pk for pk, level in final_level.items() if level == 1 and pk in taken_tickets]
    warned = [pk for pk in warned_only if pk in taken_tickets]
    bump = F("clock_version") + 1
    if level_two:
        Ticket.objects.filter(pk__in=level_two).update(
            escalation_level=2, response_warning_at=None, next_action_at=None, clock_version=bump
        )
    if level_one:
        Ticket.objects.filter(pk__in=level_one).update(
            escalation_level=1,
            response_warning_at=None,
            next_action_at=F("second_escalation_at"),
            clock_version=bump,
        )
    if warned:
        Ticket.objects.filter(pk__in=warned).update(
            response_warning_at=None, next_action_at=F("response_due_at"), clock_version=bump
        )
    # A step another sweeper already took, or a row whose next action moved: recompute.
    leftovers = stale + [s.ticket_id for s in steps if _key(s) not in taken]
    result.skipped += len(set(leftovers))
    _recompute_next_action(set(leftovers))

    for ticket_id in lapsed_cooperation:
        outcome = ticket_cooperation_lapse(ticket_id=ticket_id, now=now, worker=worker)
        if outcome == "downgraded":
            result.downgrades += 1
        elif outcome == "reminded":
            result.reminders += 1
        else:
            result.skipped += 1

    by_pk = {row["pk"]: row for row in rows}
    # The rows' next step after this one, known without reading them back: level 1 waits
    # for the second escalation, a warning for the deadline. Each UPDATE bumped the version.
    _schedule_next(
        [
            (pk, by_pk[pk]["clock_version"] + 1, by_pk[pk]["second_escalation_at"])
            for pk in level_one
        ]
        + [(pk, by_pk[pk]["clock_version"] + 1, by_pk[pk]["response_due_at"]) for pk in warned],
        now=now,
    )
    if event_ids:
        # This batch's Events only: the batches before queued theirs on their own commit.
        queue_delivery(event_ids)


def _plan(row: dict[str, Any], now: datetime) -> list[_Step]:
    """The steps due for one ticket waiting on support, catching up missed ones."""
    if row["status"] not in Status.waiting_on_support() or row["response_due_at"] is None:
        return []
    level = row["escalation_level"]
    due = row["response_due_at"]
    second = row["second_escalation_at"]
    update = row["first_response_at"] is not None
    common = {
        "ticket_id": row["pk"],
        "organization_id": row["organization_id"],
        "before_level": level,
    }
    steps: list[_Step] = []
    if level < 1 and due <= now:
        reason = REASON_LEVEL_1_UPDATE if update else REASON_LEVEL_1
        steps.append(_Step(kind=ESCALATED, level=1, lapse_at=due, reason=reason, **common))
    if level < 2 and second is not None and second <= now:
        steps.append(
            _Step(
                kind=ESCALATED,
                level=2,
                lapse_at=second,
                reason=REASON_LEVEL_2,
                **common,
            )
        )
    warning = row["response_warning_at"]
    if not steps and warning is not None and warning <= now and due > now:
        steps.append(_Step(kind=WARNED, level=0, lapse_at=due, reason=REASON_WARNING, **common))
    return steps


def _key(step: _Step) -> tuple[int, str, int, datetime]:
    return (step.ticket_id, str(step.kind), step.level, step.lapse_at)


def _write_steps(
    steps: list[_Step], *, now: datetime, worker: str
) -> tuple[set[tuple[Any, ...]], list[int]]:
    """Write one Event per step; the unique constraint on (ticket, kind, level, lapse)
    refuses any step already taken. Returns the keys of the steps this call took and the
    ids of their Events (for delivery)."""

    if not steps:
        return set(), []
    values = [
        event_values(
            organization_id=s.organization_id,
            ticket_id=s.ticket_id,
            kind=s.kind,
            actor=Actor.system(worker),
            now=now,
            before={"escalation_level": s.before_level},
            after={
                "escalation_level": max(s.level, s.before_level),
                "level": s.level,
                "lapse_at": s.lapse_at.isoformat(),
            },
            reason=s.reason,
            step=(s.level, s.lapse_at),
        )
        for s in steps
    ]
    if connection.vendor == "postgresql":
        # One statement: the steps another sweeper took are simply not returned.
        inserted = _insert_rows(
            Event,
            values,
            conflict=STEP_KEY,
            conflict_where="step_lapse_at IS NOT NULL",
            returning=("id", *STEP_KEY),
        )
        return {tuple(row[1:]) for row in inserted}, [row[0] for row in inserted]
    events = [Event(**row) for row in values]
    try:
        with transaction.atomic():
            Event.objects.bulk_create(events)
        return {_key(s) for s in steps}, [event.pk for event in events]
    except IntegrityError:
        # Someone took some of these steps already: insert one by one, keep the new ones.
        taken: set[tuple[Any, ...]] = set()
        ids: list[int] = []
        for step, event in zip(steps, events, strict=True):
            event.pk = None
            try:
                with transaction.atomic():
                    event.save(force_insert=True)
            except IntegrityError:
                continue
            taken.add(_key(step))
            ids.append(event.pk)
        return taken, ids


STEP_KEY = ("ticket_id", "kind", "step_level", "step_lapse_at")


def _recompute_next_action(ticket_ids: set[int]) -> None:

    for ticket in Ticket.objects.filter(pk__in=ticket_ids):
        value = next_action_at(ticket)
        if value != ticket.next_action_at:
            Ticket.objects.filter(pk=ticket.pk).update(
                next_action_at=value, clock_version=F("clock_version") + 1
            )


def _schedule_next(upcoming: list[tuple[int, int, datetime | None]], *, now: datetime) -> None:
    """Deadline tasks for the next step of tickets that just moved one step."""
    if not upcoming or not settings.SUPPORTDESK.DEADLINE_TASKS:
        return
    for pk, version, at in upcoming:
        schedule_deadline(pk, version, at, now=now)  # it skips far or missing deadlines

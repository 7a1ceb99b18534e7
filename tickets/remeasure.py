"""Re-measuring open tickets after an SLA change, explicitly and in batches.

A change of terms reaches open tickets only through here:

- a new policy version published "also for open tickets" moves the tickets measured
  against the policy's earlier versions onto it (``RemeasureKind.POLICY``);
- an organization given another policy moves its open tickets onto that policy's
  version in force (``ORGANIZATION``);
- a calendar changed (windows, holidays, extra days — a fact, not a choice) re-reads
  the calendar for every open ticket measured on it (``CALENDAR``; the sweep starts
  these when a calendar's revision is ahead of the one its tickets were measured on).

``preview`` answers what a change would do — how many deadlines move earlier or later,
how many would breach at once — without writing. A job (``RemeasureJob``) does it in
batches under row locks: per batch one read of the tickets, one of their Events, one
UPDATE and one INSERT of "SLA re-measured" Events carrying the old and new due times.
Its row is the progress bar. A restarted job goes on with what is left; a large one is
shared between worker processes (``remeasure_run(helper=True)``).

What the workers do next follows from the stored values: a deadline moved into the past
leaves ``next_action_at`` in the past, so the next sweep acts on it — once, as every
step is unique per (ticket, kind, level, lapse). Steps already taken stay taken: the
escalation level is kept as far as the new deadlines have lapsed too. A customer
waiting on a cooperation deadline keeps it if the new terms would bring it forward
(``customer_due_floor``, as for a severity change during a wait).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.fields.json import KT
from django.utils import timezone
from django.utils.translation import gettext_noop

from severity.models import (
    Calendar,
    SlaPolicy,
    SlaPolicyVersion,
    SlaTarget,
    business_calendar,
    refresh_now,
    version_in_force,
)
from severity.sla import Target
from tenants.models import Organization, User
from tickets.actors import Actor
from tickets.bulk import insert_rows, update_rows
from tickets.clocks import History, clocks_for, history_from_events, next_action_at, plain_target
from tickets.events import event_values
from tickets.models import (
    Event,
    EventKind,
    RemeasureJob,
    RemeasureKind,
    RemeasureStatus,
    Status,
    Ticket,
)
from tickets.scheduling import schedule_deadline

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000

REASON_POLICY = gettext_noop("The SLA policy changed: %(version)s.")
REASON_ORGANIZATION = gettext_noop("The organization's SLA policy changed: %(version)s.")
REASON_CALENDAR = gettext_noop("The business calendar %(calendar)s changed.")

# The ticket columns a re-measure reads and writes.
_FIELDS = (
    "id",
    "organization_id",
    "severity",
    "category",
    "status",
    "created_at",
    "first_response_at",
    "last_agent_update_at",
    "sla_version_id",
    "escalation_level",
    "response_due_at",
    "customer_due_at",
    "response_warning_at",
    "second_escalation_at",
    "next_action_at",
    "clock_version",
)
_WRITTEN = (
    "sla_version_id",
    "escalation_level",
    "response_due_at",
    "customer_due_at",
    "response_warning_at",
    "second_escalation_at",
    "next_action_at",
    "clock_version",
)
# The Events that shape the clocks (tickets.clocks.history_from_events): status changes,
# reminders and kept cooperation deadlines. The others (notes, assignments …) are not read.
_CLOCK_EVENTS = (
    Q(after__has_key="status") | Q(kind=EventKind.REMINDED) | Q(after__has_key="customer_due_floor")
)


@dataclass
class Impact:
    """What a change does (or would do) to the open tickets' deadlines."""

    total: int = 0
    moved_earlier: int = 0
    moved_later: int = 0
    unchanged: int = 0
    # The response deadline moves into the past: the next sweep escalates at once.
    breached_now: int = 0

    def add(self, other: Impact) -> None:
        self.total += other.total
        self.moved_earlier += other.moved_earlier
        self.moved_later += other.moved_later
        self.unchanged += other.unchanged
        self.breached_now += other.breached_now


@dataclass
class _Outcome:
    organization_id: int
    row: dict[str, Any]  # the new values (``_WRITTEN``) and ``id``
    before: dict[str, Any]
    after: dict[str, Any]
    moved: int  # -1 earlier, 0 unchanged, 1 later
    breached_now: bool
    changed: bool


@dataclass
class _Targets:
    """The targets of the versions a batch needs, each version read once."""

    by_version: dict[int, dict[tuple[str, str], SlaTarget]] = field(default_factory=dict)
    plain: dict[int, Target] = field(default_factory=dict)

    def plain_of(self, target: SlaTarget) -> Target:
        found = self.plain.get(target.pk)
        if found is None:
            found = self.plain[target.pk] = plain_target(target)
        return found

    def get(self, version_id: int, severity: str, category: str) -> SlaTarget:
        targets = self.by_version.get(version_id)
        if targets is None:
            rows = SlaTarget.objects.filter(version_id=version_id).select_related(
                "calendar", "version"
            )
            targets = {(t.severity, t.category): t for t in rows}
            self.by_version[version_id] = targets
        return targets[severity, category]


# --- Which tickets a change reaches ----------------------------------------------------------


def candidates(
    *,
    kind: str,
    version: SlaPolicyVersion | None = None,
    calendar: Calendar | None = None,
    organization: Organization | None = None,
) -> QuerySet[Ticket]:
    open_tickets = Ticket.objects.filter(status__in=Status.active())
    if kind == RemeasureKind.POLICY:
        assert version is not None
        # The open tickets of every organization this policy is in force for (the most
        # specific policy wins), not yet on this version: a contract's first policy
        # reaches the organizations that were on the default until now.
        return open_tickets.filter(_in_force_for(version.policy)).exclude(sla_version_id=version.pk)
    if kind == RemeasureKind.ORGANIZATION:
        assert organization is not None and version is not None
        return open_tickets.filter(organization=organization).exclude(sla_version_id=version.pk)
    assert calendar is not None
    # The tickets whose own target (their version, severity and category) is on this
    # calendar: another calendar's change is its own job's, under its own name.
    on_calendar = SlaTarget.objects.filter(
        calendar=calendar,
        version_id=OuterRef("sla_version_id"),
        severity=OuterRef("severity"),
        category=OuterRef("category"),
    )
    return open_tickets.filter(Exists(on_calendar))


def _in_force_for(policy: SlaPolicy) -> Q:
    """The organizations (as a filter on tickets) whose version in force comes from
    ``policy``: their own policy, else their contract's, else the default."""
    own = Q(organization__sla_policy=policy)
    if policy.contract:
        return own | Q(
            organization__sla_policy__isnull=True, organization__contract=policy.contract
        )
    if policy.is_default:
        contracts = list(
            SlaPolicy.objects.exclude(contract="")
            .filter(current_version__isnull=False)
            .values_list("contract", flat=True)
        )
        return own | (
            Q(organization__sla_policy__isnull=True) & ~Q(organization__contract__in=contracts)
        )
    return own


def _new_version(kind: str, version: SlaPolicyVersion | None, row: dict[str, Any]) -> int:
    if kind == RemeasureKind.CALENDAR or version is None:
        return int(row["sla_version_id"])
    return version.pk


# --- The arithmetic of one batch -------------------------------------------------------------


def _histories(rows: list[dict[str, Any]]) -> dict[int, History]:
    events: dict[int, list[tuple[datetime, str, dict[str, Any] | None]]] = defaultdict(list)
    # Only the two keys the clocks read, not whole "after" documents (an assessment's
    # carries its reasons): the database extracts them.
    query = (
        Event.objects.filter(_CLOCK_EVENTS, ticket_id__in=[r["id"] for r in rows])
        .order_by("ticket_id", "created_at", "pk")
        .values_list(
            "ticket_id",
            "created_at",
            "kind",
            KT("after__status"),
            KT("after__customer_due_floor"),
        )
    )
    for ticket_id, at, kind, status, floor in query:
        after: dict[str, Any] = {}
        if status is not None:
            after["status"] = status
        if floor is not None:
            after["customer_due_floor"] = floor
        events[ticket_id].append((at, kind, after))
    return {r["id"]: history_from_events(r["created_at"], events[r["id"]]) for r in rows}


def _measure(
    rows: list[dict[str, Any]],
    *,
    kind: str,
    version: SlaPolicyVersion | None,
    targets: _Targets,
    zones: dict[int, str],
    now: datetime,
) -> list[_Outcome]:
    histories = _histories(rows)
    outcomes = []
    for row in rows:
        version_id = _new_version(kind, version, row)
        target = targets.get(version_id, row["severity"], row["category"])
        calendar = business_calendar(target.calendar, organization_tz=zones[row["organization_id"]])
        history = histories[row["id"]]
        waiting = row["status"] == Status.AWAITING_CUSTOMER
        promised = row["customer_due_at"] if waiting else None
        if promised is not None and (
            history.customer_due_floor is None or promised > history.customer_due_floor
        ):
            # The customer keeps the deadline they were given (POL-SEV-7).
            history = History(history.changes, history.last_reminder_at, promised)
        clocks = clocks_for(
            _Stub(row),  # type: ignore[arg-type]
            history,
            target,
            calendar,
            plain=targets.plain_of(target),
        )
        outcomes.append(_outcome(row, clocks, version_id, promised, now))
    return outcomes


def _outcome(
    row: dict[str, Any], clocks: Any, version_id: int, promised: datetime | None, now: datetime
) -> _Outcome:
    new = dict(row)
    new["sla_version_id"] = version_id
    new["customer_due_at"] = clocks.customer_due_at
    if clocks.response_due_at != row["response_due_at"]:
        due, second = clocks.response_due_at, clocks.second_escalation_at
        # Steps already taken stay taken as far as the new deadlines have lapsed too.
        lapsed = (due is not None and due <= now) + (second is not None and second <= now)
        level = min(row["escalation_level"], int(lapsed))
        new["response_due_at"] = due
        new["second_escalation_at"] = second
        new["escalation_level"] = level
        new["response_warning_at"] = (
            clocks.warning_at
            if clocks.warning_at is not None and due is not None and level < 1
            else None
        )
    new["next_action_at"] = next_action_at(_Stub(new))  # type: ignore[arg-type]
    changed = any(new[c] != row[c] for c in _WRITTEN if c != "clock_version")
    if changed:
        new["clock_version"] = row["clock_version"] + 1
    old_due = row["response_due_at"] or row["customer_due_at"]
    new_due = new["response_due_at"] or new["customer_due_at"]
    moved = 0
    if old_due != new_due:
        moved = -1 if old_due is None or (new_due is not None and new_due < old_due) else 1
    breached_now = (
        new["response_due_at"] is not None
        and new["response_due_at"] <= now
        and (row["response_due_at"] is None or row["response_due_at"] > now)
    )
    before = {
        "sla_version": row["sla_version_id"],
        "response_due_at": _iso(row["response_due_at"]),
        "customer_due_at": _iso(row["customer_due_at"]),
    }
    after = {
        "sla_version": version_id,
        "response_due_at": _iso(new["response_due_at"]),
        "customer_due_at": _iso(new["customer_due_at"]),
    }
    if promised is not None:
        after["customer_due_floor"] = promised.isoformat()
    return _Outcome(
        row["organization_id"],
        {"id": row["id"], **{c: new[c] for c in _WRITTEN}},
        before,
        after,
        moved,
        breached_now,
        changed,
    )


class _Stub:
    """A ticket's columns as attributes, for the clock functions that read a Ticket: a
    model instance costs more to build than the whole arithmetic of a re-measure."""

    __slots__ = ("__dict__",)

    def __init__(self, row: dict[str, Any]) -> None:
        self.__dict__.update(row)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _batches(query: QuerySet[Ticket], *, after: int, size: int) -> Iterator[list[dict[str, Any]]]:
    cursor = after
    while True:
        rows = list(query.filter(pk__gt=cursor).order_by("pk").values(*_FIELDS)[:size])
        if not rows:
            return
        yield rows
        cursor = rows[-1]["id"]


def _zones(rows: list[dict[str, Any]], zones: dict[int, str]) -> dict[int, str]:
    missing = {r["organization_id"] for r in rows} - zones.keys()
    if missing:
        zones.update(Organization.objects.filter(pk__in=missing).values_list("pk", "time_zone"))
    return zones


# --- Preview ---------------------------------------------------------------------------------


def preview(
    *,
    kind: str,
    now: datetime,
    version: SlaPolicyVersion | None = None,
    calendar: Calendar | None = None,
    organization: Organization | None = None,
    progress: Callable[[Impact], None] | None = None,
) -> Impact:
    """What the change would do to the open tickets now, written nowhere. ``version`` may
    be a draft: its targets are read as they stand. ``progress`` is called after each
    batch with the tally so far (a worker's preview job shows it as its progress bar)."""
    if kind == RemeasureKind.ORGANIZATION and organization is not None and version is None:
        version = SlaPolicyVersion.objects.get(pk=_organization_version(organization))
    query = candidates(kind=kind, version=version, calendar=calendar, organization=organization)
    impact = Impact()
    targets = _Targets()
    zones: dict[int, str] = {}
    for rows in _batches(query, after=0, size=BATCH_SIZE):
        for outcome in _measure(
            rows, kind=kind, version=version, targets=targets, zones=_zones(rows, zones), now=now
        ):
            impact.add(_impact_of(outcome))
        if progress is not None:
            progress(impact)
    return impact


def _impact_of(outcome: _Outcome) -> Impact:
    return Impact(
        total=1,
        moved_earlier=int(outcome.moved < 0),
        moved_later=int(outcome.moved > 0),
        unchanged=int(outcome.moved == 0),
        breached_now=int(outcome.breached_now),
    )


def _organization_version(organization: Organization) -> int:
    return version_in_force(policy_id=organization.sla_policy_id, contract=organization.contract)


# --- Jobs ------------------------------------------------------------------------------------


def remeasure_start(
    *,
    kind: str,
    now: datetime,
    requested_by: User | None = None,
    version: SlaPolicyVersion | None = None,
    calendar: Calendar | None = None,
    organization: Organization | None = None,
) -> RemeasureJob:
    """Record a re-measure and hand it to a worker after commit (in the caller's
    transaction: a publish that rolls back starts nothing)."""
    if kind == RemeasureKind.ORGANIZATION and organization is not None and version is None:
        version = SlaPolicyVersion.objects.get(pk=_organization_version(organization))
    total = candidates(
        kind=kind, version=version, calendar=calendar, organization=organization
    ).count()
    job = RemeasureJob.objects.create(
        kind=kind,
        version=version,
        calendar=calendar,
        calendar_revision=calendar.revision if calendar is not None else None,
        organization=organization,
        requested_by=requested_by,
        total=total,
        created_at=now,
    )
    transaction.on_commit(lambda: publish(job.pk))
    return job


def publish(job_id: int) -> None:
    """Queue the job's task; with the broker down, the sweep queues it again later.
    With the SLA tasks switched off (DEADLINE_TASKS, as in the tests), nothing is
    queued: ``manage.py sweep`` runs queued jobs itself."""
    from django.conf import settings

    from tickets.tasks import remeasure

    if not settings.SUPPORTDESK.DEADLINE_TASKS:
        return
    try:
        remeasure.apply_async(args=(job_id,), retry=False, ignore_result=True)
    except Exception as error:
        logger.warning("re-measure %s not queued (%s); the sweep will retry", job_id, error)


def remeasure_run(
    job_id: int, *, batch_size: int = BATCH_SIZE, helper: bool = False
) -> RemeasureJob:
    """Do a job, batch after batch, each batch in its own transaction. Runs once: a
    second worker handed the same job finds it taken and returns.

    A policy or organization job moves tickets onto one version, so what is left to do
    is simply the candidates not on it yet: helpers (``helper=True``, started by the task
    on a large job, one per worker process) take other batches beside the runner with
    SKIP LOCKED, and a restarted job goes on with what is left. A calendar job keeps
    each ticket's version and walks the tickets in id order from its cursor, alone."""
    job = RemeasureJob.objects.select_related("version__policy", "calendar", "organization").get(
        pk=job_id
    )
    if helper:
        if job.status != RemeasureStatus.RUNNING or job.kind == RemeasureKind.CALENDAR:
            return job
    else:
        started = timezone.now()
        claimed = RemeasureJob.objects.filter(pk=job_id, status=RemeasureStatus.QUEUED).update(
            status=RemeasureStatus.RUNNING, started_at=started, touched_at=started
        )
        if not claimed:
            return job
    try:
        _run(job, batch_size=batch_size, helper=helper)
    except Exception as error:
        logger.exception("re-measure %s failed", job_id)
        RemeasureJob.objects.filter(pk=job_id).update(
            status=RemeasureStatus.FAILED, error=str(error)[:2000], finished_at=timezone.now()
        )
        raise
    if not helper:
        RemeasureJob.objects.filter(pk=job_id, status=RemeasureStatus.RUNNING).update(
            status=RemeasureStatus.DONE, finished_at=timezone.now()
        )
    job.refresh_from_db()
    return job


def wants_helpers(job: RemeasureJob, *, batch_size: int = BATCH_SIZE) -> bool:
    return job.kind != RemeasureKind.CALENDAR and job.total >= 2 * batch_size


def _run(job: RemeasureJob, *, batch_size: int, helper: bool) -> None:
    refresh_now()  # the change that started this job, whatever this process cached
    query = candidates(
        kind=job.kind, version=job.version, calendar=job.calendar, organization=job.organization
    )
    by_cursor = job.kind == RemeasureKind.CALENDAR
    actor = (
        Actor.for_user(job.requested_by)
        if job.requested_by is not None
        else Actor.system("sla-remeasure")
    )
    reason = _reason(job)
    targets = _Targets()
    zones: dict[int, str] = {}
    cursor = job.cursor
    # Batches other transactions hold (a helper's, a reply being saved) are skipped
    # first; the runner's last pass waits for them, so it ends only when none is left.
    skip_locked = not by_cursor and connection.features.has_select_for_update_skip_locked
    while True:
        with transaction.atomic():
            locked = query.filter(pk__gt=cursor) if by_cursor else query
            locked = locked.order_by("pk")
            if connection.features.has_select_for_update:
                locked = locked.select_for_update(of=("self",), skip_locked=skip_locked)
            rows = list(locked.values(*_FIELDS)[:batch_size])
            if not rows:
                if skip_locked and not helper:
                    skip_locked = False
                    continue
                return
            now = timezone.now()
            outcomes = _measure(
                rows,
                kind=job.kind,
                version=job.version,
                targets=targets,
                zones=_zones(rows, zones),
                now=now,
            )
            impact = _write(outcomes, job=job, actor=actor, reason=reason, now=now)
            cursor = rows[-1]["id"]
            RemeasureJob.objects.filter(pk=job.pk).update(
                cursor=cursor if by_cursor else F("cursor"),
                done=F("done") + len(rows),
                moved_earlier=F("moved_earlier") + impact.moved_earlier,
                moved_later=F("moved_later") + impact.moved_later,
                breached_now=F("breached_now") + impact.breached_now,
                touched_at=now,
            )


def _reason(job: RemeasureJob) -> str:
    if job.kind == RemeasureKind.CALENDAR and job.calendar is not None:
        return REASON_CALENDAR % {"calendar": job.calendar.name}
    template = REASON_ORGANIZATION if job.kind == RemeasureKind.ORGANIZATION else REASON_POLICY
    return template % {"version": str(job.version)}


def _write(
    outcomes: list[_Outcome], *, job: RemeasureJob, actor: Actor, reason: str, now: datetime
) -> Impact:
    """Store the batch's new values and one Event per ticket that moved (a calendar job)
    or changed version (a policy job), set-based on PostgreSQL."""
    impact = Impact()
    changed = [o for o in outcomes if o.changed]
    recorded = [
        o for o in outcomes if o.changed or o.before["sla_version"] != o.after["sla_version"]
    ]
    for outcome in outcomes:
        impact.add(_impact_of(outcome))
    columns = _WRITTEN
    if connection.vendor == "postgresql":
        update_rows(Ticket, [o.row for o in recorded], columns=columns)
    else:
        for outcome in recorded:
            values = {c: outcome.row[c] for c in columns}
            Ticket.objects.filter(pk=outcome.row["id"]).update(**values)
    events = [
        {
            **event_values(
                organization_id=o.organization_id,
                ticket_id=o.row["id"],
                kind=EventKind.SLA_REMEASURED,
                actor=actor,
                now=now,
                before=o.before,
                after={**o.after, "job": job.pk},
                reason=reason,
            ),
            # Nothing to notify: the Event is the record of why the deadline moved.
            "delivered_at": now,
        }
        for o in recorded
    ]
    if events:
        if connection.vendor == "postgresql":
            insert_rows(Event, events, returning=("id",))
        else:
            Event.objects.bulk_create([Event(**e) for e in events])
    for outcome in changed:
        row = outcome.row
        schedule_deadline(row["id"], row["clock_version"], row["next_action_at"], now=now)
    return impact


# --- Started by the sweep -------------------------------------------------------------------

# A job still queued after this long lost its message (a broker outage): queue it again.
REQUEUE_AFTER = timedelta(minutes=2)
STALLED_AFTER = timedelta(minutes=10)


def queued_jobs() -> list[int]:
    return list(
        RemeasureJob.objects.filter(status=RemeasureStatus.QUEUED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def start_calendar_jobs(*, now: datetime) -> list[int]:
    """One job per calendar changed since its open tickets were measured (a holiday
    added in the admin, the desk, an import or a shell), and the queued jobs whose
    message was lost queued again. Called by each sweep; cheap when nothing changed
    (one indexed read of a few calendar rows)."""
    started: list[int] = []
    for calendar in Calendar.objects.filter(revision__gt=F("measured_revision")):
        with transaction.atomic():
            # Whoever moves measured_revision starts the job: two sweeps start one.
            taken = Calendar.objects.filter(
                pk=calendar.pk, measured_revision=calendar.measured_revision
            ).update(measured_revision=calendar.revision)
            if taken:
                job = remeasure_start(kind=RemeasureKind.CALENDAR, calendar=calendar, now=now)
                started.append(job.pk)
    # A running job that made no progress for a while lost its worker: it goes on from
    # its cursor (every batch it finished is committed).
    RemeasureJob.objects.filter(
        status=RemeasureStatus.RUNNING, touched_at__lt=now - STALLED_AFTER
    ).update(status=RemeasureStatus.QUEUED)
    lost = RemeasureJob.objects.filter(
        status=RemeasureStatus.QUEUED, created_at__lt=now - REQUEUE_AFTER
    ).values_list("pk", flat=True)
    for job_id in lost[:10]:
        publish(job_id)
    return started

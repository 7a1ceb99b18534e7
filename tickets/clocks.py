"""A ticket's SLA clocks: its phases from its Events, its deadlines stored on the row.

``refresh_clocks`` is the one function every ticket service calls after the status or
severity moved; the arithmetic is ``severity.sla``'s, on the ticket's phases, with the
targets of the policy version the ticket records (``Ticket.sla_version``). The ledger
(``explain``) reads the same version, so the countdown and the ledger cannot disagree.

Events that kept a cooperation deadline the customer had been given (a severity raised
or a policy re-measured during a wait) record it as ``after["customer_due_floor"]``;
the history hands the latest one of the current wait to ``compute_clocks``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.dateparse import parse_datetime

from core.names import calendar_name
from severity.calendars import BusinessCalendar
from severity.models import SlaTarget, business_calendar, version_in_force, version_target
from severity.sla import (
    RUNNING,
    Clocks,
    PhaseChange,
    Segment,
    Target,
    compute_clocks,
    ledger,
)
from tickets.models import EventKind, Status, Ticket
from tickets.scheduling import schedule_deadline


def _change(at: datetime, status: str) -> PhaseChange:
    return PhaseChange(at, Status(status).phase, status)


@dataclass(frozen=True, slots=True)
class History:
    """What the clocks need from a ticket's Events."""

    changes: list[PhaseChange]
    last_reminder_at: datetime | None = None
    customer_due_floor: datetime | None = None


def history_from_events(
    created_at: datetime, rows: list[tuple[datetime, str, dict[str, object] | None]]
) -> History:
    """The phases, the last reminder and the promised cooperation deadline, from the
    (time, kind, after) of a ticket's Events in time order."""
    changes = [_change(created_at, Status.NEW)]
    last_reminder: datetime | None = None
    floor: datetime | None = None
    for at, kind, after in rows:
        after = after or {}
        if kind == EventKind.REMINDED:
            last_reminder = at
            floor = None  # the reminder gave a new window
        status = after.get("status")
        if status and status != changes[-1].label:
            changes.append(_change(max(at, changes[-1].at), str(status)))
            floor = None  # a new wait, or none: earlier promises no longer apply
        promised = after.get("customer_due_floor")
        if isinstance(promised, str):
            value = parse_datetime(promised)
            if value is not None and (floor is None or value > floor):
                floor = value
    return History(changes, last_reminder, floor)


def status_history(ticket: Ticket) -> History:
    """The ticket's statuses over time, as SLA phases, from its Events (the audit trail
    is the truth)."""
    rows = ticket.events.order_by("created_at", "pk").values_list("created_at", "kind", "after")
    return history_from_events(ticket.created_at, list(rows))


def ticket_version_id(ticket: Ticket) -> int:
    """The policy version the ticket is measured against (the one in force for its
    organization, for a ticket not yet given one)."""
    if ticket.sla_version_id is not None:
        return ticket.sla_version_id
    organization = ticket.organization
    return version_in_force(policy_id=organization.sla_policy_id, contract=organization.contract)


def ticket_target(ticket: Ticket) -> SlaTarget:
    return version_target(ticket_version_id(ticket), ticket.severity, ticket.category)


def ticket_calendar(ticket: Ticket, target: SlaTarget) -> BusinessCalendar:
    return business_calendar(target.calendar, organization_tz=ticket.organization.time_zone)


def plain_target(target: SlaTarget) -> Target:
    version = target.version
    return Target(
        target.first_response,
        target.update_cadence,
        target.cooperation_window,
        warning_share=float(version.warning_share),
        second_escalation_factor=float(version.second_escalation_factor),
    )


def clocks_for(
    ticket: Ticket,
    history: History,
    target: SlaTarget,
    calendar: BusinessCalendar,
    *,
    plain: Target | None = None,
) -> Clocks:
    return compute_clocks(
        history=history.changes,
        target=plain or plain_target(target),
        calendar=calendar,
        first_response_at=ticket.first_response_at,
        last_agent_update_at=ticket.last_agent_update_at,
        last_reminder_at=history.last_reminder_at,
        customer_due_floor=history.customer_due_floor,
    )


def current_clocks(
    ticket: Ticket,
) -> tuple[Clocks, SlaTarget, BusinessCalendar, list[PhaseChange]]:
    target = ticket_target(ticket)
    calendar = ticket_calendar(ticket, target)
    history = status_history(ticket)
    return clocks_for(ticket, history, target, calendar), target, calendar, history.changes


def next_action_at(ticket: Ticket) -> datetime | None:
    """The earliest pending worker step, from the stored deadlines and the level reached."""
    candidates = [ticket.customer_due_at]
    if ticket.response_due_at is not None:
        candidates.append(ticket.response_warning_at)
        if ticket.escalation_level < 1:
            candidates.append(ticket.response_due_at)
        if ticket.escalation_level < 2:
            candidates.append(ticket.second_escalation_at)
    pending = [c for c in candidates if c is not None]
    return min(pending) if pending else None


def opening_clocks(ticket: Ticket) -> Clocks:
    """Set the deadlines of a new ticket before its row is inserted.

    What ``refresh_clocks`` would compute right after the insert — the history of a new
    ticket is its opening alone — without reading its Events back or updating the row a
    second time: two statements fewer on every create (bench/api.py). The caller
    schedules the deadline task once the row has its id."""
    ticket.sla_version_id = ticket_version_id(ticket)
    target = ticket_target(ticket)
    clocks = compute_clocks(
        history=[_change(ticket.created_at, Status.NEW)],
        target=plain_target(target),
        calendar=ticket_calendar(ticket, target),
        first_response_at=None,
        last_agent_update_at=None,
    )
    ticket.response_due_at = clocks.response_due_at
    ticket.response_warning_at = (
        clocks.warning_at
        if clocks.warning_at is not None and clocks.response_due_at is not None
        else None
    )
    ticket.second_escalation_at = clocks.second_escalation_at
    ticket.escalation_level = 0
    ticket.customer_due_at = clocks.customer_due_at
    ticket.next_action_at = next_action_at(ticket)
    ticket.clock_version += 1
    return clocks


def refresh_clocks(ticket: Ticket, *, now: datetime) -> Clocks:
    """Recompute and store the ticket's deadlines and the workers' next step.

    Called inside the caller's transaction after the status or severity moved. When the
    response deadline moves, the escalation starts again from level 0 for the new
    deadline (an agent answered, or the severity changed); an unchanged deadline keeps
    the level reached and a warning already sent. ``clock_version`` is bumped on every
    change, so a deadline task scheduled for the old values becomes a no-op."""
    clocks, _target, _calendar, _history = current_clocks(ticket)
    before = (
        ticket.response_due_at,
        ticket.customer_due_at,
        ticket.response_warning_at,
        ticket.second_escalation_at,
        ticket.escalation_level,
        ticket.next_action_at,
    )
    if clocks.response_due_at != ticket.response_due_at:
        ticket.response_due_at = clocks.response_due_at
        ticket.response_warning_at = (
            clocks.warning_at
            if clocks.warning_at is not None and clocks.response_due_at is not None
            else None
        )
        ticket.second_escalation_at = clocks.second_escalation_at
        ticket.escalation_level = 0
    ticket.customer_due_at = clocks.customer_due_at
    ticket.next_action_at = next_action_at(ticket)
    after = (
        ticket.response_due_at,
        ticket.customer_due_at,
        ticket.response_warning_at,
        ticket.second_escalation_at,
        ticket.escalation_level,
        ticket.next_action_at,
    )
    if after != before:
        ticket.clock_version += 1
        Ticket.objects.filter(pk=ticket.pk).update(
            response_due_at=ticket.response_due_at,
            customer_due_at=ticket.customer_due_at,
            response_warning_at=ticket.response_warning_at,
            second_escalation_at=ticket.second_escalation_at,
            escalation_level=ticket.escalation_level,
            next_action_at=ticket.next_action_at,
            clock_version=ticket.clock_version,
        )
        schedule_deadline(ticket.pk, ticket.clock_version, ticket.next_action_at, now=now)
    return clocks


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a deadline is where it is: the SLA ledger of a ticket."""

    severity: str
    category: str
    # The policy version the ticket is measured against ("Standard terms v2").
    policy: str
    calendar: str
    time_zone: str
    target: timedelta
    measuring: str | None  # "first_response" | "update" | None
    clock_from: datetime
    due_at: datetime | None
    customer_due_at: datetime | None
    used: timedelta  # working time consumed while waiting on support
    remaining: timedelta | None
    segments: list[Segment]
    first_response_at: datetime | None


def explain(ticket: Ticket, *, now: datetime) -> Explanation:
    """The response clock's story: which target, on which calendar, from when, and how
    every stretch since counted (running, paused, out of hours, holiday, stopped)."""
    clocks, target, calendar, history = current_clocks(ticket)
    until = now
    if ticket.first_response_at is None:
        measuring: str | None = "first_response"
        goal, clock_from = target.first_response, ticket.created_at
    elif target.update_cadence is not None and ticket.is_active:
        # Continued work (POL-SLA-1): measured from the last agent update, paused while
        # the ticket waits on the customer.
        measuring = "update"
        goal = target.update_cadence
        clock_from = ticket.last_agent_update_at or ticket.first_response_at
    else:
        # The first response was met and no cadence follows: the ledger ends there.
        measuring = None
        goal, clock_from = target.first_response, ticket.created_at
        until = ticket.first_response_at
    until = max(until, clock_from)
    segments = ledger(history=history, calendar=calendar, clock_from=clock_from, until=until)
    used = sum((s.duration for s in segments if s.kind == RUNNING), timedelta(0))
    remaining = None if measuring is None or not ticket.is_active else goal - used
    return Explanation(
        severity=ticket.severity,
        category=ticket.category,
        policy=str(target.version),
        calendar=calendar_name(target.calendar.name),  # a seeded name, translated
        time_zone=str(calendar.tz),
        target=goal,
        measuring=measuring,
        clock_from=clock_from,
        due_at=clocks.response_due_at,
        customer_due_at=clocks.customer_due_at,
        used=used,
        remaining=remaining,
        segments=segments,
        first_response_at=ticket.first_response_at,
    )

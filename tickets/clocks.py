"""A ticket's SLA clocks: its phases from its Events, its deadlines stored on the row.

``refresh_clocks`` is the one function every ticket service calls after the status or
severity moved; the arithmetic is ``severity.sla``'s, on the ticket's phases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from severity.calendars import BusinessCalendar
from severity.models import SlaTarget, business_calendar, target_for
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


def status_history(ticket: Ticket) -> tuple[list[PhaseChange], datetime | None]:
    """The ticket's statuses over time, as SLA phases, and its last customer reminder,
    from its Events (the audit trail is the truth)."""
    history = [_change(ticket.created_at, Status.NEW)]
    last_reminder: datetime | None = None
    rows = ticket.events.order_by("created_at", "pk").values_list("created_at", "kind", "after")
    for at, kind, after in rows:
        if kind == EventKind.REMINDED:
            last_reminder = at
        status = (after or {}).get("status")
        if status and status != history[-1].label:
            history.append(_change(max(at, history[-1].at), status))
    return history, last_reminder


def ticket_calendar(ticket: Ticket, target: SlaTarget) -> BusinessCalendar:
    return business_calendar(target.calendar, organization_tz=ticket.organization.time_zone)


def _plain(target: SlaTarget) -> Target:
    return Target(target.first_response, target.update_cadence, target.cooperation_window)


def current_clocks(
    ticket: Ticket,
) -> tuple[Clocks, SlaTarget, BusinessCalendar, list[PhaseChange]]:
    target = target_for(ticket.severity, ticket.category)
    calendar = ticket_calendar(ticket, target)
    history, last_reminder = status_history(ticket)
    clocks = compute_clocks(
        history=history,
        target=_plain(target),
        calendar=calendar,
        first_response_at=ticket.first_response_at,
        last_agent_update_at=ticket.last_agent_update_at,
        last_reminder_at=last_reminder,
    )
    return clocks, target, calendar, history


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
    target = target_for(ticket.severity, ticket.category)
    clocks = compute_clocks(
        history=[_change(ticket.created_at, Status.NEW)],
        target=_plain(target),
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
        calendar=target.calendar.name,
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

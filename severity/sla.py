"""SLA clocks in closed form, from a case's history of phases. Pure.

A phase says who owes the next move: support, the customer, or nobody (stopped). The
caller maps its own statuses onto phases (``tickets.clocks``); this module knows no
ticket status. The response clock runs only while support owes the next move and only
inside the calendar's working hours; it pauses while the ticket waits on the customer
and resumes on their reply. Before the first public answer it measures the
first-response target (POL-SLA-1); afterwards, where the target has an update cadence
(Severity A's "continued work"), it measures the time since the last agent update.
The customer clock runs while the ticket waits on the customer and measures the
customer-cooperation window (POL-SEV-7).

A severity change recomputes everything from the opening with the new target and
calendar: the history, not the previous deadline, is the source of truth — with one
exception. A customer is never late for a deadline they were not given: when a change
during a wait (a severity raised, a policy re-measured) would bring their cooperation
deadline forward, the later one is kept (``customer_due_floor``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum

from severity.calendars import BusinessCalendar


class Phase(StrEnum):
    """Who owes the next move."""

    SUPPORT = "support"  # the response clock runs (in working hours)
    CUSTOMER = "customer"  # paused; the customer-cooperation clock runs (POL-SEV-7)
    STOPPED = "stopped"  # resolved or closed: no clock runs


@dataclass(frozen=True, slots=True)
class PhaseChange:
    """From ``at`` on, the case is in ``phase``; ``label`` is the caller's own name for
    it (a ticket's status), carried through to the ledger untouched."""

    at: datetime
    phase: Phase
    label: str = ""


# The workers' steps on the response clock (workers issue), as the seeded policy has
# them: a warning at 75 % of the target, escalation level 1 at the deadline, level 2 at
# twice the target. Each policy version sets its own.
WARNING_SHARE = 0.75
SECOND_ESCALATION_FACTOR = 2.0


@dataclass(frozen=True, slots=True)
class Target:
    first_response: timedelta
    update_cadence: timedelta | None
    cooperation_window: timedelta
    warning_share: float = WARNING_SHARE
    second_escalation_factor: float = SECOND_ESCALATION_FACTOR


@dataclass(frozen=True, slots=True)
class Clocks:
    response_due_at: datetime | None
    customer_due_at: datetime | None
    # "first_response" or "update": what the response clock is measuring.
    response_kind: str | None = None
    # Where the response clock started counting (opening, or the last agent update).
    response_from: datetime | None = None
    warning_at: datetime | None = None
    second_escalation_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Span:
    start: datetime
    end: datetime | None  # None: still going on
    phase: Phase
    label: str


def spans(history: Sequence[PhaseChange]) -> list[Span]:
    """Consecutive phase spans; the last one is open-ended."""
    result: list[Span] = []
    for index, change in enumerate(history):
        end = history[index + 1].at if index + 1 < len(history) else None
        if end is not None and end < change.at:
            raise ValueError("the history must be in time order")
        result.append(Span(change.at, end, change.phase, change.label))
    return result


def _due(
    history: Sequence[Span], start_at: datetime, work: timedelta, calendar: BusinessCalendar
) -> datetime | None:
    """When ``work`` of working time waiting on support has elapsed since ``start_at``,
    along the history's spans.

    None when the work is not used up and the ticket is not waiting on support now
    (the clock is paused, so there is no deadline)."""
    remaining = work
    for span in history:
        if span.phase != Phase.SUPPORT:
            continue
        end = span.end
        if end is not None and end <= start_at:
            continue
        begin = max(span.start, start_at)
        if end is None:
            return calendar.add(begin, remaining)
        available = calendar.between(begin, end)
        if available >= remaining:
            return calendar.add(begin, remaining)
        remaining -= available
    return None


def compute_clocks(
    *,
    history: Sequence[PhaseChange],
    target: Target,
    calendar: BusinessCalendar,
    first_response_at: datetime | None,
    last_agent_update_at: datetime | None,
    last_reminder_at: datetime | None = None,
    customer_due_floor: datetime | None = None,
) -> Clocks:
    """The ticket's deadlines now.

    ``last_reminder_at``: a cooperation lapse at the lowest severity only reminds the
    customer (POL-SEV-7 default); the next window counts from that reminder.
    ``customer_due_floor``: the latest cooperation deadline the customer was given during
    the current wait; the deadline is never earlier than it."""
    if not history:
        raise ValueError("a ticket has at least its opening in its history")
    current = history[-1]
    if current.phase == Phase.STOPPED:
        return Clocks(None, None)
    if current.phase == Phase.CUSTOMER:
        since = current.at
        if last_reminder_at is not None and last_reminder_at > since:
            since = last_reminder_at
        due = calendar.add(since, target.cooperation_window)
        if customer_due_floor is not None and customer_due_floor > due:
            due = customer_due_floor
        return Clocks(None, due)
    if first_response_at is None:
        kind, since, goal = "first_response", history[0].at, target.first_response
    elif target.update_cadence is not None:
        kind, goal = "update", target.update_cadence
        since = last_agent_update_at or first_response_at
    else:
        return Clocks(None, None)
    stretches = spans(history)
    return Clocks(
        response_due_at=_due(stretches, since, goal, calendar),
        customer_due_at=None,
        response_kind=kind,
        response_from=since,
        warning_at=_due(stretches, since, goal * target.warning_share, calendar),
        second_escalation_at=_due(
            stretches, since, goal * target.second_escalation_factor, calendar
        ),
    )


# --- The SLA ledger ----------------------------------------------------------------------

RUNNING = "running"
PAUSED = "paused"
OUT_OF_HOURS = "out_of_hours"
HOLIDAY_SEGMENT = "holiday"
MET = "met"
STOPPED_SEGMENT = "stopped"


@dataclass(frozen=True, slots=True)
class Segment:
    start: datetime
    end: datetime
    kind: str  # running | paused | out_of_hours | holiday | met | stopped
    label: str  # the caller's name of the phase (a ticket's status)

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


def ledger(
    *,
    history: Sequence[PhaseChange],
    calendar: BusinessCalendar,
    clock_from: datetime,
    until: datetime,
) -> list[Segment]:
    """The response clock between ``clock_from`` and ``until`` as labelled segments.

    Waiting on support splits into running (working hours), out of hours and holiday;
    waiting on the customer is paused; resolved or closed is stopped. Adjacent segments
    of the same kind are merged, so the list is what a person reads along a bar."""
    segments: list[Segment] = []

    def push(start: datetime, end: datetime, kind: str, label: str) -> None:
        if end <= start:
            return
        if segments and segments[-1].kind == kind and segments[-1].end == start:
            segments[-1] = Segment(segments[-1].start, end, kind, label)
        else:
            segments.append(Segment(start, end, kind, label))

    for span in spans(history):
        begin = max(span.start, clock_from)
        end = min(span.end or until, until)
        if end <= begin:
            continue
        if span.phase == Phase.CUSTOMER:
            push(begin, end, PAUSED, span.label)
            continue
        if span.phase == Phase.STOPPED:
            push(begin, end, STOPPED_SEGMENT, span.label)
            continue
        cursor = begin
        for open_start, open_end in calendar.intervals(begin, end):
            for piece_start, piece_end, kind in _closed_pieces(calendar, cursor, open_start):
                push(piece_start, piece_end, kind, span.label)
            push(open_start, open_end, RUNNING, span.label)
            cursor = open_end
        for piece_start, piece_end, kind in _closed_pieces(calendar, cursor, end):
            push(piece_start, piece_end, kind, span.label)
    return segments


def _closed_pieces(
    calendar: BusinessCalendar, start: datetime, end: datetime
) -> list[tuple[datetime, datetime, str]]:
    """Split a closed stretch at local midnights: a holiday date is "holiday", the rest
    "out of hours" (a stretch from Thursday 24:00 over a Friday holiday to Saturday
    09:00 is a holiday, then out of hours)."""
    pieces: list[tuple[datetime, datetime, str]] = []
    cursor = start
    zone = calendar.tz
    while cursor < end:
        local = cursor.astimezone(zone)
        next_midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)
        piece_end = min(end, next_midnight.astimezone(cursor.tzinfo))
        kind = HOLIDAY_SEGMENT if local.date() in calendar.holidays else OUT_OF_HOURS
        pieces.append((cursor, piece_end, kind))
        cursor = piece_end
    return pieces

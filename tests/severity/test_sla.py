"""Pure tests of the SLA clocks in closed form (severity.sla): phases in, deadlines and the
ledger out (POL-SLA-1, POL-SLA-3, POL-SEV-7). No database, no Django.

The ticket-bound side (statuses mapped onto phases, stored deadlines) is tested through
the tickets in ``tests/tickets/test_clocks.py``; here the phases are written by hand.
Expected values are computed in the comments; 2026-06-10 is a Wednesday.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from severity.calendars import BusinessCalendar, Window
from severity.sla import (
    HOLIDAY_SEGMENT,
    OUT_OF_HOURS,
    PAUSED,
    RUNNING,
    STOPPED_SEGMENT,
    Clocks,
    Phase,
    PhaseChange,
    Segment,
    Target,
    compute_clocks,
    ledger,
    spans,
)

pytestmark = pytest.mark.pure

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)

# Severity A (POL-SLA-1): an hour to the first response, then hourly updates.
A = Target(first_response=HOUR, update_cadence=HOUR, cooperation_window=4 * HOUR)
# Severity B: no update cadence after the first response.
B = Target(first_response=24 * HOUR, update_cadence=None, cooperation_window=48 * HOUR)

ALWAYS = BusinessCalendar.always_open()
# POL-SLA-3: B and C, 09:00-24:00 Beijing time every day.
BEIJING = BusinessCalendar(SHANGHAI, [Window(day, dt.time(9), None) for day in range(7)])


def utc(*fields: int) -> dt.datetime:
    return dt.datetime(*fields, tzinfo=dt.UTC)


def beijing(*fields: int) -> dt.datetime:
    return dt.datetime(*fields, tzinfo=SHANGHAI)


def support(at: dt.datetime, label: str = "open") -> PhaseChange:
    return PhaseChange(at, Phase.SUPPORT, label)


def customer(at: dt.datetime, label: str = "waiting") -> PhaseChange:
    return PhaseChange(at, Phase.CUSTOMER, label)


def stopped(at: dt.datetime, label: str = "resolved") -> PhaseChange:
    return PhaseChange(at, Phase.STOPPED, label)


def clocks(
    history: list[PhaseChange],
    *,
    target: Target = A,
    calendar: BusinessCalendar = ALWAYS,
    first_response_at: dt.datetime | None = None,
    last_agent_update_at: dt.datetime | None = None,
    last_reminder_at: dt.datetime | None = None,
) -> Clocks:
    return compute_clocks(
        history=history,
        target=target,
        calendar=calendar,
        first_response_at=first_response_at,
        last_agent_update_at=last_agent_update_at,
        last_reminder_at=last_reminder_at,
    )


# --- Spans -----------------------------------------------------------------------------------


def test_spans_follow_each_other_and_the_last_is_open_ended() -> None:
    t = utc(2026, 6, 10, 10)
    history = [support(t, "new"), customer(t + HOUR), stopped(t + 2 * HOUR)]
    assert [(s.start, s.end, s.phase, s.label) for s in spans(history)] == [
        (t, t + HOUR, Phase.SUPPORT, "new"),
        (t + HOUR, t + 2 * HOUR, Phase.CUSTOMER, "waiting"),
        (t + 2 * HOUR, None, Phase.STOPPED, "resolved"),
    ]


def test_a_history_out_of_time_order_is_refused() -> None:
    t = utc(2026, 6, 10, 10)
    with pytest.raises(ValueError, match="time order"):
        spans([support(t), customer(t - MINUTE)])


def test_a_case_has_at_least_its_opening() -> None:
    with pytest.raises(ValueError, match="opening"):
        clocks([])


# --- The response clock ----------------------------------------------------------------------


def test_first_response_warning_deadline_and_second_escalation() -> None:
    # Always open, an hour's target: warning at 75 % (45 min), deadline at 1 h, the second
    # escalation at twice the target.
    opened = utc(2026, 6, 10, 10)
    result = clocks([support(opened)])
    assert result == Clocks(
        response_due_at=utc(2026, 6, 10, 11),
        customer_due_at=None,
        response_kind="first_response",
        response_from=opened,
        warning_at=utc(2026, 6, 10, 10, 45),
        second_escalation_at=utc(2026, 6, 10, 12),
    )


def test_the_response_clock_runs_only_in_working_hours() -> None:
    # Opened 08:00 Beijing, before the 09:00 opening: of 24 working hours, 15 run on the
    # 10th (09:00-24:00) and the other 9 on the 11th (09:00-18:00).
    result = clocks([support(beijing(2026, 6, 10, 8))], target=B, calendar=BEIJING)
    assert result.response_due_at == beijing(2026, 6, 11, 18)
    # 75 % is 18 h: 15 h on the 10th, then 3 h on the 11th.
    assert result.warning_at == beijing(2026, 6, 11, 12)


def test_waiting_on_the_customer_pauses_the_response_clock() -> None:
    # 20 minutes run, 40 minutes paused, then the remaining 40 minutes run from 11:00.
    opened = utc(2026, 6, 10, 10)
    history = [support(opened), customer(opened + 20 * MINUTE), support(opened + HOUR)]
    result = clocks(history)
    assert result.response_due_at == utc(2026, 6, 10, 11, 40)
    # The warning (45 min of work) is 25 minutes into the second stretch.
    assert result.warning_at == utc(2026, 6, 10, 11, 25)
    assert result.response_from == opened


def test_after_the_first_response_the_update_cadence_counts_from_the_last_update() -> None:
    opened = utc(2026, 6, 10, 10)
    answered = opened + 30 * MINUTE
    updated = opened + 90 * MINUTE
    history = [support(opened)]
    result = clocks(history, first_response_at=answered, last_agent_update_at=updated)
    assert (result.response_kind, result.response_from) == ("update", updated)
    assert result.response_due_at == updated + HOUR
    # Without a later update, the cadence counts from the first response.
    assert clocks(history, first_response_at=answered).response_due_at == answered + HOUR


def test_without_an_update_cadence_the_first_response_ends_the_response_clock() -> None:
    opened = utc(2026, 6, 10, 10)
    result = clocks([support(opened)], target=B, first_response_at=opened + HOUR)
    assert result == Clocks(None, None)


# --- The customer clock and the stop ---------------------------------------------------------


def test_waiting_on_the_customer_runs_the_cooperation_window() -> None:
    # POL-SEV-7: the customer's window counts from when the case started waiting on them.
    opened = utc(2026, 6, 10, 10)
    asked = opened + HOUR
    result = clocks([support(opened), customer(asked)])
    assert result == Clocks(response_due_at=None, customer_due_at=asked + 4 * HOUR)


def test_a_reminder_restarts_the_cooperation_window_but_an_older_one_does_not() -> None:
    opened = utc(2026, 6, 10, 10)
    asked = opened + HOUR
    history = [support(opened), customer(asked)]
    reminded = asked + 4 * HOUR
    assert clocks(history, last_reminder_at=reminded).customer_due_at == reminded + 4 * HOUR
    before = asked - MINUTE  # a reminder from an earlier wait
    assert clocks(history, last_reminder_at=before).customer_due_at == asked + 4 * HOUR


def test_the_cooperation_window_follows_the_calendar() -> None:
    # Asked at 23:00 Beijing: one working hour that day, 47 more from 09:00 on the 11th:
    # 15 h on the 11th, 15 h on the 12th, 15 h on the 13th, 2 h on the 14th -> 11:00.
    result = clocks(
        [support(beijing(2026, 6, 10, 20)), customer(beijing(2026, 6, 10, 23))],
        target=B,
        calendar=BEIJING,
    )
    assert result.customer_due_at == beijing(2026, 6, 14, 11)


def test_a_stopped_case_runs_no_clock() -> None:
    opened = utc(2026, 6, 10, 10)
    assert clocks([support(opened), stopped(opened + HOUR)]) == Clocks(None, None)


@given(
    gaps=st.lists(st.integers(min_value=1, max_value=36 * 60), min_size=1, max_size=8),
    start_minute=st.integers(min_value=0, max_value=7 * 24 * 60),
)
def test_the_deadline_is_exactly_the_target_of_working_time_waiting_on_support(
    gaps: list[int], start_minute: int
) -> None:
    """Alternate support and customer phases (``gaps`` in minutes, ending on support):
    the working time spent waiting on support from the opening to the deadline is the
    target, and the warning and second escalation bracket the deadline."""
    opened = beijing(2026, 6, 8) + start_minute * MINUTE
    history, at = [support(opened)], opened
    for index, gap in enumerate(gaps):
        at += gap * MINUTE
        history.append(customer(at) if index % 2 == 0 else support(at))
    if history[-1].phase != Phase.SUPPORT:
        history.append(support(at + MINUTE))
    result = clocks(history, target=B, calendar=BEIJING)
    due = result.response_due_at
    assert due is not None and result.warning_at is not None
    assert result.second_escalation_at is not None
    assert result.warning_at <= due <= result.second_escalation_at
    worked = dt.timedelta(0)
    for span in spans(history):
        if span.phase == Phase.SUPPORT and span.start < due:
            worked += BEIJING.between(span.start, min(span.end or due, due))
    assert worked == B.first_response


# --- The ledger ------------------------------------------------------------------------------


def test_the_ledger_labels_running_paused_and_stopped_with_the_callers_names() -> None:
    t = utc(2026, 6, 10, 10)
    history = [
        support(t, "new"),
        customer(t + 20 * MINUTE, "waiting"),
        support(t + HOUR, "open"),
        stopped(t + 90 * MINUTE, "resolved"),
    ]
    assert ledger(history=history, calendar=ALWAYS, clock_from=t, until=t + 2 * HOUR) == [
        Segment(t, t + 20 * MINUTE, RUNNING, "new"),
        Segment(t + 20 * MINUTE, t + HOUR, PAUSED, "waiting"),
        Segment(t + HOUR, t + 90 * MINUTE, RUNNING, "open"),
        Segment(t + 90 * MINUTE, t + 2 * HOUR, STOPPED_SEGMENT, "resolved"),
    ]


def test_the_ledger_merges_touching_segments_of_one_kind_and_cuts_at_its_bounds() -> None:
    t = utc(2026, 6, 10, 10)
    # "new" then "open" are both waiting on support: one running stretch, as a person
    # reads the bar, under the later name.
    history = [support(t, "new"), support(t + 30 * MINUTE, "open")]
    segments = ledger(history=history, calendar=ALWAYS, clock_from=t + 10 * MINUTE, until=t + HOUR)
    assert segments == [Segment(t + 10 * MINUTE, t + HOUR, RUNNING, "open")]
    assert segments[0].duration == 50 * MINUTE
    assert ledger(history=history, calendar=ALWAYS, clock_from=t + HOUR, until=t + HOUR) == []


def test_the_ledger_splits_closed_time_into_holiday_and_out_of_hours() -> None:
    # Thursday 2026-06-11 23:00 Beijing to Saturday 10:00, Friday a holiday: an hour
    # running, Friday's whole day a holiday, Saturday 00:00-09:00 out of hours, then an
    # hour running.
    calendar = BusinessCalendar(
        SHANGHAI,
        [Window(day, dt.time(9), None) for day in range(7)],
        holidays=[dt.date(2026, 6, 12)],
    )
    opened = beijing(2026, 6, 11, 23)
    segments = ledger(
        history=[support(opened)],
        calendar=calendar,
        clock_from=opened,
        until=beijing(2026, 6, 13, 10),
    )
    assert [(s.start, s.end, s.kind) for s in segments] == [
        (opened, beijing(2026, 6, 12), RUNNING),
        (beijing(2026, 6, 12), beijing(2026, 6, 13), HOLIDAY_SEGMENT),
        (beijing(2026, 6, 13), beijing(2026, 6, 13, 9), OUT_OF_HOURS),
        (beijing(2026, 6, 13, 9), beijing(2026, 6, 13, 10), RUNNING),
    ]

"""Pure tests of the business-hours calendars (POL-SLA-1, POL-SLA-3, POL-SLA-4).

No database, no Django: run with ``pytest tests/severity/test_calendars.py -p no:django``.
Expected values are computed by hand in the comments; 2026-03-06 is a Friday.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from severity.calendars import (
    BAD_WEEKDAY,
    EMPTY_WINDOW,
    HOLIDAY,
    NAIVE_DATETIME,
    NEGATIVE_WORK,
    NEVER_OPENS,
    NO_OPEN_TIME_FOUND,
    OPEN,
    OUT_OF_HOURS,
    OVERLAPPING_WINDOWS,
    BusinessCalendar,
    Window,
)

pytestmark = pytest.mark.pure

UTC = dt.UTC
SHANGHAI = ZoneInfo("Asia/Shanghai")
WARSAW = ZoneInfo("Europe/Warsaw")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
KOLKATA = ZoneInfo("Asia/Kolkata")
ZONES = [ZoneInfo("UTC"), SHANGHAI, WARSAW, NEW_YORK, LORD_HOWE, KOLKATA]

MINUTE = dt.timedelta(minutes=1)
MICROSECOND = dt.timedelta(microseconds=1)
FAR_HOLIDAY = dt.date(2040, 1, 2)  # makes a calendar not "always open" without mattering


def hours(n: float) -> dt.timedelta:
    return dt.timedelta(hours=n)


def local(tz: ZoneInfo, *fields: int) -> dt.datetime:
    """An aware local time (fold=0: the first occurrence of an ambiguous time)."""
    return dt.datetime(*fields, tzinfo=tz)


def utc(*fields: int) -> dt.datetime:
    return dt.datetime(*fields, tzinfo=UTC)


def every_day(start: dt.time, end: dt.time | None, days: range = range(7)) -> list[Window]:
    return [Window(day, start, end) for day in days]


# -- the POLICY calendars -----------------------------------------------------------------


def calendar_24x7() -> BusinessCalendar:
    return BusinessCalendar.always_open()  # POL-SLA-3: A is 24x7, continuous


def calendar_bc_technical() -> BusinessCalendar:
    # POL-SLA-3: B and C, 09:00-24:00 Beijing time every day.
    return BusinessCalendar(SHANGHAI, every_day(dt.time(9), None), name="B/C technical")


def calendar_billing(
    holidays: tuple[dt.date, ...] = (), extra_working_days: tuple[dt.date, ...] = ()
) -> BusinessCalendar:
    # POL-SLA-4 / POL-PHONE-2: Monday to Friday 09:00-17:00 in China.
    return BusinessCalendar(
        SHANGHAI,
        every_day(dt.time(9), dt.time(17), range(5)),
        holidays=holidays,
        extra_working_days=extra_working_days,
        name="Billing",
    )


def calendar_presales(tz: ZoneInfo) -> BusinessCalendar:
    # POL-SLA-4: local business hours, Monday to Friday.
    return BusinessCalendar(tz, every_day(dt.time(9), dt.time(17), range(5)), name="Pre-sales")


def calendar_local_24x7(tz: ZoneInfo, *, fast_path: bool) -> BusinessCalendar:
    """00:00-24:00 every day in ``tz``; a far-away holiday forces the per-day code path."""
    holidays = () if fast_path else (FAR_HOLIDAY,)
    return BusinessCalendar(tz, every_day(dt.time(0), None), holidays=holidays)


class TestPolicyCalendars:
    def test_24x7_is_real_time(self) -> None:
        cal = calendar_24x7()
        assert cal.name == "24x7"
        assert cal.tz == ZoneInfo("UTC")
        start = local(SHANGHAI, 2026, 3, 6, 23, 17, 5)
        assert cal.add(start, hours(1)) == utc(2026, 3, 6, 16, 17, 5)
        assert cal.between(start, start + hours(1)) == hours(1)
        assert cal.is_open(start)
        assert cal.next_open(start) == start

    def test_b_ticket_at_16_30_beijing_is_due_16_30_next_day(self) -> None:
        # 16:30-24:00 = 7.5h, then 09:00-16:30 = 7.5h: one business day of 15 hours.
        start = local(SHANGHAI, 2026, 3, 4, 16, 30)
        due = calendar_bc_technical().add(start, hours(15))
        assert due == local(SHANGHAI, 2026, 3, 5, 16, 30)
        assert due == utc(2026, 3, 5, 8, 30)
        assert due.tzinfo is UTC

    def test_c_ticket_friday_23_00_plus_45_hours(self) -> None:
        # Fri 23:00-24:00 = 1h, Sat 15h (16), Sun 15h (31), Mon 09:00 + 14h = 23:00 (45).
        cal = calendar_bc_technical()
        start = local(SHANGHAI, 2026, 3, 6, 23)
        due = cal.add(start, hours(45))
        assert due == local(SHANGHAI, 2026, 3, 9, 23)
        assert cal.between(start, due) == hours(45)

    def test_billing_friday_16_00_plus_one_business_day(self) -> None:
        # Fri 16:00-17:00 = 1h, weekend closed, Mon 09:00 + 7h = 16:00.
        cal = calendar_billing()
        start = local(SHANGHAI, 2026, 3, 6, 16)
        due = cal.add(start, hours(8))
        assert due == local(SHANGHAI, 2026, 3, 9, 16)
        assert cal.between(start, due) == hours(8)

    @pytest.mark.parametrize(
        ("make_calendar", "start", "due"),
        [
            # Wednesday 03:00 Beijing: counting starts at 09:00.
            (calendar_bc_technical, (2026, 3, 4, 3), (2026, 3, 4, 10)),
            (calendar_billing, (2026, 3, 4, 3), (2026, 3, 4, 10)),
            # Saturday 03:00: billing waits for Monday 09:00.
            (calendar_billing, (2026, 3, 7, 3), (2026, 3, 9, 10)),
        ],
    )
    def test_opening_outside_hours_starts_counting_at_the_next_opening(
        self, make_calendar, start: tuple[int, ...], due: tuple[int, ...]
    ) -> None:
        cal = make_calendar()
        opened = local(SHANGHAI, *start)
        assert cal.add(opened, hours(1)) == local(SHANGHAI, *due)
        assert cal.between(opened, local(SHANGHAI, *start[:3], 9)) == dt.timedelta(0)

    def test_long_horizon_skips_whole_weeks(self) -> None:
        # 400h of billing = 50 days of 8h = 10 weeks: Mon 09:00 → Fri 17:00 of week 10.
        cal = calendar_billing()
        start = local(SHANGHAI, 2026, 1, 5, 9)
        due = cal.add(start, hours(400))
        assert due == local(SHANGHAI, 2026, 3, 13, 17)
        assert cal.between(start, due) == hours(400)
        # A holiday in week 3 pushes the end by one business day (into week 11).
        with_holiday = calendar_billing(holidays=(dt.date(2026, 1, 21),))
        assert with_holiday.add(start, hours(400)) == local(SHANGHAI, 2026, 3, 16, 17)


class TestDaylightSaving:
    def test_presales_warsaw_across_spring_forward(self) -> None:
        # Fri 15:00-17:00 = 2h, Mon 09:00 + 6h = 15:00 CEST = 13:00 UTC (not 14:00).
        cal = calendar_presales(WARSAW)
        start = local(WARSAW, 2026, 3, 27, 15)
        due = cal.add(start, hours(8))
        assert due == utc(2026, 3, 30, 13)
        assert due == local(WARSAW, 2026, 3, 30, 15)
        assert cal.between(start, due) == hours(8)

    def test_presales_warsaw_across_fall_back(self) -> None:
        # Fri 15:00 CEST = 13:00 UTC; Mon 15:00 CET = 14:00 UTC.
        cal = calendar_presales(WARSAW)
        start = local(WARSAW, 2026, 10, 23, 15)
        due = cal.add(start, hours(8))
        assert due == utc(2026, 10, 26, 14)
        assert cal.between(start, due) == hours(8)

    @pytest.mark.parametrize(
        ("start", "due"),
        [
            # 2026-03-08 (Sun) clocks go forward: Fri 15:00 EST = 20:00 UTC,
            # Mon 15:00 EDT = 19:00 UTC.
            (utc(2026, 3, 6, 20), utc(2026, 3, 9, 19)),
            # 2026-11-01 (Sun) clocks go back: Fri 15:00 EDT = 19:00 UTC,
            # Mon 15:00 EST = 20:00 UTC.
            (utc(2026, 10, 30, 19), utc(2026, 11, 2, 20)),
        ],
    )
    def test_presales_new_york_across_transitions(
        self, start: dt.datetime, due: dt.datetime
    ) -> None:
        cal = calendar_presales(NEW_YORK)
        assert cal.add(start, hours(8)) == due
        assert cal.between(start, due) == hours(8)

    @pytest.mark.parametrize("fast_path", [True, False])
    @pytest.mark.parametrize(
        ("tz", "day", "expected"),
        [
            (WARSAW, (2026, 3, 28), hours(23)),
            (WARSAW, (2026, 10, 24), hours(25)),
            (NEW_YORK, (2026, 3, 7), hours(23)),
            (NEW_YORK, (2026, 10, 31), hours(25)),
            # Lord Howe moves its clocks by 30 minutes.
            (LORD_HOWE, (2026, 4, 4), hours(24.5)),
            (LORD_HOWE, (2026, 10, 3), hours(23.5)),
        ],
    )
    def test_local_24x7_counts_real_time_across_the_transition_night(
        self, tz: ZoneInfo, day: tuple[int, int, int], expected: dt.timedelta, fast_path: bool
    ) -> None:
        cal = calendar_local_24x7(tz, fast_path=fast_path)
        sunday = dt.date(*day) + dt.timedelta(days=1)
        saturday_noon = local(tz, *day, 12)
        sunday_noon = local(tz, sunday.year, sunday.month, sunday.day, 12)
        assert cal.between(saturday_noon, sunday_noon) == expected
        assert cal.add(saturday_noon, expected) == sunday_noon
        assert cal.intervals(saturday_noon, sunday_noon) == [
            (saturday_noon.astimezone(UTC), sunday_noon.astimezone(UTC))
        ]

    def test_long_horizons_across_a_transition(self) -> None:
        # 400h of pre-sales = 10 weeks of 40h: Mon 2 Mar 09:00 CET → Fri 8 May 17:00 CEST.
        presales = calendar_presales(WARSAW)
        start = local(WARSAW, 2026, 3, 2, 9)
        assert presales.add(start, hours(400)) == local(WARSAW, 2026, 5, 8, 17)
        # 5 weeks of round-the-clock local time hold one 23-hour day: 840 real hours after
        # Mon 2 Mar 00:00 CET (1 Mar 23:00 UTC) is 5 Apr 23:00 UTC, 01:00 CEST on 6 Apr.
        cal = calendar_local_24x7(WARSAW, fast_path=False)
        start = local(WARSAW, 2026, 3, 2)
        assert cal.add(start, hours(840)) == utc(2026, 4, 5, 23)
        assert cal.between(start, local(WARSAW, 2026, 4, 6)) == hours(839)

    def test_window_containing_the_transition_is_shorter_or_longer(self) -> None:
        # Sunday 01:00-04:00 Warsaw: 2h on 2026-03-29 (02:00 → 03:00), 4h on 2026-10-25.
        cal = BusinessCalendar(WARSAW, [Window(6, dt.time(1), dt.time(4))])
        spring = cal.intervals(utc(2026, 3, 28), utc(2026, 3, 30))
        assert spring == [(utc(2026, 3, 29, 0), utc(2026, 3, 29, 2))]
        autumn = cal.intervals(utc(2026, 10, 24), utc(2026, 10, 26))
        assert autumn == [(utc(2026, 10, 24, 23), utc(2026, 10, 25, 3))]

    def test_window_opening_in_the_gap_opens_when_the_gap_ends(self) -> None:
        # 02:30 does not exist on 2026-03-29 in Warsaw; the window opens at 03:00 CEST
        # (01:00 UTC), the first instant the wall clock reads 02:30 or later.
        cal = BusinessCalendar(WARSAW, [Window(6, dt.time(2, 30), dt.time(4))])
        assert cal.intervals(utc(2026, 3, 28), utc(2026, 3, 30)) == [
            (utc(2026, 3, 29, 1), utc(2026, 3, 29, 2))
        ]
        assert cal.next_open(utc(2026, 3, 28)) == utc(2026, 3, 29, 1)
        # A window entirely inside the gap has no open time that day.
        in_gap = BusinessCalendar(WARSAW, [Window(6, dt.time(2, 15), dt.time(2, 45))])
        assert in_gap.between(utc(2026, 3, 28), utc(2026, 3, 30)) == dt.timedelta(0)
        assert in_gap.next_open(utc(2026, 3, 28)) == utc(2026, 4, 5, 0, 15)

    def test_ambiguous_boundaries_use_the_first_occurrence(self) -> None:
        # On 2026-10-25 Warsaw reads 02:00-03:00 twice (00:00-01:00 UTC in CEST, then
        # 01:00-02:00 UTC in CET). 02:30 is its first occurrence, 00:30 UTC.
        ends_in_fold = BusinessCalendar(WARSAW, [Window(6, dt.time(0), dt.time(2, 30))])
        assert ends_in_fold.intervals(utc(2026, 10, 24), utc(2026, 10, 26)) == [
            (utc(2026, 10, 24, 22), utc(2026, 10, 25, 0, 30))
        ]
        starts_in_fold = BusinessCalendar(WARSAW, [Window(6, dt.time(2, 30), dt.time(4))])
        assert starts_in_fold.intervals(utc(2026, 10, 24), utc(2026, 10, 26)) == [
            (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 3))
        ]


class TestHolidaysAndExtraDays:
    # Test data shaped like a Chinese May holiday: Fri 1 May and Mon-Tue 4-5 May off,
    # Saturday 9 May worked as a Monday.
    HOLIDAYS = (dt.date(2026, 5, 1), dt.date(2026, 5, 4), dt.date(2026, 5, 5))
    EXTRA = (dt.date(2026, 5, 9),)

    def make(self) -> BusinessCalendar:
        return calendar_billing(holidays=self.HOLIDAYS, extra_working_days=self.EXTRA)

    def test_holidays_are_skipped(self) -> None:
        # Thu 30 Apr 16:00-17:00 = 1h; Fri, weekend, Mon, Tue closed; Wed 6 May 09:00 + 7h.
        cal = self.make()
        start = local(SHANGHAI, 2026, 4, 30, 16)
        assert cal.add(start, hours(8)) == local(SHANGHAI, 2026, 5, 6, 16)
        assert cal.between(local(SHANGHAI, 2026, 5, 1), local(SHANGHAI, 2026, 5, 6)) == hours(0)

    def test_extra_working_day_uses_the_template_windows(self) -> None:
        # Fri 8 May 16:00-17:00 = 1h, Sat 9 May 09:00 + 7h = 16:00.
        cal = self.make()
        assert cal.add(local(SHANGHAI, 2026, 5, 8, 16), hours(8)) == local(SHANGHAI, 2026, 5, 9, 16)
        assert cal.is_open(local(SHANGHAI, 2026, 5, 9, 9))
        assert not cal.is_open(local(SHANGHAI, 2026, 5, 9, 17))
        assert not cal.is_open(local(SHANGHAI, 2026, 5, 16, 10))  # an ordinary Saturday

    def test_extra_day_template_is_configurable(self) -> None:
        windows = [Window(0, dt.time(9), dt.time(17)), Window(4, dt.time(9), dt.time(12))]
        saturday = dt.date(2026, 5, 9)
        cal = BusinessCalendar(
            SHANGHAI, windows, extra_working_days=[saturday], extra_day_template=4
        )
        assert cal.extra_day_template == 4
        assert cal.between(local(SHANGHAI, 2026, 5, 9), local(SHANGHAI, 2026, 5, 10)) == hours(3)

    def test_holiday_wins_over_extra_working_day(self) -> None:
        saturday = dt.date(2026, 5, 9)
        cal = calendar_billing(holidays=(saturday,), extra_working_days=(saturday,))
        assert cal.between(local(SHANGHAI, 2026, 5, 9), local(SHANGHAI, 2026, 5, 10)) == hours(0)
        assert cal.closed_reason(local(SHANGHAI, 2026, 5, 9, 10)) == HOLIDAY

    def test_closed_reason(self) -> None:
        cal = self.make()
        assert cal.closed_reason(local(SHANGHAI, 2026, 5, 4, 10)) == HOLIDAY
        assert cal.closed_reason(local(SHANGHAI, 2026, 5, 4, 3)) == HOLIDAY
        assert cal.closed_reason(local(SHANGHAI, 2026, 5, 6, 10)) == OPEN
        assert cal.closed_reason(local(SHANGHAI, 2026, 5, 6, 17)) == OUT_OF_HOURS
        assert cal.closed_reason(local(SHANGHAI, 2026, 5, 2, 10)) == OUT_OF_HOURS  # Saturday
        # The holiday is a local date: 17:00 UTC on 3 May is already 4 May in Beijing.
        assert cal.closed_reason(utc(2026, 5, 3, 17)) == HOLIDAY

    def test_every_day_a_holiday_for_ten_years_gives_up(self) -> None:
        mondays = [dt.date(2026, 1, 5) + dt.timedelta(weeks=k) for k in range(11 * 53)]
        cal = BusinessCalendar("UTC", [Window(0, dt.time(9), dt.time(17))], holidays=mondays)
        with pytest.raises(ValueError, match=re.escape(NO_OPEN_TIME_FOUND)):
            cal.add(utc(2026, 1, 1), hours(1))
        with pytest.raises(ValueError, match=re.escape(NO_OPEN_TIME_FOUND)):
            cal.next_open(utc(2026, 1, 1))
        assert not cal.is_open(utc(2026, 1, 5, 10))


class TestWindows:
    def lunch_break(self) -> BusinessCalendar:
        windows = [Window(0, dt.time(9), dt.time(12)), Window(0, dt.time(13), dt.time(17))]
        return BusinessCalendar(SHANGHAI, windows)

    def test_several_windows_per_day(self) -> None:
        cal = self.lunch_break()
        monday = (2026, 3, 9)
        assert cal.add(local(SHANGHAI, *monday, 11), hours(2)) == local(SHANGHAI, *monday, 14)
        assert cal.between(local(SHANGHAI, *monday, 11), local(SHANGHAI, *monday, 14)) == hours(2)
        assert cal.between(local(SHANGHAI, *monday), local(SHANGHAI, *monday, 23)) == hours(7)
        assert not cal.is_open(local(SHANGHAI, *monday, 12))
        assert cal.next_open(local(SHANGHAI, *monday, 12, 30)) == local(SHANGHAI, *monday, 13)
        assert cal.intervals(local(SHANGHAI, *monday, 10), local(SHANGHAI, *monday, 15)) == [
            (local(SHANGHAI, *monday, 10), local(SHANGHAI, *monday, 12)),
            (local(SHANGHAI, *monday, 13), local(SHANGHAI, *monday, 15)),
        ]

    def test_deadline_at_a_window_end_is_that_end(self) -> None:
        cal = self.lunch_break()
        monday = (2026, 3, 9)
        assert cal.add(local(SHANGHAI, *monday, 11), hours(1)) == local(SHANGHAI, *monday, 12)
        # Next Monday's 17:00, not the Monday after's 09:00.
        assert cal.add(local(SHANGHAI, *monday, 16), hours(8)) == local(SHANGHAI, 2026, 3, 16, 17)

    def test_windows_touching_at_midnight_are_continuous(self) -> None:
        windows = [Window(0, dt.time(20), None), Window(1, dt.time(0), dt.time(4))]
        cal = BusinessCalendar(WARSAW, windows)
        monday, tuesday = (2026, 3, 9), (2026, 3, 10)
        assert cal.add(local(WARSAW, *monday, 23), hours(2)) == local(WARSAW, *tuesday, 1)
        assert cal.add(local(WARSAW, *monday, 20), hours(4)) == local(WARSAW, *tuesday, 0)
        assert cal.is_open(local(WARSAW, *tuesday, 0))
        assert cal.intervals(local(WARSAW, *monday), local(WARSAW, 2026, 3, 11)) == [
            (local(WARSAW, *monday, 20), local(WARSAW, *tuesday, 4))
        ]

    def test_touching_windows_in_one_day_merge(self) -> None:
        windows = [Window(2, dt.time(9), dt.time(12)), Window(2, dt.time(12), dt.time(17))]
        cal = BusinessCalendar(SHANGHAI, windows)
        wednesday = (2026, 3, 11)
        assert cal.intervals(local(SHANGHAI, *wednesday), local(SHANGHAI, 2026, 3, 12)) == [
            (local(SHANGHAI, *wednesday, 9), local(SHANGHAI, *wednesday, 17))
        ]

    @pytest.mark.parametrize(
        "windows",
        [
            [Window(0, dt.time(9), dt.time(12)), Window(0, dt.time(11), dt.time(17))],
            [Window(3, dt.time(9), None), Window(3, dt.time(23), None)],
            [Window(3, dt.time(9), dt.time(12)), Window(3, dt.time(9), dt.time(12))],
        ],
    )
    def test_overlapping_windows_raise(self, windows: list[Window]) -> None:
        with pytest.raises(ValueError, match=re.escape(OVERLAPPING_WINDOWS)):
            BusinessCalendar("UTC", windows)

    @pytest.mark.parametrize(
        ("weekday", "start", "end", "message"),
        [
            (0, dt.time(9), dt.time(9), EMPTY_WINDOW),
            (0, dt.time(17), dt.time(9), EMPTY_WINDOW),
            (0, dt.time(9), dt.time(0), EMPTY_WINDOW),  # 24:00 is None, not time(0)
            (7, dt.time(9), None, BAD_WEEKDAY),
            (-1, dt.time(9), None, BAD_WEEKDAY),
            (True, dt.time(9), None, BAD_WEEKDAY),
        ],
    )
    def test_bad_windows_raise(
        self, weekday: int, start: dt.time, end: dt.time | None, message: str
    ) -> None:
        with pytest.raises(ValueError, match=re.escape(message)):
            Window(weekday, start, end)

    def test_bad_template_raises(self) -> None:
        with pytest.raises(ValueError, match=re.escape(BAD_WEEKDAY)):
            BusinessCalendar("UTC", [], extra_day_template=7)


class TestBoundaries:
    MONDAY = (2026, 3, 9)
    TUESDAY = (2026, 3, 10)

    def test_start_inclusive_end_exclusive(self) -> None:
        cal = calendar_billing()
        nine = local(SHANGHAI, *self.MONDAY, 9)
        five = local(SHANGHAI, *self.MONDAY, 17)
        assert cal.is_open(nine)
        assert not cal.is_open(nine - MICROSECOND)
        assert cal.is_open(five - MICROSECOND)
        assert not cal.is_open(five)
        assert cal.closed_reason(five) == OUT_OF_HOURS
        assert cal.closed_reason(nine) == OPEN

    def test_next_open(self) -> None:
        cal = calendar_billing()
        nine = local(SHANGHAI, *self.MONDAY, 9)
        assert cal.next_open(nine) == nine
        assert cal.next_open(nine - MICROSECOND) == nine
        assert cal.next_open(local(SHANGHAI, *self.MONDAY, 17)) == local(SHANGHAI, *self.TUESDAY, 9)
        # Friday evening: Monday.
        assert cal.next_open(local(SHANGHAI, 2026, 3, 6, 17)) == nine
        assert cal.next_open(nine).tzinfo is UTC

    def test_zero_work_is_next_open(self) -> None:
        cal = calendar_billing()
        ten = local(SHANGHAI, *self.MONDAY, 10)
        assert cal.add(ten, dt.timedelta(0)) == ten
        assert cal.add(local(SHANGHAI, *self.MONDAY, 17), dt.timedelta(0)) == local(
            SHANGHAI, *self.TUESDAY, 9
        )

    def test_sub_second_precision(self) -> None:
        cal = calendar_billing()
        start = local(SHANGHAI, *self.MONDAY, 16, 59, 59, 999_999)
        assert cal.add(start, 2 * MICROSECOND) == local(SHANGHAI, *self.TUESDAY, 9, 0, 0, 1)
        assert cal.between(start, local(SHANGHAI, *self.TUESDAY, 9, 0, 0, 1)) == 2 * MICROSECOND

    def test_input_zone_does_not_matter(self) -> None:
        cal = calendar_billing()
        in_shanghai = local(SHANGHAI, 2026, 3, 6, 16)
        for zone in ZONES:
            assert cal.add(in_shanghai.astimezone(zone), hours(8)) == local(
                SHANGHAI, 2026, 3, 9, 16
            )

    def test_between_is_zero_when_b_not_after_a(self) -> None:
        cal = calendar_bc_technical()
        a = local(SHANGHAI, *self.MONDAY, 10)
        assert cal.between(a, a) == dt.timedelta(0)
        assert cal.between(a, a - hours(5)) == dt.timedelta(0)
        assert cal.intervals(a, a) == []

    @pytest.mark.parametrize(
        "call",
        [
            lambda cal, naive: cal.add(naive, hours(1)),
            lambda cal, naive: cal.between(naive, utc(2026, 3, 10)),
            lambda cal, naive: cal.between(utc(2026, 3, 8), naive),
            lambda cal, naive: cal.is_open(naive),
            lambda cal, naive: cal.next_open(naive),
            lambda cal, naive: cal.intervals(naive, utc(2026, 3, 10)),
            lambda cal, naive: cal.closed_reason(naive),
        ],
    )
    @pytest.mark.parametrize("make_calendar", [calendar_24x7, calendar_billing])
    def test_naive_datetimes_raise(self, call, make_calendar) -> None:
        naive = dt.datetime(2026, 3, 9, 10)
        with pytest.raises(ValueError, match=re.escape(NAIVE_DATETIME)):
            call(make_calendar(), naive)

    def test_negative_work_raises(self) -> None:
        for cal in (calendar_24x7(), calendar_billing()):
            with pytest.raises(ValueError, match=re.escape(NEGATIVE_WORK)):
                cal.add(utc(2026, 3, 9), -MICROSECOND)

    def test_calendar_without_windows(self) -> None:
        cal = BusinessCalendar("UTC", [])
        with pytest.raises(ValueError, match=re.escape(NEVER_OPENS)):
            cal.add(utc(2026, 3, 9), hours(1))
        with pytest.raises(ValueError, match=re.escape(NEVER_OPENS)):
            cal.next_open(utc(2026, 3, 9))
        assert not cal.is_open(utc(2026, 3, 9))
        assert cal.between(utc(2026, 3, 9), utc(2026, 4, 9)) == dt.timedelta(0)
        assert cal.intervals(utc(2026, 3, 9), utc(2026, 4, 9)) == []
        assert cal.closed_reason(utc(2026, 3, 9)) == OUT_OF_HOURS


class TestIntervals:
    def test_clipped_to_the_range(self) -> None:
        # Fri 10:00 → Tue 10:00 on billing: Fri 10-17, Mon 9-17, Tue 9-10.
        cal = calendar_billing()
        got = cal.intervals(local(SHANGHAI, 2026, 3, 6, 10), local(SHANGHAI, 2026, 3, 10, 10))
        assert got == [
            (local(SHANGHAI, 2026, 3, 6, 10), local(SHANGHAI, 2026, 3, 6, 17)),
            (local(SHANGHAI, 2026, 3, 9, 9), local(SHANGHAI, 2026, 3, 9, 17)),
            (local(SHANGHAI, 2026, 3, 10, 9), local(SHANGHAI, 2026, 3, 10, 10)),
        ]
        assert all(start.tzinfo is UTC and end.tzinfo is UTC for start, end in got)

    def test_range_inside_closed_time_is_empty(self) -> None:
        cal = calendar_billing()
        assert cal.intervals(local(SHANGHAI, 2026, 3, 7), local(SHANGHAI, 2026, 3, 9)) == []

    def test_always_open(self) -> None:
        a, b = utc(2026, 3, 9, 1, 2, 3), utc(2026, 3, 12)
        assert calendar_24x7().intervals(a, b) == [(a, b)]


# -- properties -------------------------------------------------------------------------

PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
FIRST_DAY = dt.datetime(2024, 1, 1)
LAST_DAY = dt.datetime(2028, 12, 31)


@st.composite
def random_windows(draw: st.DrawFn) -> list[Window]:
    """Non-overlapping windows on 15-minute boundaries, at least one in the week.

    Boundaries crowd into 01:00-03:00, where the zones in ZONES change their clocks.
    """
    windows: list[Window] = []
    mark = st.one_of(st.integers(0, 96), st.integers(4, 12))
    for weekday in range(7):
        marks = sorted(draw(st.sets(mark, max_size=6)))
        if len(marks) % 2:
            marks = marks[:-1]
        for start, end in zip(marks[::2], marks[1::2], strict=True):
            end_time = None if end == 96 else dt.time(end // 4, end % 4 * 15)
            windows.append(Window(weekday, dt.time(start // 4, start % 4 * 15), end_time))
    if not windows:
        windows.append(Window(draw(st.integers(0, 6)), dt.time(9), dt.time(17)))
    return windows


@functools.cache
def clock_changes(tz: ZoneInfo) -> tuple[dt.datetime, ...]:
    """The instants in 2024-2028 when ``tz`` changes its offset (all on :00 or :30 UTC)."""
    changes = []
    step = dt.timedelta(minutes=30)
    instant = FIRST_DAY.replace(tzinfo=UTC)
    offset = instant.astimezone(tz).utcoffset()
    while instant < LAST_DAY.replace(tzinfo=UTC):
        instant += step
        if instant.astimezone(tz).utcoffset() != offset:
            offset = instant.astimezone(tz).utcoffset()
            changes.append(instant)
    return tuple(changes)


def instants(tz: ZoneInfo, *, minute_aligned: bool) -> st.SearchStrategy[dt.datetime]:
    """Instants over 2024-2028, half of them within two days before a clock change of
    ``tz``, where a uniform draw would hardly ever land."""
    unit = MINUTE if minute_aligned else MICROSECOND
    span = (LAST_DAY - FIRST_DAY) // unit
    uniform = st.integers(0, span).map(lambda k: FIRST_DAY.replace(tzinfo=UTC) + k * unit)
    if not clock_changes(tz):
        return uniform
    near_change = st.builds(
        lambda change, k: change - k * unit,
        st.sampled_from(clock_changes(tz)),
        st.integers(0, dt.timedelta(days=2) // unit),
    )
    return st.one_of(uniform, near_change)


@st.composite
def scenarios(
    draw: st.DrawFn, *, minute_aligned: bool = False
) -> tuple[BusinessCalendar, dt.datetime]:
    """A calendar and a start near which holidays and extra days fall, so they matter.

    Starts are UTC when ``minute_aligned`` (for the stepping reference), else an instant
    shown in a random zone, or a random local time that may not exist or be ambiguous.
    """
    kinds = ["24x7", "bc", "billing", "warsaw", "new_york", "random", "random", "random"]
    kind = draw(st.sampled_from(kinds))
    policy = {
        "24x7": calendar_24x7,
        "bc": calendar_bc_technical,
        "billing": calendar_billing,
        "warsaw": lambda: calendar_presales(WARSAW),
        "new_york": lambda: calendar_presales(NEW_YORK),
    }
    cal = policy[kind]() if kind in policy else None
    tz = cal.tz if cal is not None else draw(st.sampled_from(ZONES))
    start = draw(instants(tz, minute_aligned=minute_aligned))
    if not minute_aligned:
        start = draw(
            st.one_of(
                st.sampled_from(ZONES).map(start.astimezone),
                st.datetimes(FIRST_DAY, LAST_DAY, timezones=st.sampled_from(ZONES)),
            )
        )
    if cal is not None:
        return cal, start
    start_date = start.astimezone(tz).date()
    near = st.integers(-2, 12).map(lambda k: start_date + dt.timedelta(days=k))
    cal = BusinessCalendar(
        tz,
        draw(random_windows()),
        holidays=draw(st.lists(near, max_size=3)),
        extra_working_days=draw(st.lists(near, max_size=3)),
        extra_day_template=draw(st.integers(0, 6)),
    )
    return cal, start


works = st.integers(0, 60 * 3600).map(lambda s: dt.timedelta(seconds=s))
gaps = st.integers(0, 5 * 86_400 * 10**6).map(lambda us: dt.timedelta(microseconds=us))


@PROPERTY_SETTINGS
@given(scenarios(), works)
def test_between_undoes_add(scenario: tuple[BusinessCalendar, dt.datetime], work) -> None:
    cal, start = scenario
    due = cal.add(start, work)
    assert cal.between(start, due) == work
    assert due >= start


@PROPERTY_SETTINGS
@given(scenarios(), works)
def test_deadline_is_in_or_at_the_end_of_open_time(
    scenario: tuple[BusinessCalendar, dt.datetime], work
) -> None:
    cal, start = scenario
    due = cal.add(start, work)
    if work:
        assert cal.is_open(due - MICROSECOND)  # the last microsecond worked
    else:
        assert cal.is_open(due)
        assert due == cal.next_open(start)


@PROPERTY_SETTINGS
@given(scenarios(), gaps, works)
def test_add_is_monotonic_in_start(
    scenario: tuple[BusinessCalendar, dt.datetime], gap, work
) -> None:
    cal, start = scenario
    later = start.astimezone(UTC) + gap  # real time: wall-clock arithmetic is not monotonic
    assert cal.add(start, work) <= cal.add(later, work)


@PROPERTY_SETTINGS
@given(scenarios(), works, works)
def test_add_is_monotonic_in_work(
    scenario: tuple[BusinessCalendar, dt.datetime], work_1, work_2
) -> None:
    cal, start = scenario
    low, high = sorted([work_1, work_2])
    assert cal.add(start, low) <= cal.add(start, high)


@PROPERTY_SETTINGS
@given(scenarios(), gaps, gaps)
def test_between_is_additive_and_matches_intervals(
    scenario: tuple[BusinessCalendar, dt.datetime], gap_1, gap_2
) -> None:
    cal, a = scenario
    b = a.astimezone(UTC) + gap_1  # real time: wall-clock arithmetic is not monotonic
    c = b + gap_2
    assert cal.between(a, b) + cal.between(b, c) == cal.between(a, c)
    pieces = cal.intervals(a, c)
    assert sum((end - start for start, end in pieces), dt.timedelta(0)) == cal.between(a, c)
    for start, end in pieces:
        assert a <= start < end <= c
        assert cal.is_open(start)
        assert cal.is_open(end - MICROSECOND)
    for (_, end), (following, _) in itertools.pairwise(pieces):
        assert end < following  # maximal: touching intervals come out merged
        assert not cal.is_open(end)


@PROPERTY_SETTINGS
@given(scenarios())
def test_next_open(scenario: tuple[BusinessCalendar, dt.datetime]) -> None:
    cal, start = scenario
    opening = cal.next_open(start)
    assert opening >= start
    assert cal.is_open(opening)
    assert cal.between(start, opening) == dt.timedelta(0)
    # Compare in UTC: == between zones is False for an imaginary local time (PEP 495).
    assert (opening == start.astimezone(UTC)) == cal.is_open(start)
    reason = cal.closed_reason(start)
    if cal.is_open(start):
        assert reason == OPEN
    elif start.astimezone(cal.tz).date() in cal.holidays:
        assert reason == HOLIDAY
    else:
        assert reason == OUT_OF_HOURS


# -- cross-check against minute stepping -------------------------------------------------

REFERENCE_SPAN_MINUTES = 2 * 24 * 60
LOOK_BACK = dt.timedelta(hours=4)  # longer than any clock change, to seed the high-water


def reference_open_minutes(cal: BusinessCalendar, start: dt.datetime, minutes: int) -> list[bool]:
    """Whether each minute from ``start`` is open, by stepping the wall clock.

    The documented rule (a boundary L is the first instant the wall clock reads L or
    later) means an instant is open when the highest reading so far falls in a window of
    that reading's date. Only whole-minute windows, offsets and starts are supported.
    """
    spans: dict[int, list[tuple[int, int]]] = {day: [] for day in range(7)}
    for window in cal.windows:
        end = 24 * 60 if window.end is None else window.end.hour * 60 + window.end.minute
        spans[window.weekday].append((window.start.hour * 60 + window.start.minute, end))

    def wall_clock_open(reading: dt.datetime) -> bool:
        day = reading.date()
        if day in cal.holidays:
            return False
        weekday = cal.extra_day_template if day in cal.extra_working_days else day.weekday()
        minute = reading.hour * 60 + reading.minute
        return any(start <= minute < end for start, end in spans[weekday])

    flags: list[bool] = []
    high_water: dt.datetime | None = None
    step = start - LOOK_BACK
    while step < start + minutes * MINUTE:
        reading = step.astimezone(cal.tz).replace(tzinfo=None)
        if high_water is None or reading > high_water:
            high_water = reading
        if step >= start:
            flags.append(wall_clock_open(high_water))
        step += MINUTE
    return flags


def assert_matches_stepping(cal: BusinessCalendar, start: dt.datetime, data: st.DataObject) -> None:
    flags = reference_open_minutes(cal, start, REFERENCE_SPAN_MINUTES)
    end = start + REFERENCE_SPAN_MINUTES * MINUTE
    open_minutes = [i for i, is_open in enumerate(flags) if is_open]

    assert cal.between(start, end) == len(open_minutes) * MINUTE
    for i in data.draw(st.lists(st.integers(0, REFERENCE_SPAN_MINUTES - 1), max_size=20)):
        assert cal.is_open(start + i * MINUTE) == flags[i]
    if open_minutes:
        assert cal.add(start, dt.timedelta(0)) == start + open_minutes[0] * MINUTE
        for k in data.draw(st.lists(st.integers(1, len(open_minutes)), max_size=10)):
            # k minutes of work end when the k-th open minute ends.
            assert cal.add(start, k * MINUTE) == start + (open_minutes[k - 1] + 1) * MINUTE
    # The merged open intervals are exactly the runs of open minutes.
    runs: list[tuple[int, int]] = []
    for i in open_minutes:
        if runs and runs[-1][1] == i:
            runs[-1] = (runs[-1][0], i + 1)
        else:
            runs.append((i, i + 1))
    assert cal.intervals(start, end) == [
        (start + first * MINUTE, start + last * MINUTE) for first, last in runs
    ]


@st.composite
def clock_change_scenarios(draw: st.DrawFn) -> tuple[BusinessCalendar, dt.datetime]:
    """Random windows in a zone that changes its clocks, starting up to a day before a
    change: windows open, close or span the skipped or repeated hour."""
    tz = draw(st.sampled_from([WARSAW, NEW_YORK, LORD_HOWE]))
    change = draw(st.sampled_from(clock_changes(tz)))
    start = change - draw(st.integers(0, 24 * 60)) * MINUTE
    return BusinessCalendar(tz, draw(random_windows())), start


STEPPING_SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@STEPPING_SETTINGS
@given(scenarios(minute_aligned=True), st.data())
def test_closed_form_matches_minute_stepping(
    scenario: tuple[BusinessCalendar, dt.datetime], data: st.DataObject
) -> None:
    assert_matches_stepping(*scenario, data)


@STEPPING_SETTINGS
@given(clock_change_scenarios(), st.data())
def test_closed_form_matches_minute_stepping_across_clock_changes(
    scenario: tuple[BusinessCalendar, dt.datetime], data: st.DataObject
) -> None:
    assert_matches_stepping(*scenario, data)

"""Pure tests of the holiday sources: the ``holidays`` package and iCalendar files.

No database, no Django: run with
``pytest tests/severity/test_holiday_sources.py -p no:django``. The China dates are the
State Council's published schedules for 2025 and 2026.
"""

from __future__ import annotations

import datetime as dt

import pytest

from severity.holiday_sources import (
    MAX_ICS_BYTES,
    RRULE_HORIZON_YEARS,
    DayOff,
    ics_days,
    ics_read,
    public_days,
)

pytestmark = pytest.mark.pure

D = dt.date


def _by_date(days: list[DayOff]) -> dict[dt.date, DayOff]:
    return {d.date: d for d in days}


def _closed(days: list[DayOff]) -> set[dt.date]:
    return {d.date for d in days if not d.working}


def _worked(days: list[DayOff]) -> set[dt.date]:
    return {d.date for d in days if d.working}


# --- China ------------------------------------------------------------------------------


def test_china_2026_spring_festival_and_its_make_up_saturdays() -> None:
    days = public_days("CN", [2026])
    closed, worked = _closed(days), _worked(days)
    # Feb 15-23 off: Sunday 15 and the weekend 21-22 are closed anyway.
    assert {D(2026, 2, d) for d in (16, 17, 18, 19, 20, 23)} <= closed
    assert D(2026, 2, 14) in worked and D(2026, 2, 14).weekday() == 5
    assert D(2026, 2, 28) in worked and D(2026, 2, 28).weekday() == 5
    assert D(2026, 2, 24) not in closed
    assert _by_date(days)[D(2026, 2, 14)].name == "Make-up working day for 2026-02-20"


def test_china_2026_national_day() -> None:
    days = public_days("CN", [2026])
    closed, worked = _closed(days), _worked(days)
    weekdays_off = {d for d in (D(2026, 10, n) for n in range(1, 8)) if d.weekday() < 5}
    assert weekdays_off <= closed
    assert {D(2026, 9, 20), D(2026, 10, 10)} <= worked
    assert D(2026, 9, 20).weekday() == 6 and D(2026, 10, 10).weekday() == 5


def test_china_2025_make_up_days() -> None:
    days = public_days("CN", [2025])
    assert _worked(days) == {
        D(2025, 1, 26),
        D(2025, 2, 8),
        D(2025, 4, 27),
        D(2025, 9, 28),
        D(2025, 10, 11),
    }
    assert {D(2025, 1, 28), D(2025, 1, 29), D(2025, 2, 4), D(2025, 10, 8)} <= _closed(days)


def test_only_the_years_asked_for_sorted_and_one_row_per_date() -> None:
    days = public_days("CN", [2026, 2025, 2026])
    assert {d.date.year for d in days} == {2025, 2026}
    assert [d.date for d in days] == sorted({d.date for d in days})
    assert not _closed(days) & _worked(days)


def test_half_days_are_not_closures() -> None:
    # Women's Day is a half day for some employees only (the package's half_day category).
    assert D(2026, 3, 8) not in _closed(public_days("CN", [2026]))


def test_a_year_without_a_published_schedule_has_no_make_up_days() -> None:
    days = public_days("CN", [2099])
    assert _closed(days) and not _worked(days)


# --- Poland -----------------------------------------------------------------------------


def test_poland_holidays() -> None:
    days = public_days("PL", [2025, 2026])
    closed = _closed(days)
    assert {
        D(2025, 11, 11),  # Independence Day
        D(2025, 12, 24),  # Christmas Eve: a public holiday from 2025
        D(2025, 4, 21),  # Easter Monday
        D(2026, 4, 6),  # Easter Monday
        D(2026, 6, 4),  # Corpus Christi
        D(2026, 12, 26),
    } <= closed
    assert not _worked(days)
    assert D(2024, 12, 24) not in _closed(public_days("PL", [2024]))


def test_language_is_matched_by_prefix() -> None:
    english = _by_date(public_days("PL", [2026]))[D(2026, 11, 11)].name
    polish = _by_date(public_days("pl", [2026], language="pl"))[D(2026, 11, 11)].name
    assert english == "National Independence Day"
    assert polish == "Narodowe Święto Niepodległości"


# --- Refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize("country", ["XX", "", "China", "C"])
def test_unknown_country(country: str) -> None:
    with pytest.raises(ValueError, match="unknown country"):
        public_days(country, [2026])


def test_unknown_subdivision() -> None:
    with pytest.raises(ValueError, match=r"unknown subdivision 'ZZ' of CN: known subdivisions"):
        public_days("CN", [2026], subdivision="ZZ")


@pytest.mark.parametrize("years", [[1900], [3000], [2026.0]])
def test_years_out_of_range(years: list[int]) -> None:
    with pytest.raises(ValueError, match="whole years"):
        public_days("PL", years)


def test_no_years_no_days() -> None:
    assert public_days("PL", []) == []


# --- iCalendar --------------------------------------------------------------------------


def _ics(*events: str) -> bytes:
    body = "".join(f"BEGIN:VEVENT\r\n{e.strip()}\r\nEND:VEVENT\r\n" for e in events)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" + body + "END:VCALENDAR\r\n"
    ).encode()


def _event(*lines: str) -> str:
    return "\r\n".join(lines)


def test_single_all_day_event() -> None:
    data = _ics(_event("UID:1", "DTSTART;VALUE=DATE:20261111", "SUMMARY:Independence Day"))
    assert ics_days(data) == [DayOff(D(2026, 11, 11), "Independence Day")]


def test_working_flag_marks_extra_working_days() -> None:
    data = _ics(_event("DTSTART;VALUE=DATE:20260214", "SUMMARY:Make-up day"))
    assert ics_days(data, working=True) == [DayOff(D(2026, 2, 14), "Make-up day", True)]


def test_multi_day_event_ends_before_dtend() -> None:
    data = _ics(
        _event("DTSTART;VALUE=DATE:20261224", "DTEND;VALUE=DATE:20261227", "SUMMARY:Christmas")
    )
    assert [d.date for d in ics_days(data)] == [D(2026, 12, 24), D(2026, 12, 25), D(2026, 12, 26)]


def test_duration_in_days() -> None:
    data = _ics(_event("DTSTART;VALUE=DATE:20260501", "DURATION:P2D", "SUMMARY:May"))
    assert [d.date for d in ics_days(data)] == [D(2026, 5, 1), D(2026, 5, 2)]


def test_timed_events_are_skipped_with_a_reason() -> None:
    data = _ics(
        _event("DTSTART:20261224T100000Z", "DTEND:20261224T120000Z", "SUMMARY:Party"),
        _event("DTSTART;VALUE=DATE:20261225", "SUMMARY:Christmas"),
    )
    read = ics_read(data)
    assert [d.date for d in read.days] == [D(2026, 12, 25)]
    assert read.skipped == ["event 1 (Party): starts at a time of day, not an all-day event"]


def test_cancelled_and_overlong_events_are_skipped() -> None:
    data = _ics(
        _event("DTSTART;VALUE=DATE:20260101", "STATUS:CANCELLED", "SUMMARY:Gone"),
        _event("DTSTART;VALUE=DATE:20260101", "DTEND;VALUE=DATE:20260401", "SUMMARY:Term"),
    )
    read = ics_read(data)
    assert read.days == []
    assert read.skipped[0] == "event 1 (Gone): cancelled"
    assert read.skipped[1].startswith("event 2 (Term): covers 90 days")


def test_yearly_repetition_is_expanded_with_exdate_and_count() -> None:
    data = _ics(
        _event(
            "DTSTART;VALUE=DATE:20251111",
            "RRULE:FREQ=YEARLY;COUNT=3",
            "EXDATE;VALUE=DATE:20261111",
            "SUMMARY:Independence Day",
        )
    )
    assert [d.date for d in ics_days(data)] == [D(2025, 11, 11), D(2027, 11, 11)]


def test_endless_yearly_repetition_is_bounded() -> None:
    data = _ics(_event("DTSTART;VALUE=DATE:20260101", "RRULE:FREQ=YEARLY", "SUMMARY:NY"))
    years = [d.date.year for d in ics_days(data)]
    assert years == list(range(2026, 2026 + RRULE_HORIZON_YEARS))


def test_yearly_until_and_interval() -> None:
    data = _ics(
        _event("DTSTART;VALUE=DATE:20260101", "RRULE:FREQ=YEARLY;INTERVAL=2;UNTIL=20300101")
    )
    assert [d.date for d in ics_days(data)] == [D(2026, 1, 1), D(2028, 1, 1), D(2030, 1, 1)]


def test_other_repetitions_are_skipped() -> None:
    data = _ics(
        _event("DTSTART;VALUE=DATE:20260105", "RRULE:FREQ=WEEKLY", "SUMMARY:Mondays"),
        _event("DTSTART;VALUE=DATE:20260525", "RRULE:FREQ=YEARLY;BYMONTH=5;BYDAY=-1MO"),
    )
    read = ics_read(data)
    assert read.days == []
    assert "only yearly repetition" in read.skipped[0]
    assert "not supported" in read.skipped[1]


def test_duplicate_dates_keep_the_first_event() -> None:
    data = _ics(
        _event("DTSTART;VALUE=DATE:20261225", "SUMMARY:Christmas"),
        _event("DTSTART;VALUE=DATE:20261224", "DTEND;VALUE=DATE:20261226", "SUMMARY:Break"),
    )
    assert ics_days(data) == [
        DayOff(D(2026, 12, 24), "Break"),
        DayOff(D(2026, 12, 25), "Christmas"),
    ]


def test_empty_calendar_gives_no_days() -> None:
    assert ics_read(_ics()).days == []


def test_byte_order_mark_and_non_utf8_summary() -> None:
    data = b"\xef\xbb\xbf" + _ics(_event("DTSTART;VALUE=DATE:20260101")).replace(
        b"PRODID:-//test//EN", b"PRODID:-//test//EN\r\nX-JUNK:\xff\xfe\xc0"
    )
    assert [d.date for d in ics_days(data)] == [D(2026, 1, 1)]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "must start with BEGIN:VCALENDAR"),
        (b"\xff\xfe\x00\x01\x02 junk", "must start with BEGIN:VCALENDAR"),
        (b"<html>not a calendar</html>", "must start with BEGIN:VCALENDAR"),
        (b"BEGIN:VCALENDAR\r\n\xff\xfe\x00junk\r\nEND:VCALENDAR\r\n", "not a readable"),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VEVENT\r\n", "not a readable"),
    ],
)
def test_malformed_files(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ics_days(data)


def test_unreadable_dates_are_refused() -> None:
    with pytest.raises(ValueError, match=r"event 1 \(X\): DTSTART '2026xx' is not a date"):
        ics_days(_ics(_event("DTSTART;VALUE=DATE:2026xx", "SUMMARY:X")))
    with pytest.raises(ValueError, match="has no DTSTART"):
        ics_days(_ics(_event("SUMMARY:X")))
    with pytest.raises(ValueError, match="ends before it starts"):
        ics_days(_ics(_event("DTSTART;VALUE=DATE:20260105", "DTEND;VALUE=DATE:20260105")))


def test_size_cap() -> None:
    data = _ics(_event("DTSTART;VALUE=DATE:20260101", "DESCRIPTION:" + "x" * MAX_ICS_BYTES))
    with pytest.raises(ValueError, match="at most 1,000,000 bytes"):
        ics_days(data)

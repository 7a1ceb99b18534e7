"""Where a business calendar's holidays and make-up working days come from: the
``holidays`` package (public holidays by country) and iCalendar (.ics) files.

Pure domain code (STYLE.md, "Where logic lives"): bytes and country codes in, plain
``DayOff`` values out; no Django, no database, no clock. Applying the days to a calendar
row is ``severity.calendar_services.calendar_import_days``.

What the ``holidays`` package gives
===================================
- **Closed days** — every public holiday of the requested years, weekend ones included:
  a calendar that is open at weekends is closed on a Saturday holiday too, and on a
  Monday-to-Friday calendar the row is harmless.
- **Substitute days** ("observed", and China's "day off, substituted from …") are
  included: they are the dates the country actually stays home (China's State Council
  schedule moves holidays onto weekdays; Poland has none in the package).
- **Make-up working days** (China only, ``weekend_workdays``): weekend dates worked to
  pay for the moved days off, e.g. Saturday 2026-02-14 for Friday 2026-02-20. They become
  a calendar's extra working days, worked with its template weekday's windows.
- Only the package's ``public`` category: China's half days (Women's Day, Youth Day) are
  for some employees only and a support desk stays open.
- China publishes each year's schedule in November of the year before. For a year the
  package does not know yet it gives the statutory days and its own estimate of the
  substitutes, with no make-up days; re-importing after upgrading the package replaces
  them (the monthly refresh imports the current and the next year).

iCalendar files
===============
Only all-day events (``DTSTART;VALUE=DATE``) are days off: a timed event (a meeting, a
two-hour outage) is not a closed date, so it is skipped and the reason reported.
``DTEND`` is exclusive (RFC 5545), so a three-day event covers three dates. Yearly
repetition (``RRULE:FREQ=YEARLY`` with ``INTERVAL``, ``COUNT``, ``UNTIL`` and
``EXDATE``) is expanded for at most ``RRULE_HORIZON_YEARS`` years; any other repetition
is skipped with a reason, as no holiday repeats weekly. Files above ``MAX_ICS_BYTES`` are
refused before parsing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import holidays
import icalendar

__all__ = [
    "MAX_ICS_BYTES",
    "RRULE_HORIZON_YEARS",
    "DayOff",
    "IcsDays",
    "ics_days",
    "ics_read",
    "public_days",
]

# A national holiday calendar for ten years is ~20 kB; a megabyte is plenty and keeps a
# hostile upload from costing the parser real memory.
MAX_ICS_BYTES = 1_000_000
# A yearly event without COUNT or UNTIL repeats for ever; this many years are imported.
RRULE_HORIZON_YEARS = 10
# One event covering more days than this is not a holiday (a "term" or a mistake).
MAX_EVENT_DAYS = 31
# Names are stored in CharField(max_length=100).
NAME_LENGTH = 100
# Years the holidays package is asked about at once.
YEAR_RANGE = range(1950, 2101)


@dataclass(frozen=True, slots=True)
class DayOff:
    """One local date: closed (a holiday) or, with ``working``, an extra working day."""

    date: dt.date
    name: str
    working: bool = False


@dataclass(frozen=True, slots=True)
class IcsDays:
    """What an iCalendar file gave: the days, and why any events were skipped."""

    days: list[DayOff]
    skipped: list[str] = field(default_factory=list)


# --- The holidays package --------------------------------------------------------------


def public_days(
    country: str, years: Iterable[int], subdivision: str = "", language: str = "en"
) -> list[DayOff]:
    """Public holidays (closed) and make-up working days of ``country`` in ``years``,
    sorted by date. Raises ``ValueError`` for an unknown country or subdivision."""
    wanted = sorted(set(years))
    if not wanted:
        return []
    if any(not isinstance(y, int) or y not in YEAR_RANGE for y in wanted):
        raise ValueError(
            f"years must be whole years from {YEAR_RANGE.start} to {YEAR_RANGE.stop - 1}"
        )
    code = (country or "").strip().upper()
    supported = holidays.list_supported_countries()
    if code not in supported:
        raise ValueError(
            f"unknown country {country!r}: use a two-letter ISO code the holidays package "
            f"knows (e.g. CN, PL)"
        )
    subdiv = (subdivision or "").strip() or None
    if subdiv is not None and subdiv not in supported[code]:
        known = ", ".join(supported[code]) or "none"
        raise ValueError(
            f"unknown subdivision {subdivision!r} of {code}: known subdivisions are {known}"
        )
    calendar = holidays.country_holidays(
        code, subdiv=subdiv, years=wanted, language=_language(code, language)
    )
    days = {d: DayOff(d, _name(n)) for d, n in calendar.items() if d.year in wanted}
    # weekend_workdays may also hold dates of other years (a schedule that starts in the
    # previous December); only the years asked for are returned.
    for day in sorted(getattr(calendar, "weekend_workdays", ())):
        if day.year in wanted and day not in days:
            days[day] = DayOff(day, _make_up_name(calendar, day), working=True)
    return sorted(days.values(), key=lambda d: d.date)


def _language(code: str, language: str) -> str | None:
    """The package's spelling of ``language`` ("en" → "en_US"), else its default."""
    offered = holidays.list_localized_countries().get(code, ())
    if language in offered:
        return language
    prefix = language.split("_")[0].split("-")[0].lower()
    for candidate in offered:
        if candidate.split("_")[0].lower() == prefix:
            return candidate
    return None


def _make_up_name(calendar: Any, day: dt.date) -> str:
    """ "Make-up working day for 2026-02-20": the day off it pays for, found through the
    package's own "substituted from <date>" label; just "Make-up working day" otherwise."""
    fmt = getattr(calendar, "substituted_date_format", None)
    if isinstance(fmt, str):
        try:
            mark = day.strftime(calendar.tr(fmt))
        except Exception:  # an unexpected label format: the plain name is still right
            mark = ""
        for other, name in sorted(calendar.items()):
            if mark and mark in name:
                return f"Make-up working day for {other.isoformat()}"
    return "Make-up working day"


# --- iCalendar files -------------------------------------------------------------------


def ics_days(data: bytes, *, working: bool = False) -> list[DayOff]:
    """The all-day days of an iCalendar file (see ``ics_read``)."""
    return ics_read(data, working=working).days


def ics_read(data: bytes, *, working: bool = False) -> IcsDays:
    """All-day events of an iCalendar file as days off (or, with ``working``, as extra
    working days), sorted by date; one day per date (the first event's name).

    Raises ``ValueError`` with a message a person can act on when the file is too big,
    not iCalendar, or has an event whose dates cannot be read."""
    if len(data) > MAX_ICS_BYTES:
        raise ValueError(
            f"the file is {len(data):,} bytes; at most {MAX_ICS_BYTES:,} bytes are accepted"
        )
    if not data.lstrip(b"\xef\xbb\xbf \t\r\n").upper().startswith(b"BEGIN:VCALENDAR"):
        raise ValueError(
            "not an iCalendar file: it must start with BEGIN:VCALENDAR (export the "
            "calendar as .ics)"
        )
    try:
        parsed = icalendar.Calendar.from_ical(data)
    except (ValueError, KeyError, IndexError, TypeError, UnicodeError) as exc:
        raise ValueError(
            f"not a readable iCalendar file (check that every BEGIN has its END and "
            f"every line is NAME:value): {_short(str(exc))}"
        ) from exc
    days: dict[dt.date, DayOff] = {}
    skipped: list[str] = []
    for number, event in enumerate(parsed.walk("VEVENT"), start=1):
        summary = _name(str(event.get("SUMMARY", "")).strip())
        label = f"event {number}" + (f" ({summary})" if summary else "")
        dates, reason = _event_dates(event, label)
        if reason:
            skipped.append(reason)
            continue
        for day in dates:
            days.setdefault(day, DayOff(day, summary, working=working))
    return IcsDays(sorted(days.values(), key=lambda d: d.date), skipped)


def _event_dates(event: Any, label: str) -> tuple[list[dt.date], str]:
    """The dates an event covers, or a reason for skipping it."""
    if str(event.get("STATUS", "")).upper() == "CANCELLED":
        return [], f"{label}: cancelled"
    start = _date_value(event, "DTSTART", label)
    if start is None:
        raise ValueError(f"{label} has no DTSTART (start date)")
    if isinstance(start, dt.datetime):
        return [], f"{label}: starts at a time of day, not an all-day event"
    end = _date_value(event, "DTEND", label)
    if isinstance(end, dt.datetime):
        return [], f"{label}: ends at a time of day, not an all-day event"
    span = 1
    if end is not None:
        span = (end - start).days
    elif event.get("DURATION") is not None:
        duration = getattr(event.get("DURATION"), "dt", None)
        if not isinstance(duration, dt.timedelta) or duration.seconds:
            return [], f"{label}: its DURATION is not a whole number of days"
        span = duration.days
    if span < 1:
        raise ValueError(f"{label} ends before it starts (DTEND must be after DTSTART)")
    if span > MAX_EVENT_DAYS:
        return [], f"{label}: covers {span} days, more than {MAX_EVENT_DAYS}"
    starts, reason = _occurrences(event, start, label)
    if reason:
        return [], reason
    return [s + dt.timedelta(days=i) for s in starts for i in range(span)], ""


def _date_value(event: Any, name: str, label: str) -> dt.date | None:
    prop = event.get(name)
    if prop is None:
        return None
    try:
        value = prop.dt
    except (AttributeError, ValueError):  # icalendar keeps an unreadable value as vBroken
        value = None
    if not isinstance(value, dt.date):
        raise ValueError(
            f"{label}: {name} {_short(str(prop))!r} is not a date "
            "(expected YYYYMMDD, or YYYYMMDDTHHMMSS for a time)"
        )
    return value


def _occurrences(event: Any, start: dt.date, label: str) -> tuple[list[dt.date], str]:
    """Start dates of the event's occurrences: one, or its yearly repetitions."""
    rule = event.get("RRULE")
    if rule is None:
        return [start], ""
    if isinstance(rule, list):
        return [], f"{label}: has several RRULEs; only one yearly repetition is supported"
    parts = {str(k).upper(): v for k, v in dict(rule).items()}
    freq = [str(f).upper() for f in parts.pop("FREQ", [])]
    if freq != ["YEARLY"]:
        return [], (
            f"{label}: repeats {'/'.join(freq) or 'without FREQ'}; only yearly repetition "
            "is supported (export the dates instead)"
        )
    # BYMONTH/BYMONTHDAY restating DTSTART's own date change nothing; anything else
    # (BYDAY=-1MO …) needs a full RRULE engine and is refused rather than guessed.
    if parts.pop("BYMONTH", [start.month]) != [start.month] or parts.pop(
        "BYMONTHDAY", [start.day]
    ) != [start.day]:
        return [], f"{label}: repeats on other dates than its start; not supported"
    interval = _one_int(parts.pop("INTERVAL", [1]))
    count = _one_int(parts.pop("COUNT", [None]))
    until_raw = parts.pop("UNTIL", [None])[0]
    parts.pop("WKST", None)
    if parts:
        return [], f"{label}: repeats with {', '.join(sorted(parts))}; not supported"
    if interval is None or interval < 1:
        return [], f"{label}: its repetition has an unreadable INTERVAL"
    until = until_raw.date() if isinstance(until_raw, dt.datetime) else until_raw
    excluded = _exdates(event)
    starts: list[dt.date] = []
    occurrence = 0
    for year in range(start.year, start.year + RRULE_HORIZON_YEARS, interval):
        if count is not None and occurrence >= count:
            break
        try:
            day = start.replace(year=year)
        except ValueError:  # 29 February in a common year: no occurrence (RFC 5545)
            continue
        if isinstance(until, dt.date) and day > until:
            break
        occurrence += 1
        if day not in excluded:
            starts.append(day)
    return starts, ""


def _exdates(event: Any) -> set[dt.date]:
    props = event.get("EXDATE")
    if props is None:
        return set()
    found: set[dt.date] = set()
    for prop in props if isinstance(props, list) else [props]:
        for value in getattr(prop, "dts", []):
            day = getattr(value, "dt", None)
            if isinstance(day, dt.datetime):
                found.add(day.date())
            elif isinstance(day, dt.date):
                found.add(day)
    return found


def _one_int(values: Any) -> int | None:
    value = values[0] if isinstance(values, list) and values else values
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _name(text: str) -> str:
    return " ".join(text.split())[:NAME_LENGTH]


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 120 else text[:117] + "…"

"""Writes to business calendars: importing holidays and make-up working days.

The days come from ``severity.holiday_sources`` (the ``holidays`` package, iCalendar
files); this module puts them on a ``Calendar`` row. Every row written remembers its
``source`` ("holidays:CN", "ics:<file name>"), so importing the same source again
replaces exactly what it wrote before and never touches a day a person typed by hand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction

from severity.holiday_sources import DayOff, public_days
from severity.models import Calendar, CalendarExtraDay, CalendarHoliday, calendar_changed

__all__ = [
    "ImportResult",
    "RefreshResult",
    "calendar_import_days",
    "calendar_import_public_days",
    "calendars_refresh_public_days",
    "ics_source",
    "public_source",
]

SOURCE_LENGTH = 40  # CalendarHoliday.source / CalendarExtraDay.source
NAME_LENGTH = 100  # CalendarHoliday.name / CalendarExtraDay.name
PUBLIC_PREFIX = "holidays:"
ICS_PREFIX = "ics:"


def public_source(country: str, subdivision: str = "") -> str:
    """ "holidays:CN", "holidays:DE-BY": the source of days from the holidays package."""
    code = country.strip().upper()
    if subdivision.strip():
        code = f"{code}-{subdivision.strip()}"
    return (PUBLIC_PREFIX + code)[:SOURCE_LENGTH]


def ics_source(file_name: str) -> str:
    """ "ics:holidays-2026.ics": the source of days from an iCalendar file (its base name,
    cut to the column's length)."""
    base = file_name.replace("\\", "/").rsplit("/", 1)[-1].strip() or "upload.ics"
    return (ICS_PREFIX + base)[:SOURCE_LENGTH]


@dataclass(frozen=True)
class ImportResult:
    """What an import changed on one calendar.

    ``skipped_conflicts``: incoming days not applied because the calendar has a holiday
    from elsewhere (typed by hand or another source) on that date: a holiday wins over an
    extra working day (severity.calendars), so a make-up day there would do nothing.
    ``overridden_extra_days``: extra working days from elsewhere that an imported holiday
    now closes; they are kept (a person's row is not deleted) but have no effect.
    """

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped_conflicts: tuple[DayOff, ...] = ()
    overridden_extra_days: tuple[dt.date, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


@transaction.atomic
def calendar_import_days(
    *,
    calendar: Calendar,
    days: Iterable[DayOff],
    source: str,
    replace_source: bool = True,
    years: Iterable[int] | None = None,
) -> ImportResult:
    """Put ``days`` on ``calendar``: closed days as holidays, working ones as extra
    working days, each row marked with ``source``.

    With ``replace_source``, rows of this source in the covered years (``years``, else
    the years of ``days``) that the import no longer lists are removed, so importing the
    same source twice changes nothing the second time. A date already holding a row
    from another source keeps that row. One transaction; the calendar's revision is
    bumped once when anything changed (bulk writes fire no signals)."""
    if not source or len(source) > SOURCE_LENGTH:
        raise ValueError(f"source must be 1 to {SOURCE_LENGTH} characters")
    # Serialises two imports into one calendar (the beat refresh and a supervisor).
    Calendar.objects.select_for_update().filter(pk=calendar.pk).first()
    incoming: dict[dt.date, DayOff] = {}
    for day in days:
        # One row per date; a holiday wins over a working day on the same date.
        if day.date not in incoming or not day.working:
            incoming[day.date] = day
    covered = set(years) if years is not None else {d.year for d in incoming}
    holidays = {h.date: h for h in CalendarHoliday.objects.filter(calendar=calendar)}
    extra_days = {e.date: e for e in CalendarExtraDay.objects.filter(calendar=calendar)}

    add_holidays: list[CalendarHoliday] = []
    add_extra: list[CalendarExtraDay] = []
    renamed_holidays: list[CalendarHoliday] = []
    renamed_extra: list[CalendarExtraDay] = []
    drop_holidays: set[int] = set()
    drop_extra: set[int] = set()
    unchanged = 0
    skipped: list[DayOff] = []
    overridden: list[dt.date] = []

    for date, day in sorted(incoming.items()):
        name = " ".join(day.name.split())[:NAME_LENGTH]
        holiday, extra = holidays.get(date), extra_days.get(date)
        if day.working:
            if holiday is not None and holiday.source != source:
                skipped.append(day)
                continue
            if holiday is not None:  # this source said "closed" before, now "worked"
                drop_holidays.add(holiday.pk)
            if extra is None:
                add_extra.append(
                    CalendarExtraDay(calendar=calendar, date=date, name=name, source=source)
                )
            elif extra.source == source and extra.name != name:
                extra.name = name
                renamed_extra.append(extra)
            else:
                unchanged += 1
            continue
        if extra is not None and extra.source == source:  # worked before, closed now
            drop_extra.add(extra.pk)
        elif extra is not None:
            overridden.append(date)
        if holiday is None:
            add_holidays.append(
                CalendarHoliday(calendar=calendar, date=date, name=name, source=source)
            )
        elif holiday.source == source and holiday.name != name:
            holiday.name = name
            renamed_holidays.append(holiday)
        else:
            unchanged += 1

    if replace_source:
        # A row of this source stays only if the import still lists its date as its kind.
        for date, holiday in holidays.items():
            kept = date in incoming and not incoming[date].working
            if holiday.source == source and date.year in covered and not kept:
                drop_holidays.add(holiday.pk)
        for date, extra in extra_days.items():
            kept = date in incoming and incoming[date].working
            if extra.source == source and date.year in covered and not kept:
                drop_extra.add(extra.pk)

    # Deletions first, so a date that changes kind frees its row before the new one lands.
    removed = 0
    if drop_holidays:
        removed += CalendarHoliday.objects.filter(pk__in=drop_holidays).delete()[0]
    if drop_extra:
        removed += CalendarExtraDay.objects.filter(pk__in=drop_extra).delete()[0]
    CalendarHoliday.objects.bulk_create(add_holidays)
    CalendarExtraDay.objects.bulk_create(add_extra)
    CalendarHoliday.objects.bulk_update(renamed_holidays, ["name"])
    CalendarExtraDay.objects.bulk_update(renamed_extra, ["name"])
    result = ImportResult(
        added=len(add_holidays) + len(add_extra),
        updated=len(renamed_holidays) + len(renamed_extra),
        removed=removed,
        unchanged=unchanged,
        skipped_conflicts=tuple(skipped),
        overridden_extra_days=tuple(overridden),
    )
    if result.changed:
        calendar_changed(calendar.pk)
    return result


def calendar_import_public_days(
    *, calendar: Calendar, years: Iterable[int], country: str = "", subdivision: str = ""
) -> ImportResult:
    """Import the public holidays (and China's make-up working days) of ``country``
    (default: the calendar's ``holiday_country``) for ``years``, replacing what the same
    source imported for those years before. ``ValueError`` for an unknown country."""
    if not country:
        country, subdivision = calendar.holiday_country, calendar.holiday_subdivision
    country = country.strip().upper()
    if not country:
        raise ValueError(f"calendar {calendar.name!r} has no country for public holidays")
    wanted = sorted(set(years))
    days = public_days(country, wanted, subdivision=subdivision)
    return calendar_import_days(
        calendar=calendar,
        days=days,
        source=public_source(country, subdivision),
        replace_source=True,
        years=wanted,
    )


@dataclass(frozen=True)
class RefreshResult:
    results: dict[str, ImportResult] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def calendars_refresh_public_days(*, now: dt.datetime) -> RefreshResult:
    """For every calendar with a ``holiday_country``: import this year's and next year's
    public days, so the next year is present before it starts and a newer ``holidays``
    release (China announces each year's schedule in November) replaces the estimate.
    Idempotent: a run that finds nothing new changes nothing (no revision bump)."""
    years = [now.year, now.year + 1]
    results: dict[str, ImportResult] = {}
    errors: dict[str, str] = {}
    for calendar in Calendar.objects.exclude(holiday_country="").order_by("pk"):
        try:
            results[calendar.name] = calendar_import_public_days(calendar=calendar, years=years)
        except ValueError as error:  # a country the installed package no longer knows
            errors[calendar.name] = str(error)
    return RefreshResult(results, errors)

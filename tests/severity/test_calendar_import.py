"""Importing holidays and make-up working days into calendars (severity.calendar_services,
the ``calendar_import`` command, the seeding migration and the daily refresh).

Billing follows China's business days and Pre-sales Poland's (POL-SLA-4); B/C technical
works every day of the year (POL-SLA-3) and gets no public holidays."""

from __future__ import annotations

import importlib
from datetime import UTC, date, datetime, time
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps as django_apps
from django.core.management import CommandError, call_command

from severity.calendar_services import (
    calendar_import_days,
    calendar_import_public_days,
    calendars_refresh_public_days,
    ics_source,
    public_source,
)
from severity.calendars import HOLIDAY, OPEN
from severity.holiday_sources import DayOff, public_days
from severity.models import (
    Calendar,
    CalendarExtraDay,
    CalendarHoliday,
    CalendarWindow,
    business_calendar,
)

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
CN = public_source("CN")


@pytest.fixture
def office() -> Calendar:
    """A Monday-to-Friday 09:00–17:00 calendar in Shanghai, without any days."""
    calendar = Calendar.objects.create(name="Office", time_zone="Asia/Shanghai")
    CalendarWindow.objects.bulk_create(
        CalendarWindow(calendar=calendar, weekday=d, start=time(9), end=time(17)) for d in range(5)
    )
    return calendar


def _revision(calendar: Calendar) -> int:
    return Calendar.objects.values_list("revision", flat=True).get(pk=calendar.pk)


def _holidays(calendar: Calendar, source: str | None = None) -> dict[date, str]:
    rows = CalendarHoliday.objects.filter(calendar=calendar)
    if source is not None:
        rows = rows.filter(source=source)
    return dict(rows.values_list("date", "name"))


def _extra(calendar: Calendar, source: str | None = None) -> dict[date, str]:
    rows = CalendarExtraDay.objects.filter(calendar=calendar)
    if source is not None:
        rows = rows.filter(source=source)
    return dict(rows.values_list("date", "name"))


# --- The service ------------------------------------------------------------------------


def test_public_days_are_added_with_their_source_and_bump_the_revision(office: Calendar) -> None:
    before = _revision(office)
    result = calendar_import_public_days(calendar=office, years=[2026], country="CN")
    expected = public_days("CN", [2026])
    assert result.added == len(expected) and result.removed == 0 and result.changed
    assert date(2026, 2, 14) in _extra(office, CN)
    assert date(2026, 2, 16) in _holidays(office, CN)
    assert set(_holidays(office)) | set(_extra(office)) == {d.date for d in expected}
    assert _revision(office) > before


def test_importing_again_changes_nothing(office: Calendar) -> None:
    calendar_import_public_days(calendar=office, years=[2025, 2026], country="CN")
    revision = _revision(office)
    again = calendar_import_public_days(calendar=office, years=[2025, 2026], country="CN")
    assert not again.changed
    assert again.unchanged == len(public_days("CN", [2025, 2026]))
    assert _revision(office) == revision


def test_the_calendar_country_is_the_default(office: Calendar) -> None:
    office.holiday_country = "PL"
    office.save()
    calendar_import_public_days(calendar=office, years=[2026])
    assert _holidays(office, public_source("PL"))[date(2026, 11, 11)]
    with pytest.raises(ValueError, match="unknown country"):
        calendar_import_public_days(calendar=office, years=[2026], country="XX")
    office.holiday_country = ""
    office.save()
    with pytest.raises(ValueError, match="no country"):
        calendar_import_public_days(calendar=office, years=[2026])


def test_reimporting_a_source_replaces_its_rows_in_the_covered_years(office: Calendar) -> None:
    source = ics_source("/tmp/office.ics")
    assert source == "ics:office.ics"
    first = [
        DayOff(date(2026, 5, 4), "Bridge day"),
        DayOff(date(2026, 8, 14), "Summer"),
        DayOff(date(2027, 1, 4), "Next year"),
    ]
    calendar_import_days(calendar=office, days=first, source=source)
    CalendarHoliday.objects.create(calendar=office, date=date(2026, 12, 31), name="By hand")
    second = [DayOff(date(2026, 5, 4), "Bridge day (May)"), DayOff(date(2026, 11, 2), "Nov")]
    result = calendar_import_days(calendar=office, days=second, source=source)
    assert (result.added, result.updated, result.removed) == (1, 1, 1)
    assert _holidays(office) == {
        date(2026, 5, 4): "Bridge day (May)",
        date(2026, 11, 2): "Nov",
        date(2026, 12, 31): "By hand",  # typed by hand: never touched
        date(2027, 1, 4): "Next year",  # another year: not covered by the second file
    }


def test_without_replace_nothing_is_removed(office: Calendar) -> None:
    source = ics_source("a.ics")
    calendar_import_days(calendar=office, days=[DayOff(date(2026, 5, 4), "A")], source=source)
    result = calendar_import_days(
        calendar=office,
        days=[DayOff(date(2026, 5, 5), "B")],
        source=source,
        replace_source=False,
    )
    assert (result.added, result.removed) == (1, 0)
    assert set(_holidays(office)) == {date(2026, 5, 4), date(2026, 5, 5)}


def test_a_holiday_from_elsewhere_wins_over_an_imported_working_day(office: Calendar) -> None:
    CalendarHoliday.objects.create(calendar=office, date=date(2026, 2, 14), name="Company day")
    result = calendar_import_public_days(calendar=office, years=[2026], country="CN")
    assert [d.date for d in result.skipped_conflicts] == [date(2026, 2, 14)]
    assert date(2026, 2, 14) not in _extra(office)
    assert _holidays(office)[date(2026, 2, 14)] == "Company day"


def test_an_imported_holiday_overrides_a_hand_typed_working_day(office: Calendar) -> None:
    CalendarExtraDay.objects.create(calendar=office, date=date(2026, 2, 16), name="By hand")
    result = calendar_import_public_days(calendar=office, years=[2026], country="CN")
    assert result.overridden_extra_days == (date(2026, 2, 16),)
    assert date(2026, 2, 16) in _holidays(office, CN)
    assert _extra(office)[date(2026, 2, 16)] == "By hand"  # kept, but closed
    built = business_calendar(Calendar.objects.get(pk=office.pk))
    assert built.closed_reason(datetime(2026, 2, 16, 10, tzinfo=SHANGHAI)) == HOLIDAY


def test_one_import_saying_both_on_a_date_makes_it_a_holiday(office: Calendar) -> None:
    days = [DayOff(date(2026, 3, 7), "Worked", True), DayOff(date(2026, 3, 7), "Closed")]
    calendar_import_days(calendar=office, days=days, source="ics:x.ics")
    assert _holidays(office) == {date(2026, 3, 7): "Closed"} and not _extra(office)


def test_a_source_that_changes_its_mind_moves_the_date(office: Calendar) -> None:
    source = "ics:x.ics"
    calendar_import_days(calendar=office, days=[DayOff(date(2026, 3, 7), "Off")], source=source)
    result = calendar_import_days(
        calendar=office, days=[DayOff(date(2026, 3, 7), "Worked", True)], source=source
    )
    assert (result.added, result.removed) == (1, 1)
    assert not _holidays(office) and _extra(office) == {date(2026, 3, 7): "Worked"}
    calendar_import_days(calendar=office, days=[DayOff(date(2026, 3, 7), "Off")], source=source)
    assert _holidays(office) == {date(2026, 3, 7): "Off"} and not _extra(office)


def test_a_bad_source_is_refused(office: Calendar) -> None:
    with pytest.raises(ValueError, match="source"):
        calendar_import_days(calendar=office, days=[], source="")


# --- The seeding migration --------------------------------------------------------------


def test_billing_follows_china_and_pre_sales_poland() -> None:
    billing = Calendar.objects.get(name="Billing")
    assert billing.holiday_country == "CN"
    assert _extra(billing, CN)[date(2026, 2, 14)].startswith("Make-up working day")
    assert date(2026, 2, 16) in _holidays(billing, CN)
    assert {d.year for d in _holidays(billing)} == {2025, 2026, 2027, 2028}
    presales = Calendar.objects.get(name="Pre-sales")
    assert presales.holiday_country == "PL"
    assert date(2025, 12, 24) in _holidays(presales, public_source("PL"))
    assert not _extra(presales)
    # POL-SLA-3: B/C technical works every day of the year; 24x7 is continuous.
    for name in ("B/C technical", "24x7"):
        calendar = Calendar.objects.get(name=name)
        assert calendar.holiday_country == ""
        assert not _holidays(calendar) and not _extra(calendar)


def test_billing_works_the_make_up_saturday_and_closes_for_spring_festival() -> None:
    billing = business_calendar(Calendar.objects.get(name="Billing"))
    saturday = datetime(2026, 2, 14, 10, tzinfo=SHANGHAI)
    assert billing.closed_reason(saturday) == OPEN
    assert billing.closed_reason(datetime(2026, 2, 16, 10, tzinfo=SHANGHAI)) == HOLIDAY
    assert billing.closed_reason(datetime(2026, 2, 21, 10, tzinfo=SHANGHAI)) != OPEN
    # A make-up day is worked with the template weekday's 09:00–17:00.
    assert billing.closed_reason(datetime(2026, 2, 14, 18, tzinfo=SHANGHAI)) != OPEN


def test_the_migration_reverses() -> None:
    migration = importlib.import_module("severity.migrations.0009_public_holidays")
    billing = Calendar.objects.get(name="Billing")
    CalendarHoliday.objects.create(calendar=billing, date=date(2030, 1, 2), name="By hand")
    migration.remove_public_days(django_apps, None)
    billing.refresh_from_db()
    assert billing.holiday_country == ""
    assert _holidays(billing) == {date(2030, 1, 2): "By hand"} and not _extra(billing)
    migration.import_public_days(django_apps, None)
    assert date(2026, 2, 14) in _extra(Calendar.objects.get(name="Billing"), CN)


# --- The daily refresh ------------------------------------------------------------------


def test_the_refresh_imports_this_and_next_year_once() -> None:
    billing = Calendar.objects.get(name="Billing")
    CalendarHoliday.objects.filter(calendar=billing, date__year=2026).delete()
    revision = _revision(billing)
    refreshed = calendars_refresh_public_days(now=datetime(2026, 12, 7, tzinfo=UTC))
    assert set(refreshed.results) == {"Billing", "Pre-sales"} and not refreshed.errors
    assert refreshed.results["Billing"].added > 0
    assert not refreshed.results["Pre-sales"].changed
    assert date(2026, 10, 1) in _holidays(billing, CN)
    assert _revision(billing) > revision
    again = calendars_refresh_public_days(now=datetime(2026, 12, 7, tzinfo=UTC))
    assert not any(r.changed for r in again.results.values())


def test_the_refresh_reports_a_country_it_cannot_import() -> None:
    Calendar.objects.filter(name="Pre-sales").update(holiday_country="XX")
    refreshed = calendars_refresh_public_days(now=datetime(2026, 12, 7, tzinfo=UTC))
    assert "unknown country" in refreshed.errors["Pre-sales"]
    assert "Billing" in refreshed.results


def test_the_task_runs_the_refresh() -> None:
    from tickets.tasks import refresh_public_holidays

    outcome = refresh_public_holidays()
    assert outcome["errors"] == 0 and set(outcome) >= {"changed", "errors"}


# --- The command ------------------------------------------------------------------------


def _call(*args: str) -> str:
    out = StringIO()
    call_command("calendar_import", *args, stdout=out)
    return out.getvalue()


def test_command_imports_a_country(office: Calendar) -> None:
    out = _call("--calendar", "Office", "--country", "CN", "--years", "2026")
    assert f"Office: {len(public_days('CN', [2026]))} added" in out
    assert "nothing changed" in _call("--calendar", "Office", "--country", "CN", "--years", "2026")


def test_command_imports_an_ics_file(office: Calendar, tmp_path: Path) -> None:
    path = tmp_path / "make-up.ics"
    path.write_bytes(
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n"
        b"BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20260307\r\nSUMMARY:Stocktake\r\nEND:VEVENT\r\n"
        b"BEGIN:VEVENT\r\nDTSTART:20260307T100000Z\r\nSUMMARY:Meeting\r\nEND:VEVENT\r\n"
        b"END:VCALENDAR\r\n"
    )
    out = _call("--calendar", "Office", "--ics", str(path), "--working")
    assert "Skipped event 2 (Meeting)" in out and "1 added" in out
    assert CalendarExtraDay.objects.get(calendar=office).source == "ics:make-up.ics"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--calendar", "Nope", "--years", "2026"], "no calendar named 'Nope'"),
        (["--calendar", "Office", "--country", "XX", "--years", "2026"], "unknown country"),
        (["--calendar", "Office", "--country", "CN"], "--years is required"),
        (["--calendar", "Office", "--years", "2026"], "no country"),
        (["--calendar", "Office", "--country", "CN", "--working", "--years", "1"], "--ics"),
        (["--calendar", "Office", "--ics", "/nonexistent/x.ics"], "cannot read"),
    ],
)
def test_command_refuses_bad_input(office: Calendar, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        _call(*args)


def test_command_refuses_a_malformed_file(office: Calendar, tmp_path: Path) -> None:
    path = tmp_path / "junk.ics"
    path.write_bytes(b"\x00\xff junk")
    with pytest.raises(CommandError, match=r"junk\.ics: not an iCalendar file"):
        _call("--calendar", "Office", "--ics", str(path))
    path.write_bytes(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nEND:VCALENDAR\r\n")
    with pytest.raises(CommandError, match="no all-day events"):
        _call("--calendar", "Office", "--ics", str(path))

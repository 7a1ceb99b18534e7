"""``python manage.py calendar_import``: holidays and make-up working days onto a calendar.

    manage.py calendar_import --calendar Billing --country CN --years 2026 2027
    manage.py calendar_import --calendar Billing --years 2027      # its holiday country
    manage.py calendar_import --calendar Pre-sales --ics office.ics [--working]

Importing the same source again replaces what it imported before for the same years;
days typed by hand are never touched (severity.calendar_services).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from severity.calendar_services import (
    ImportResult,
    calendar_import_days,
    calendar_import_public_days,
    ics_source,
)
from severity.holiday_sources import MAX_ICS_BYTES, ics_read
from severity.models import Calendar


class Command(BaseCommand):
    help = "Import public holidays (holidays package) or an iCalendar file into a calendar."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--calendar", required=True, help="The calendar's name.")
        source = parser.add_mutually_exclusive_group()
        source.add_argument(
            "--country", default="", help="ISO code (CN, PL); default: the calendar's own."
        )
        source.add_argument("--ics", type=Path, help="An iCalendar (.ics) file.")
        parser.add_argument("--subdivision", default="", help="Region within --country.")
        parser.add_argument("--years", type=int, nargs="+", help="Years of public holidays.")
        parser.add_argument(
            "--working",
            action="store_true",
            help="The file's days are extra working days, not holidays (--ics only).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            calendar = Calendar.objects.get(name=options["calendar"])
        except Calendar.DoesNotExist as error:
            known = ", ".join(Calendar.objects.values_list("name", flat=True)) or "none"
            raise CommandError(
                f"no calendar named {options['calendar']!r} (calendars: {known})"
            ) from error
        if options["ics"] is not None:
            result = self._import_ics(calendar, options["ics"], working=options["working"])
        else:
            if options["working"]:
                raise CommandError("--working goes with --ics")
            if not options["years"]:
                raise CommandError("--years is required for public holidays")
            try:
                result = calendar_import_public_days(
                    calendar=calendar,
                    years=options["years"],
                    country=options["country"],
                    subdivision=options["subdivision"],
                )
            except ValueError as error:
                raise CommandError(str(error)) from error
        self._report(calendar, result)

    def _import_ics(self, calendar: Calendar, path: Path, *, working: bool) -> ImportResult:
        try:
            if path.stat().st_size > MAX_ICS_BYTES:
                raise CommandError(f"{path} is larger than {MAX_ICS_BYTES:,} bytes")
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error.strerror or error}") from error
        try:
            read = ics_read(data, working=working)
        except ValueError as error:
            raise CommandError(f"{path.name}: {error}") from error
        for reason in read.skipped:
            self.stdout.write(self.style.WARNING(f"Skipped {reason}."))
        if not read.days:
            raise CommandError(f"{path.name} has no all-day events to import")
        return calendar_import_days(
            calendar=calendar, days=read.days, source=ics_source(path.name), replace_source=True
        )

    def _report(self, calendar: Calendar, result: ImportResult) -> None:
        out = self.stdout
        for day in result.skipped_conflicts:
            out.write(
                self.style.WARNING(
                    f"Not a working day: {day.date} {day.name} – the calendar has a holiday "
                    "then, and a holiday wins."
                )
            )
        for date in result.overridden_extra_days:
            out.write(
                self.style.WARNING(f"The extra working day {date} is now closed by a holiday.")
            )
        if not result.changed:
            out.write(self.style.SUCCESS(f"{calendar.name}: nothing changed."))
            return
        out.write(
            self.style.SUCCESS(
                f"{calendar.name}: {result.added} added, {result.updated} renamed, "
                f"{result.removed} removed, {result.unchanged} already there."
            )
        )

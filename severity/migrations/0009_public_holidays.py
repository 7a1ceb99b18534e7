"""Public holidays for the office-hours calendars (issue 15; POL-SLA-3, POL-SLA-4).

Billing works China's business days (POL-SLA-4: "business hours in China, Monday to
Friday"), so it gets China's public holidays and make-up working days. Pre-sales works
Polish business days: its hours are read in each organization's zone, but its holidays
are Poland's, for every organization. B/C technical gets none: POL-SLA-3 says
09:00–24:00 Beijing time "every day, 365 days a year", so no public holiday closes it;
24x7 likewise.

Days are taken from the ``holidays`` package for 2025–2028 (severity.holiday_sources) and
written on the historical models; the daily refresh (severity.tasks.refresh_public_holidays)
keeps the current and the next year up to date afterwards. A date already holding a row
(typed by hand) keeps it.
"""

from django.db import migrations
from django.db.models import F

from severity.holiday_sources import public_days

YEARS = range(2025, 2029)
# calendar name: country whose public days it follows
COUNTRIES = {"Billing": "CN", "Pre-sales": "PL"}
SOURCE = "holidays:{}"  # as severity.calendar_services.public_source


def import_public_days(apps, schema_editor):
    Calendar = apps.get_model("severity", "Calendar")
    CalendarHoliday = apps.get_model("severity", "CalendarHoliday")
    CalendarExtraDay = apps.get_model("severity", "CalendarExtraDay")
    for name, country in COUNTRIES.items():
        calendar = Calendar.objects.filter(name=name).first()
        if calendar is None:  # renamed or deleted by hand: nothing to follow
            continue
        source = SOURCE.format(country)
        taken = set(calendar.holidays.values_list("date", flat=True))
        taken |= set(calendar.extra_days.values_list("date", flat=True))
        days = [d for d in public_days(country, YEARS) if d.date not in taken]
        CalendarHoliday.objects.bulk_create(
            CalendarHoliday(calendar=calendar, date=d.date, name=d.name[:100], source=source)
            for d in days
            if not d.working
        )
        CalendarExtraDay.objects.bulk_create(
            CalendarExtraDay(calendar=calendar, date=d.date, name=d.name[:100], source=source)
            for d in days
            if d.working
        )
        # Historical models fire none of the app's signals: bump the revision here so
        # every process rebuilds the calendar (severity.models.calendar_changed).
        Calendar.objects.filter(pk=calendar.pk).update(
            holiday_country=country, revision=F("revision") + 1
        )


def remove_public_days(apps, schema_editor):
    Calendar = apps.get_model("severity", "Calendar")
    for name, country in COUNTRIES.items():
        calendar = Calendar.objects.filter(name=name).first()
        if calendar is None:
            continue
        source = SOURCE.format(country)
        calendar.holidays.filter(source=source).delete()
        calendar.extra_days.filter(source=source).delete()
        Calendar.objects.filter(pk=calendar.pk).update(
            holiday_country="", holiday_subdivision="", revision=F("revision") + 1
        )


class Migration(migrations.Migration):
    dependencies = [("severity", "0008_sla_target_version_required")]
    operations = [migrations.RunPython(import_public_days, remove_public_days)]

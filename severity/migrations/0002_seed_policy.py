"""Seed POLICY.md's calendars and targets (POL-SLA-1..4 and the Default lines)."""

from datetime import time, timedelta

from django.db import migrations

HOUR = timedelta(hours=1)
WEEK = range(7)
WORKWEEK = range(5)

# name: (time zone, uses the organization's zone, weekdays, start, end (None = 24:00))
CALENDARS = {
    "24x7": ("UTC", False, WEEK, time(0), None),  # POL-SLA-3: A is 24x7, continuous
    "B/C technical": ("Asia/Shanghai", False, WEEK, time(9), None),  # POL-SLA-3
    "Billing": ("Asia/Shanghai", False, WORKWEEK, time(9), time(17)),  # POL-SLA-4
    "Pre-sales": ("UTC", True, WORKWEEK, time(9), time(17)),  # POL-SLA-4: local hours
}

# A business day is a calendar's working hours on one open day: 15 h on B/C technical,
# 8 h on Billing and Pre-sales (POLICY.md Defaults).
BC_DAY = 15 * HOUR
OFFICE_DAY = 8 * HOUR

# (severity, category): (calendar, first response, update cadence, cooperation window)
TARGETS = {
    ("A", "technical"): ("24x7", 1 * HOUR, 1 * HOUR, 4 * HOUR),
    ("B", "technical"): ("B/C technical", 1 * BC_DAY, None, 2 * BC_DAY),
    ("C", "technical"): ("B/C technical", 3 * BC_DAY, None, 5 * BC_DAY),
    ("B", "billing"): ("Billing", 1 * OFFICE_DAY, None, 2 * OFFICE_DAY),
    ("C", "billing"): ("Billing", 3 * OFFICE_DAY, None, 5 * OFFICE_DAY),
    ("B", "presales"): ("Pre-sales", 1 * OFFICE_DAY, None, 2 * OFFICE_DAY),
    ("C", "presales"): ("Pre-sales", 3 * OFFICE_DAY, None, 5 * OFFICE_DAY),
    # A is capped away from billing and pre-sales (POL-SEV-6); the rows exist so that a
    # future policy change is a data edit, and they mirror technical A.
    ("A", "billing"): ("24x7", 1 * HOUR, 1 * HOUR, 4 * HOUR),
    ("A", "presales"): ("24x7", 1 * HOUR, 1 * HOUR, 4 * HOUR),
}


def seed(apps, schema_editor):
    Calendar = apps.get_model("severity", "Calendar")
    CalendarWindow = apps.get_model("severity", "CalendarWindow")
    SlaTarget = apps.get_model("severity", "SlaTarget")
    calendars = {}
    for name, (zone, org_zone, days, start, end) in CALENDARS.items():
        calendar, _ = Calendar.objects.update_or_create(
            name=name, defaults={"time_zone": zone, "uses_organization_time_zone": org_zone}
        )
        calendar.windows.all().delete()
        CalendarWindow.objects.bulk_create(
            CalendarWindow(calendar=calendar, weekday=day, start=start, end=end) for day in days
        )
        calendars[name] = calendar
    for (severity, category), (cal, response, cadence, cooperation) in TARGETS.items():
        SlaTarget.objects.update_or_create(
            severity=severity,
            category=category,
            defaults={
                "calendar": calendars[cal],
                "first_response": response,
                "update_cadence": cadence,
                "cooperation_window": cooperation,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("severity", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

"""Calendars and SLA targets as data, editable by supervisors in the admin.

Both are seeded from POLICY.md by a data migration. A ``Calendar`` row turns into
the pure ``BusinessCalendar`` through ``business_calendar()``, cached per process
and keyed on the row's ``updated_at`` so an edit in the admin takes effect at once.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta
from threading import Lock
from time import monotonic

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from severity.calendars import BusinessCalendar, Window
from severity.choices import Category, Severity

WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


def _validate_zone(value: str) -> None:
    if value and value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


class Calendar(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[_validate_zone]
    )
    # POL-SLA-4: pre-sales works "local business hours" – the customer's own zone.
    uses_organization_time_zone = models.BooleanField(
        _("in the organization's time zone"),
        default=False,
        help_text=_("Working hours are read in each organization's own time zone."),
    )
    extra_day_template = models.PositiveSmallIntegerField(
        _("extra working days follow"),
        choices=WEEKDAYS,
        default=0,
        help_text=_("Extra working days are worked with this weekday's hours."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class CalendarWindow(models.Model):
    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="windows")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=WEEKDAYS)
    start = models.TimeField(_("opens"))
    end = models.TimeField(_("closes"), null=True, blank=True, help_text=_("Empty means 24:00."))

    class Meta:
        verbose_name = _("working window")
        verbose_name_plural = _("working windows")
        ordering = ("weekday", "start")

    def __str__(self) -> str:
        end = self.end.strftime("%H:%M") if self.end else "24:00"
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{end}"

    def clean(self) -> None:
        if self.end is not None and self.end <= self.start:
            raise ValidationError({"end": _("A window must close after it opens.")})


class CalendarHoliday(models.Model):
    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ("date",)
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="calendar_holiday_unique")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}".strip()


class CalendarExtraDay(models.Model):
    """A date normally closed that is worked (China's make-up working days)."""

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="extra_days")
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("extra working day")
        verbose_name_plural = _("extra working days")
        ordering = ("date",)
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="calendar_extra_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}".strip()


_cache: dict[tuple[int, datetime, str], BusinessCalendar] = {}
_cache_lock = Lock()


def business_calendar(
    calendar: Calendar, *, organization_tz: str | None = None
) -> BusinessCalendar:
    """The pure calendar for a row (in the organization's zone where the row says so)."""
    zone = (
        organization_tz
        if calendar.uses_organization_time_zone and organization_tz
        else calendar.time_zone
    )
    key = (calendar.pk, calendar.updated_at, zone)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    built = BusinessCalendar(
        zone,
        [Window(w.weekday, w.start, w.end) for w in calendar.windows.all()],
        holidays=[h.date for h in calendar.holidays.all()],
        extra_working_days=[d.date for d in calendar.extra_days.all()],
        extra_day_template=calendar.extra_day_template,
        name=calendar.name,
    )
    with _cache_lock:
        # Older versions of the same calendar are dropped so edits do not accumulate.
        for stale in [k for k in _cache if k[0] == calendar.pk and k[1] != calendar.updated_at]:
            del _cache[stale]
        _cache[key] = built
    return built


class SlaTargetQuerySet(models.QuerySet["SlaTarget"]):
    def for_ticket_kind(self, severity: str, category: str) -> SlaTarget:
        return self.select_related("calendar").get(severity=severity, category=category)


class SlaTarget(models.Model):
    """Per severity and category: the calendar and the working-time targets (POL-SLA-1..4)."""

    severity = models.CharField(_("severity"), max_length=1, choices=Severity.choices)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    calendar = models.ForeignKey(Calendar, on_delete=models.PROTECT, related_name="targets")
    first_response = models.DurationField(
        _("first response within"), help_text=_("Working time on the calendar.")
    )
    update_cadence = models.DurationField(
        _("agent update at least every"),
        null=True,
        blank=True,
        help_text=_("Continued work (POL-SLA-1): empty means no cadence after the first response."),
    )
    cooperation_window = models.DurationField(
        _("customer cooperation window"),
        help_text=_("Working time the customer has to provide what was asked (POL-SEV-7)."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = SlaTargetQuerySet.as_manager()

    class Meta:
        verbose_name = _("SLA target")
        verbose_name_plural = _("SLA targets")
        ordering = ("severity", "category")
        constraints = [
            models.UniqueConstraint(fields=["severity", "category"], name="sla_target_unique"),
            models.CheckConstraint(
                condition=models.Q(first_response__gt=timedelta(0)),
                name="sla_target_response_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(cooperation_window__gt=timedelta(0)),
                name="sla_target_cooperation_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.severity} / {self.get_category_display()}"


# Targets are read on every ticket filed and change a few times a year: each process keeps
# them for TARGET_CACHE_SECONDS. An edit through the models (admin, services) clears this
# process's copy at once; other processes pick it up within that time.
TARGET_CACHE_SECONDS = 60.0
_targets: dict[tuple[str, str], tuple[float, SlaTarget]] = {}


def target_for(severity: str, category: str) -> SlaTarget:
    """The target for a kind of ticket (with its calendar row). The instance is shared
    between requests: read it, never change it."""
    key = (severity, category)
    now = monotonic()
    hit = _targets.get(key)
    if hit is not None and now - hit[0] < TARGET_CACHE_SECONDS:
        return hit[1]
    target = SlaTarget.objects.for_ticket_kind(severity, category)
    _targets[key] = (now, target)
    return target


def forget_targets(**_: object) -> None:
    _targets.clear()


for _model in ("SlaTarget", "Calendar", "CalendarWindow", "CalendarHoliday", "CalendarExtraDay"):
    models.signals.post_save.connect(forget_targets, sender=f"severity.{_model}", weak=False)
    models.signals.post_delete.connect(forget_targets, sender=f"severity.{_model}", weak=False)


__all__ = [
    "Calendar",
    "SlaTarget",
    "business_calendar",
    "target_for",
]

"""Django admin for business calendars and SLA targets: supervisors edit policy as data."""

from __future__ import annotations

from django.contrib import admin
from django.forms import ModelForm
from django.forms.formsets import BaseFormSet
from django.http import HttpRequest
from django.utils import timezone

from severity.models import (
    Calendar,
    CalendarExtraDay,
    CalendarHoliday,
    CalendarWindow,
    SlaTarget,
)


class CalendarWindowInline(admin.TabularInline):
    model = CalendarWindow
    extra = 0


class CalendarHolidayInline(admin.TabularInline):
    model = CalendarHoliday
    extra = 0


class CalendarExtraDayInline(admin.TabularInline):
    model = CalendarExtraDay
    extra = 0


@admin.register(Calendar)
class CalendarAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "time_zone",
        "uses_organization_time_zone",
        "extra_day_template",
        "updated_at",
    )
    list_filter = ("uses_organization_time_zone", "time_zone")
    search_fields = ("name",)
    readonly_fields = ("updated_at",)
    inlines = (CalendarWindowInline, CalendarHolidayInline, CalendarExtraDayInline)

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: list[BaseFormSet], change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        # Every process caches the pure BusinessCalendar keyed on the row's updated_at
        # (severity.models.business_calendar), and that cache is built from the windows,
        # holidays and extra days saved just above. The parent's auto_now was stamped in
        # save_model, before those inline rows were written; stamping again here ties
        # the key to the last write of the edit, so an inline-only change (a holiday
        # added, a window moved) can never leave every worker on its old calendar.
        Calendar.objects.filter(pk=form.instance.pk).update(updated_at=timezone.now())


@admin.register(SlaTarget)
class SlaTargetAdmin(admin.ModelAdmin):
    list_display = (
        "severity",
        "category",
        "calendar",
        "first_response",
        "update_cadence",
        "cooperation_window",
    )
    list_filter = ("severity", "category", "calendar")
    list_select_related = ("calendar",)
    search_fields = ("=severity", "=category", "calendar__name")
    readonly_fields = ("updated_at",)

    # Every kind of request is measured against its target (tickets.clocks, the expected
    # wait): without the row, filing that kind would fail. Targets are edited, not removed.
    def has_delete_permission(self, request: HttpRequest, obj: SlaTarget | None = None) -> bool:
        return False

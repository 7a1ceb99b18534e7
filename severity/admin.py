"""Django admin for business calendars and SLA policies.

Calendars are edited here or on the desk: every change bumps the calendar's revision
(severity.models), every process picks it up, and the sweep re-measures the open
tickets on it. Policies are versioned: a version is drafted, previewed and published on
the desk (``slapolicies``), which records who changed what; here they are read-only."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from severity.models import (
    Calendar,
    CalendarExtraDay,
    CalendarHoliday,
    CalendarWindow,
    SlaPolicy,
    SlaPolicyVersion,
    SlaTarget,
)


class _ViewOnly:
    """View permission only (the desk's policy editor writes, with versions and audit)."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


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
        "holiday_country",
        "revision",
        "updated_at",
    )
    list_filter = ("uses_organization_time_zone", "time_zone")
    search_fields = ("name",)
    readonly_fields = ("updated_at", "revision")
    inlines = (CalendarWindowInline, CalendarHolidayInline, CalendarExtraDayInline)


class SlaTargetInline(_ViewOnly, admin.TabularInline):
    model = SlaTarget
    extra = 0
    fields = ("severity", "category", "calendar", "first_response", "update_cadence")


@admin.register(SlaPolicyVersion)
class SlaPolicyVersionAdmin(_ViewOnly, admin.ModelAdmin):
    list_display = ("policy", "number", "published_at", "created_by", "note")
    list_filter = ("policy",)
    list_select_related = ("policy", "created_by")
    search_fields = ("policy__name", "note")
    inlines = (SlaTargetInline,)


@admin.register(SlaPolicy)
class SlaPolicyAdmin(_ViewOnly, admin.ModelAdmin):
    list_display = ("name", "is_default", "contract", "current_version")
    list_filter = ("is_default", "contract")
    list_select_related = ("current_version",)
    search_fields = ("name",)


@admin.register(SlaTarget)
class SlaTargetAdmin(_ViewOnly, admin.ModelAdmin):
    list_display = (
        "version",
        "severity",
        "category",
        "calendar",
        "first_response",
        "update_cadence",
        "cooperation_window",
    )
    list_filter = ("version__policy", "severity", "category", "calendar")
    list_select_related = ("calendar", "version__policy")
    search_fields = ("=severity", "=category", "calendar__name")

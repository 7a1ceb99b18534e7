from typing import Any

from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils import timezone

from audit import services as audit
from audit.actions import Action
from core.admin import ReadOnlyAdminMixin
from severity.admin import CalendarAdmin
from severity.models import Calendar
from slapolicies.models import PolicyChange
from tenants.access import signed_in_user


@admin.register(PolicyChange)
class PolicyChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit trail: written only by slapolicies.services, never edited."""

    list_display = (
        "created_at",
        "action",
        "actor",
        "policy",
        "version",
        "calendar",
        "organization",
    )
    list_filter = ("action", "policy", "calendar")
    search_fields = ("actor__email", "policy__name", "calendar__name", "organization__name")
    date_hierarchy = "created_at"
    list_select_related = ("actor", "policy", "version__policy", "calendar", "organization")


class AuditedCalendarAdmin(CalendarAdmin):
    """severity's calendar admin, with an audit row for every change made through it
    (issue 17): the calendar's own fields before and after, and which of its working
    windows, holidays and extra days were changed. severity sits below the audit trail,
    so its admin is extended here."""

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        calendar = form.instance
        fields = list(form.changed_data)
        parts = sorted(
            str(formset.model._meta.verbose_name_plural)
            for formset in formsets
            if formset.has_changed()
        )
        if change and not fields and not parts:
            return
        audit.record(
            action=Action.CALENDAR_CHANGED,
            actor=signed_in_user(request),
            target=calendar,
            target_label=calendar.name,
            before={name: str(form.initial.get(name)) for name in fields} if change else {},
            after={
                **{name: str(form.cleaned_data.get(name)) for name in fields},
                **({"changed": parts} if parts else {}),
                **({} if change else {"created": True}),
            },
            now=timezone.now(),
        )

    def delete_model(self, request: HttpRequest, obj: Calendar) -> None:
        with transaction.atomic():
            audit.record(
                action=Action.CALENDAR_CHANGED,
                actor=signed_in_user(request),
                target=obj,
                target_label=obj.name,
                after={"deleted": True},
                now=timezone.now(),
            )
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Calendar]) -> None:
        for calendar in queryset:
            self.delete_model(request, calendar)


admin.site.unregister(Calendar)
admin.site.register(Calendar, AuditedCalendarAdmin)

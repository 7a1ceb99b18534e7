"""Django admin for service requests: look, never touch.

``tickets.services`` is the only writer of a ticket, its messages and its Events: each
change there is validated, recomputes the SLA clocks and records who did it. A form in
the admin would skip all of that, so every model here is view-only — no add, no change,
no delete, for superusers too. Staff change tickets on the desk.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdminMixin
from tenants.access import signed_in_user
from tickets.macros import macro_delete, macro_save
from tickets.models import (
    Attachment,
    Event,
    Macro,
    Message,
    Rating,
    Ticket,
    WorkerHeartbeat,
    parse_reference,
)


class MessageInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Message
    extra = 0
    fields = ("created_at", "kind", "author_role", "author", "body")
    ordering = ("created_at", "pk")
    show_change_link = True


class EventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Event
    extra = 0
    fields = ("created_at", "kind", "actor_kind", "actor_label", "before", "after", "reason")
    ordering = ("created_at", "pk")
    show_change_link = True


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "reference",
        "title",
        "organization",
        "severity",
        "status",
        "category",
        "assignee",
        "escalation_level",
        "response_due_at",
        "created_at",
    )
    list_display_links = ("reference", "title")
    list_filter = ("severity", "status", "category", "channel", "escalation_level", "organization")
    list_select_related = ("organization", "assignee")
    search_fields = ("title", "contact_email")
    search_help_text = _("Title, contact e-mail or reference (SR-000123 or 123).")
    date_hierarchy = "created_at"
    autocomplete_fields = ("organization", "product", "assignee", "created_by")
    readonly_fields = ("reference", "clock_version")
    fieldsets = (
        (None, {"fields": ("reference", "organization", "title", "description")}),
        (
            _("Classification"),
            {"fields": ("category", "product", "channel", "language", "caller_phone")},
        ),
        (
            _("Severity"),
            {
                "fields": (
                    "severity",
                    "original_severity",
                    "severity_reason",
                    "impact",
                    "scope",
                    "business_impact",
                    "contact_24x7",
                )
            },
        ),
        (
            _("Handling"),
            {"fields": ("status", "assignee", "escalation_level", "created_by")},
        ),
        (_("Contact"), {"fields": ("contact_email", "contact_phone", "preferred_contact")}),
        (
            _("SLA clocks"),
            {
                "fields": (
                    "response_due_at",
                    "customer_due_at",
                    "first_response_at",
                    "last_agent_update_at",
                    "clock_version",
                )
            },
        ),
        (
            _("Timestamps"),
            {"fields": ("created_at", "updated_at", "resolved_at", "closed_at")},
        ),
    )
    inlines = (MessageInline, EventInline)

    @admin.display(description=_("reference"), ordering="pk")
    def reference(self, ticket: Ticket) -> str:
        return ticket.reference

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Ticket], search_term: str
    ) -> tuple[QuerySet[Ticket], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # A support reference ("SR-000123", "000123", "123") is the primary key.
        number = parse_reference(search_term) if search_term else None
        if number is not None:
            results |= queryset.filter(pk=number)
        return results, may_have_duplicates


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("original_name", "ticket", "content_type", "size", "uploaded_by", "created_at")
    list_filter = ("content_type",)
    list_select_related = ("ticket", "uploaded_by")
    search_fields = ("original_name", "ticket__title")
    date_hierarchy = "created_at"


@admin.register(Rating)
class RatingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The customers' satisfaction ratings (POL-ROLE-2), for supervisors' reports."""

    list_display = ("ticket", "score", "rated_by", "created_at")
    list_filter = ("score",)
    list_select_related = ("ticket", "rated_by")
    search_fields = ("comment", "ticket__title")
    date_hierarchy = "created_at"


@admin.register(Message)
class MessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("ticket", "kind", "author_role", "author", "created_at")
    list_filter = ("kind", "author_role")
    list_select_related = ("ticket", "author")
    search_fields = ("body", "author__email", "ticket__title")
    date_hierarchy = "created_at"


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "kind",
        "ticket",
        "organization",
        "actor_kind",
        "actor_label",
        "delivered_at",
    )
    list_filter = (
        "kind",
        "actor_kind",
        ("delivered_at", admin.EmptyFieldListFilter),
        "organization",
    )
    list_select_related = ("ticket", "organization")
    search_fields = ("reason", "actor_label")
    date_hierarchy = "created_at"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Event], search_term: str
    ) -> tuple[QuerySet[Event], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        number = parse_reference(search_term) if search_term else None
        if number is not None:
            results |= queryset.filter(ticket_id=number)
        return results, may_have_duplicates


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin):
    """Canned replies are plain content, not ticket state: supervisors edit them here."""

    list_display = ("name", "language", "is_active", "position", "updated_at")
    list_editable = ("is_active", "position")
    list_filter = ("language", "is_active")
    search_fields = ("name", "body")

    # Through tickets.macros, which audits each creation, change and deletion (the list's
    # editable columns save through save_model too).
    def save_model(self, request: HttpRequest, obj: Macro, form: Any, change: bool) -> None:
        macro_save(macro=obj, actor=signed_in_user(request), now=timezone.now())

    def delete_model(self, request: HttpRequest, obj: Macro) -> None:
        macro_delete(macro=obj, actor=signed_in_user(request), now=timezone.now())

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Macro]) -> None:
        for macro in queryset:
            self.delete_model(request, macro)


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "last_run_at", "last_duration_ms", "acted")
    list_filter = ("name",)
    search_fields = ("name",)

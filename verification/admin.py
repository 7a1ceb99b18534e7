"""Django admin for provider staff: the verification records, read-only.

Everything here is written by ``verification.services``; the admin only reads, except
the "Unlock" action, which calls ``pin_unlock`` (supervisors only, audited). The salt
and hash of a code are never shown.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdminMixin
from tenants.access import signed_in_user
from verification.models import Call, OrganizationPinState, PinChallenge, VerificationEvent
from verification.services import VerificationError, pin_unlock


@admin.register(Call)
class CallAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "started_at",
        "organization",
        "agent",
        "caller_number",
        "verified_by",
        "ended_at",
    )
    list_filter = ("verified_by", "organization")
    search_fields = ("organization__name", "agent__email", "caller_number")
    list_select_related = ("organization", "agent")
    date_hierarchy = "started_at"


@admin.register(PinChallenge)
class PinChallengeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "organization",
        "agent",
        "channel_label",
        "wrong_attempts",
        "used_at",
        "voided_at",
        "expires_at",
    )
    list_filter = ("channel_kind", "organization")
    search_fields = ("organization__name", "agent__email", "channel_label")
    list_select_related = ("organization", "agent")
    exclude = ("salt", "code_hash")


@admin.register(OrganizationPinState)
class OrganizationPinStateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "organization",
        "consecutive_failures",
        "locked_at",
        "unlocked_by",
        "unlocked_at",
    )
    list_filter = (("locked_at", admin.EmptyFieldListFilter),)
    search_fields = ("organization__name",)
    list_select_related = ("organization", "unlocked_by")
    actions = ("unlock",)

    @admin.action(description=_("Unlock verification codes"))
    def unlock(self, request: HttpRequest, queryset: QuerySet[OrganizationPinState]) -> None:
        for state in queryset.select_related("organization"):
            try:
                pin_unlock(
                    organization=state.organization,
                    supervisor=signed_in_user(request),
                    now=timezone.now(),
                )
            except VerificationError as refused:
                self.message_user(
                    request, f"{state.organization}: {refused.message}", messages.WARNING
                )
            else:
                self.message_user(
                    request,
                    _("%(organization)s: verification codes unlocked.")
                    % {"organization": state.organization},
                    messages.SUCCESS,
                )

    def get_actions(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        # The action must show although the model is read-only.
        actions = super().get_actions(request, *args, **kwargs)
        if not signed_in_user(request).is_supervisor:
            actions.pop("unlock", None)
        return actions


@admin.register(VerificationEvent)
class VerificationEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "organization", "kind", "reason", "agent_label", "channel")
    list_filter = ("kind", "reason", "organization")
    search_fields = ("organization__name", "agent_label", "channel", "outcome")
    list_select_related = ("organization",)
    date_hierarchy = "created_at"

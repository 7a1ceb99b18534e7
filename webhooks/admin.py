"""Webhooks in the Django admin: provider staff look at endpoints and the delivery log.

Endpoints are registered and edited by the organization's admins (who see the secret
once); staff may switch one off or on, or delete it, through ``webhooks.services`` as the
portal and the API do. The delivery log is evidence and read-only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin import ReadOnlyAdminMixin, ServiceAdminMixin, has_model_permission
from tenants.models import User
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import endpoint_delete, endpoint_set_active


def _staff(request: HttpRequest) -> User | None:
    """Who acted, for the audit trail (the admin's pages are for signed-in staff)."""
    return request.user if isinstance(request.user, User) else None


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("url", "organization", "is_active", "circuit_display", "created_at")
    list_filter = ("is_active",)
    search_fields = ("url", "organization__name", "organization__slug")
    readonly_fields = (
        "organization",
        "url",
        "event_types",
        "created_by",
        "created_at",
        "circuit_display",
        "consecutive_failures",
        "circuit_open_until",
    )
    exclude = ("secret",)
    actions = ("deactivate", "activate")

    @admin.display(description=_("circuit breaker"))
    def circuit_display(self, obj: WebhookEndpoint) -> str:
        return str(obj.circuit_state.label)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # registered by the organization's admins, who see the secret once

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the organization's own settings; staff only switch it off or on

    def has_switch_permission(self, request: HttpRequest) -> bool:
        return has_model_permission(request, WebhookEndpoint, "change")

    def _switch(self, request: HttpRequest, queryset: QuerySet, *, active: bool) -> int:
        switched = 0
        # Activating also closes an endpoint's circuit breaker, as its admin's switch does.
        chosen = queryset if active else queryset.filter(is_active=True)
        for endpoint in chosen:
            if active and endpoint.is_active and endpoint.circuit_open_until is None:
                continue
            endpoint_set_active(endpoint=endpoint, active=active, actor=_staff(request))
            self.log_change(request, endpoint, "Activated." if active else "Deactivated.")
            switched += 1
        return switched

    @admin.action(description=_("Deactivate the selected endpoints"), permissions=("switch",))
    def deactivate(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        count = self._switch(request, queryset, active=False)
        self.message_user(
            request,
            ngettext("%(count)d endpoint deactivated.", "%(count)d endpoints deactivated.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Activate the selected endpoints"), permissions=("switch",))
    def activate(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        count = self._switch(request, queryset, active=True)
        self.message_user(
            request,
            ngettext("%(count)d endpoint activated.", "%(count)d endpoints activated.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    def delete_model(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        endpoint_delete(endpoint=obj, actor=_staff(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            endpoint_delete(endpoint=endpoint, actor=_staff(request))


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("event_type", "endpoint", "status", "attempts", "last_response_code")
    list_filter = ("status", "event_type")
    search_fields = ("endpoint__url", "endpoint__organization__slug", "last_error")
    list_select_related = ("endpoint",)

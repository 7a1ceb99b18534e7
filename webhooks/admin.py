"""Webhooks in the Django admin: provider staff look at endpoints and the delivery log."""

from __future__ import annotations

from django.contrib import admin

from webhooks.models import WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("url", "organization", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("url", "organization__name", "organization__slug")
    readonly_fields = ("organization", "url", "event_types", "created_by", "created_at")
    exclude = ("secret",)

    def has_add_permission(self, request: object) -> bool:
        return False  # registered by the organization's admins, who see the secret once


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("event_type", "endpoint", "status", "attempts", "last_response_code")
    list_filter = ("status", "event_type")
    search_fields = ("endpoint__url", "endpoint__organization__slug", "last_error")
    list_select_related = ("endpoint",)
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

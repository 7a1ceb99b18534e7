"""Webhook settings, relative to ``/portal/<org>/settings/webhooks/``; inside the
``portal`` namespace."""

from django.urls import path

from webhooks import portal_views

urlpatterns = [
    path("", portal_views.endpoints, name="settings_webhooks"),
    path("<int:endpoint>/", portal_views.endpoint_detail, name="settings_webhook"),
    path(
        "<int:endpoint>/deliveries/<int:delivery>/resend/",
        portal_views.delivery_resend,
        name="settings_webhook_resend",
    ),
]

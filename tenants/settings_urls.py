"""Organization settings for global admins, relative to ``/portal/<org>/settings/``.
Mounted inside the ``portal`` namespace."""

from django.urls import include, path

from tenants import api_key_views, audit_views, settings_views

urlpatterns = [
    path("members/", settings_views.members, name="settings_members"),
    path("members/<int:member>/", settings_views.member, name="settings_member"),
    path(
        "members/<int:member>/remove/", settings_views.member_remove, name="settings_member_remove"
    ),
    path("security/", settings_views.security, name="settings_security"),
    path("api-keys/", api_key_views.api_keys, name="settings_api_keys"),
    path(
        "api-keys/<int:key>/revoke/",
        api_key_views.api_key_revoke_view,
        name="settings_api_key_revoke",
    ),
    path("webhooks/", include("webhooks.portal_urls")),
    path("audit/", audit_views.audit_trail, name="settings_audit"),
    path("audit.csv", audit_views.audit_trail_csv, name="settings_audit_csv"),
]

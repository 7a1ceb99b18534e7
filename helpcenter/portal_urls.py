"""Self-help routes of the portal (service health, help articles, phone lines), relative to
``/portal/<org>/``. Mounted inside the ``portal`` namespace."""

from django.urls import path

from helpcenter import portal_views

urlpatterns = [
    path("health/", portal_views.incidents, name="incidents"),
    path("health/incidents/<int:incident>/", portal_views.incident_detail, name="incident"),
    path(
        "health/for-service/",
        portal_views.incidents_for_service,
        name="incidents_for_service",
    ),
    path("help/", portal_views.help_home, name="help"),
    path("help/suggest/", portal_views.help_suggest, name="help_suggest"),
    path("help/articles/<slug:article>/", portal_views.help_article, name="help_article"),
    path("phone/", portal_views.phone, name="phone"),
]

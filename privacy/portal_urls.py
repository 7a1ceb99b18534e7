"""Privacy in the portal's settings (``/portal/<org>/settings/privacy/…``): an
organization's global admins."""

from django.urls import path

from privacy import views

app_name = "privacy_portal"

urlpatterns = [
    path("", views.portal_home, name="home"),
    path("members/<int:member>/erase/", views.portal_erase, name="erase"),
    path("mine/", views.portal_mine, name="mine"),
    path("exports/<int:export>/", views.portal_export, name="export"),
    path("exports/<int:export>/progress/", views.portal_export_progress, name="export_progress"),
    path("exports/<int:export>/download/", views.portal_export_download, name="export_download"),
]

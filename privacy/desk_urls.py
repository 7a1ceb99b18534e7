"""Privacy on the desk (``/desk/privacy/…``): supervisors only."""

from django.urls import path

from privacy import views

app_name = "privacy"

urlpatterns = [
    path("", views.desk_home, name="home"),
    path("people/<int:person>/erase/", views.desk_erase, name="erase"),
    path("exports/<int:export>/", views.desk_export, name="export"),
    path("exports/<int:export>/progress/", views.desk_export_progress, name="export_progress"),
    path("exports/<int:export>/download/", views.desk_export_download, name="export_download"),
]

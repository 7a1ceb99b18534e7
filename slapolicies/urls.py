from django.urls import path

from slapolicies import views

app_name = "slapolicies"

urlpatterns = [
    path("", views.policies, name="policies"),
    path("policies/<int:policy>/", views.policy, name="policy"),
    path("policies/<int:policy>/new-version/", views.version_new, name="version_new"),
    path("versions/<int:version>/", views.version, name="version"),
    path("versions/<int:version>/review/", views.review, name="review"),
    path("versions/<int:version>/discard/", views.version_discard, name="version_discard"),
    path("previews/<int:preview>/", views.review_preview, name="review_preview"),
    path("organizations/", views.assign, name="assign"),
    path("jobs/<int:job>/", views.job, name="job"),
    path("jobs/<int:job>/progress/", views.job_progress, name="job_progress"),
    path("calendars/", views.calendars, name="calendars"),
    path("calendars/<int:calendar>/", views.calendar, name="calendar"),
    path("calendars/<int:calendar>/windows/", views.calendar_windows, name="windows"),
    path("calendars/<int:calendar>/holidays/", views.holiday_add, name="holiday_add"),
    path("calendars/<int:calendar>/holidays/remove/", views.holiday_remove, name="holiday_remove"),
    path("calendars/<int:calendar>/extra-days/", views.extra_day_add, name="extra_day_add"),
    path(
        "calendars/<int:calendar>/extra-days/remove/",
        views.extra_day_remove,
        name="extra_day_remove",
    ),
    path("calendars/<int:calendar>/import/public/", views.import_public, name="import_public"),
    path("calendars/<int:calendar>/import/ics/", views.import_ics, name="import_ics"),
]

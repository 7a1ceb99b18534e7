"""The desk's "Phone call" pages, mounted at ``/desk/calls/`` (namespace ``calls``)."""

from django.urls import path

from verification import desk_views

app_name = "calls"

urlpatterns = [
    path("", desk_views.start, name="start"),
    path("<int:call>/verify/", desk_views.verify, name="verify"),
    path("<int:call>/account/", desk_views.account, name="account"),
    path("<int:call>/intake/", desk_views.intake, name="intake"),
    path("<int:call>/end/", desk_views.end, name="end"),
]

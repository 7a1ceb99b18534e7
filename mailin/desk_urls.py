"""The desk's view of incoming mail, mounted at ``/desk/mail/`` (namespace ``mailin``)."""

from django.urls import path

from mailin import desk_views

app_name = "mailin"

urlpatterns = [
    path("<str:number>/<int:mail>/", desk_views.original, name="original"),
]

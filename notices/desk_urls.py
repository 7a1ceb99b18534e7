"""The desk's notices, mounted at ``/desk/notices/`` (namespace ``notices``)."""

from django.urls import path

from notices import views

app_name = "notices"

urlpatterns = [
    path("", views.notice_list, name="list"),
    path("bell/", views.bell, name="bell"),
    path("read/", views.read, name="read"),
    path("read-all/", views.read_all, name="read_all"),
    path("preferences/", views.preferences, name="preferences"),
    path("follow/<str:number>/", views.follow, name="follow"),
]

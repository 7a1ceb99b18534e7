"""A request's "kept informed" page, at ``/portal/<org>/requests/<number>/cc/``."""

from django.urls import path

from notices import views

app_name = "cc"

urlpatterns = [
    path("", views.cc, name="manage"),
]

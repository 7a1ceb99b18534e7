from django.urls import path

from tickets import desk_views

app_name = "desk"

urlpatterns = [
    path("", desk_views.home, name="home"),
]

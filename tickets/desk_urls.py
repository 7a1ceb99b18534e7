from django.urls import path

from tickets import desk_views

app_name = "desk"

urlpatterns = [
    path("", desk_views.home, name="home"),
    path("tickets/<str:number>/", desk_views.ticket_detail, name="ticket"),
    path("tickets/<str:number>/severity/", desk_views.ticket_severity, name="ticket_severity"),
]

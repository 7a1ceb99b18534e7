from django.urls import path

from tickets import desk_audit_views, desk_search_views, desk_views

app_name = "desk"

urlpatterns = [
    path("", desk_views.home, name="home"),
    path("queue/rows/", desk_views.queue_rows, name="queue_rows"),
    path("queue/assign/", desk_views.bulk_assign, name="bulk_assign"),
    path("queue/density/", desk_views.queue_density, name="queue_density"),
    path("views/", desk_views.saved_view_create, name="saved_view_create"),
    path("views/<int:view>/delete/", desk_views.saved_view_delete, name="saved_view_delete"),
    path("requests/", desk_search_views.all_requests, name="requests"),
    path("tickets/<str:number>/", desk_views.ticket_detail, name="ticket"),
    path("tickets/<str:number>/severity/", desk_views.ticket_severity, name="ticket_severity"),
    path("tickets/<str:number>/reply/", desk_views.ticket_reply, name="ticket_reply"),
    path("tickets/<str:number>/note/", desk_views.ticket_note, name="ticket_note"),
    path("tickets/<str:number>/presence/", desk_views.ticket_presence, name="ticket_presence"),
    path(
        "tickets/<str:number>/files/<int:attachment>/",
        desk_views.ticket_attachment,
        name="ticket_attachment",
    ),
    path("tickets/<str:number>/escalate/", desk_views.ticket_escalate, name="ticket_escalate"),
    path("tickets/<str:number>/resolve/", desk_views.ticket_resolve, name="ticket_resolve"),
    path("tickets/<str:number>/reopen/", desk_views.ticket_reopen, name="ticket_reopen"),
    path("tickets/<str:number>/assign/", desk_views.ticket_assign, name="ticket_assign"),
    path("reports/", desk_views.reports, name="reports"),
    path("reports/<slug:report>.csv", desk_views.reports_csv, name="reports_csv"),
    path("audit/", desk_audit_views.audit_trail, name="audit"),
    path("audit.csv", desk_audit_views.audit_trail_csv, name="audit_csv"),
]

from django.urls import include, path

from tenants import account_views
from tickets import portal_reports, portal_views

app_name = "portal"

urlpatterns = [
    path("", portal_views.home, name="home"),
    path("requests/", portal_views.request_list, name="request_list"),
    # Before the request page's pattern, which would take "new" as a request number.
    path("requests/new/", portal_views.request_new, name="request_new"),
    path("requests/new/assess/", portal_views.request_assess, name="request_assess"),
    path("requests/<str:number>/", portal_views.request_detail, name="request_detail"),
    path(
        "requests/<str:number>/assessment/",
        portal_views.request_assess_email,
        name="request_assess_email",
    ),
    path(
        "requests/<str:number>/files/<int:attachment>/",
        portal_views.attachment_download,
        name="attachment_download",
    ),
    path("report/", portal_reports.service_report, name="service_report"),
    # The member's own settings: the time zone the portal shows times in.
    path("account/", account_views.account, name="account"),
    path("contacts/", include("tenants.portal_urls")),
    path("settings/", include("tenants.settings_urls")),
    path("", include("helpcenter.portal_urls")),
]

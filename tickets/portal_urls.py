from django.urls import include, path

from tickets import portal_views

app_name = "portal"

urlpatterns = [
    path("", portal_views.home, name="home"),
    path("requests/", portal_views.request_list, name="request_list"),
    path("requests/<str:number>/", portal_views.request_detail, name="request_detail"),
    path("contacts/", include("tenants.portal_urls")),
    path("settings/", include("tenants.settings_urls")),
    path("", include("helpcenter.portal_urls")),
]

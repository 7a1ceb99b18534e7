"""The site's routes with staff single sign-on routed, as supportdesk.urls routes them when
OIDC_RP_CLIENT_ID is set at start-up (the test process starts without it)."""

from django.urls import include, path

from supportdesk.urls import urlpatterns as site

urlpatterns = [
    *(route for route in site if str(route.pattern) != "accounts/sso/"),
    path("accounts/sso/", include("supportdesk.sso_urls")),
]

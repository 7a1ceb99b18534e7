"""The site's routes with staff single sign-on routed, and its sign-out, as supportdesk.urls
routes them when OIDC_RP_CLIENT_ID is set at start-up (the test process starts without it)."""

from django.urls import include, path

from supportdesk.sso import SignOutView
from supportdesk.urls import urlpatterns as site

CONFIGURED = {"accounts/sso/", "accounts/logout/"}

urlpatterns = [
    *(route for route in site if str(route.pattern) not in CONFIGURED),
    path("accounts/logout/", SignOutView.as_view(), name="logout"),
    path("accounts/sso/", include("supportdesk.sso_urls")),
]

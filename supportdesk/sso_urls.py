"""Staff single sign-on (supportdesk.sso): routed by supportdesk.urls only when configured."""

from django.urls import path

from supportdesk import sso

app_name = "sso"

urlpatterns = [
    path("start/", sso.StartView.as_view(), name="start"),
    path("callback/", sso.CallbackView.as_view(), name="callback"),
]

"""``/accounts/`` second-factor pages (namespace ``mfa``)."""

from django.urls import path

from mfa import views

app_name = "mfa"

urlpatterns = [
    path("verify/", views.verify, name="verify"),
    path("security/", views.security, name="security"),
    path("security/app/", views.app_add, name="app_add"),
    path("security/recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path(
        "security/<slug:kind>/<int:factor>/remove/",
        views.factor_remove,
        name="factor_remove",
    ),
]

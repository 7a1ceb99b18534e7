from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from core import metrics
from supportdesk import devmail, health, sso, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    # Pages link the icon (base.html); this answers the browsers that ask for it anyway.
    path(
        "favicon.ico",
        RedirectView.as_view(url=lazy(static, str)("favicon.svg"), permanent=True),
        name="favicon",
    ),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path(
        "accounts/logout/",
        # With single sign-on, signing out of its session ends the provider's too.
        sso.SignOutView.as_view() if settings.SSO_ENABLED else auth_views.LogoutView.as_view(),
        name="logout",
    ),
    # The second step of signing in and the security page (mfa), and the passkeys' JSON
    # endpoints (django-otp-webauthn).
    path("accounts/", include("mfa.urls")),
    path("accounts/passkeys/", include("mfa.passkey_urls")),
    path(
        "accounts/password-reset/",
        auth_views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("i18n/", include("django.conf.urls.i18n")),
    # The one-click ratings of the resolved e-mail: public, the signed token is the key.
    path("rate/", include("tickets.survey_urls")),
    path("portal/<slug:org>/", include("tickets.portal_urls")),
    path("desk/calls/", include("verification.desk_urls")),
    path("desk/notices/", include("notices.desk_urls")),
    path("desk/mail/", include("mailin.desk_urls")),
    path("desk/sla/", include("slapolicies.urls")),
    path("desk/privacy/", include("privacy.desk_urls")),
    path("portal/<slug:org>/settings/privacy/", include("privacy.portal_urls")),
    path("portal/<slug:org>/requests/<str:number>/cc/", include("notices.portal_urls")),
    path("desk/", include("tickets.desk_urls")),
    path("api/v1/", include("supportdesk.api_urls")),
    path("admin/", admin.site.urls),
]

if settings.SSO_ENABLED:
    # Staff single sign-on (OpenID Connect): routed only when configured (supportdesk.sso).
    urlpatterns.append(path("accounts/sso/", include("supportdesk.sso_urls")))

if devmail.enabled():
    # Development only: the mail the file backend wrote. Never routed in production.
    urlpatterns.append(path("dev/mail/", devmail.sent_mail, name="dev_mail"))

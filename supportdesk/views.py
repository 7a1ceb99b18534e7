from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from mfa.factors import factor_state
from supportdesk import sso
from tenants.models import Membership, User


def landing_url(user: User) -> str:
    """Where a person lands after signing in: the desk for staff, their portal otherwise."""
    if user.is_agent:
        return reverse("desk:home")
    membership = (
        Membership.objects.filter(user=user).select_related("organization").order_by("pk").first()
    )
    if membership is not None:
        return reverse("portal:home", kwargs={"org": membership.organization.slug})
    if user.is_staff:
        return reverse("admin:index")
    return ""


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user  # signed in (login_required): a User, never AnonymousUser
    target = landing_url(user) if isinstance(user, User) else ""
    if target:
        return redirect(target)
    return render(request, "no_organization.html")


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        # Staff single sign-on's button, when it is configured (supportdesk.sso).
        context["sso_enabled"] = sso.enabled()
        context["sso_name"] = sso.provider_name()
        return context

    def get_success_url(self) -> str:
        """After the password, a person with a second factor passes it next
        (``mfa.views.verify``), then goes where they were going."""
        target = super().get_success_url()
        user = self.request.user
        if isinstance(user, User) and factor_state(user).has_factor:
            return f"{reverse('mfa:verify')}?{urlencode({'next': target})}"
        return target


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, object] | None = None,
) -> HttpResponse:
    """django-axes' lockout answer: a page that says how long the pause lasts (429)."""
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    return render(request, "registration/locked_out.html", {"cooloff_minutes": minutes}, status=429)

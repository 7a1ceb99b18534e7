from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

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
    target = landing_url(request.user)  # type: ignore[arg-type]
    if target:
        return redirect(target)
    return render(request, "no_organization.html")


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

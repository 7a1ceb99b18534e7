from __future__ import annotations

from django.http import HttpRequest

from tenants.models import Membership


def navigation(request: HttpRequest) -> dict[str, object]:
    """The organizations the signed-in person can switch between, for the header."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    memberships = getattr(request, "_nav_memberships", None)
    if memberships is None:
        memberships = list(
            Membership.objects.filter(user=user)
            .select_related("organization")
            .order_by("organization__name")
        )
        request._nav_memberships = memberships  # type: ignore[attr-defined]
    return {"nav_memberships": memberships}

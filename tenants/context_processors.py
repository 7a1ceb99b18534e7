from __future__ import annotations

from django.http import HttpRequest

from tenants.models import Membership

# The memberships are read once per request, however many templates render.
_CACHE_ATTRIBUTE = "_nav_memberships"


def navigation(request: HttpRequest) -> dict[str, object]:
    """The organizations the signed-in person can switch between, for the header."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    memberships = getattr(request, _CACHE_ATTRIBUTE, None)
    if memberships is None:
        memberships = list(
            Membership.objects.filter(user=user)
            .select_related("organization")
            .order_by("organization__name")
        )
        setattr(request, _CACHE_ATTRIBUTE, memberships)
    return {"nav_memberships": memberships}

"""Whose clock a page reads: the person's own zone, else their organization's (a
customer) or the desk's (staff, ``settings.TIME_ZONE``); UTC for anyone signed out."""

from __future__ import annotations

import functools
import zoneinfo
from zoneinfo import ZoneInfo

from babel.core import get_global
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from core import moments
from tenants.models import Membership, Organization, User

UTC = ZoneInfo("UTC")


def desk_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE or "UTC")


@functools.cache
def known_zones() -> frozenset[str]:
    # available_timezones() walks the zone files on every call.
    return frozenset(zoneinfo.available_timezones())


def zone_for(
    user: User | AnonymousUser,
    *,
    organization: Organization | None = None,
    look_up_organization: bool = True,
) -> ZoneInfo:
    """The zone ``user`` reads times in. ``organization``: the tenant the page is about
    (the portal's URL names it); without it a customer's first organization counts, read
    from the database unless ``look_up_organization`` is false (then UTC)."""
    if not isinstance(user, User) or not user.is_authenticated:
        return UTC
    if user.time_zone in known_zones():
        return ZoneInfo(user.time_zone)
    if user.is_agent:
        return desk_zone()
    if organization is None and not look_up_organization:
        return UTC
    if organization is None:
        organization = (
            Organization.objects.filter(
                pk__in=Membership.objects.filter(user=user).values("organization_id")
            )
            .order_by("pk")
            .first()
        )
    return organization.zone if organization is not None else UTC


_REGIONS = (
    "Africa/",
    "America/",
    "Antarctica/",
    "Asia/",
    "Atlantic/",
    "Australia/",
    "Europe/",
    "Indian/",
    "Pacific/",
)


def zone_choices() -> list[tuple[str, str]]:
    """The zones a person picks from, named by place in the active language ("Warsaw,
    Poland"), sorted by that name; old aliases (US/Eastern, Asia/Calcutta) left out."""
    aliases = get_global("zone_aliases")
    keys = [key for key in known_zones() if key.startswith(_REGIONS) and key not in aliases]
    labelled = [(key, moments.zone_place(key)) for key in keys]
    labelled.sort(key=lambda pair: pair[1].casefold())
    return [("UTC", moments.zone_place("UTC")), *labelled]

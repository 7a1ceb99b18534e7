"""Who must show a second factor where: pure rules on plain values (no Django models).

``mfa.middleware`` asks ``area_of`` where a request goes and ``decide`` what to do with
it; the tests check the table without a database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Area(StrEnum):
    OPEN = "open"  # signing in and out, the second step itself, static files
    DESK = "desk"  # /desk/…
    STAFF_API = "staff_api"  # the API's desk and telephony endpoints
    API = "api"  # the rest of the API (organization keys, customers' sessions)
    ADMIN = "admin"  # the Django admin
    PORTAL = "portal"  # /portal/<org>/…
    OTHER = "other"


class Decision(StrEnum):
    PASS = "pass"
    VERIFY = "verify"  # has a factor, not passed in this session: the second step
    ENROL = "enrol"  # must have a factor and has none: the security page


# Paths a signed-in person with an unpassed factor still reaches: how to pass it (or to
# leave), and what every page needs to render.
OPEN_PREFIXES = (
    "/accounts/login/",
    "/accounts/logout/",
    "/accounts/verify/",
    "/accounts/password-reset/",
    "/accounts/reset/",
    "/accounts/passkeys/authentication/",
    "/accounts/passkeys/jsi18n/",
    "/i18n/",
    "/static/",
    "/healthz",
    "/favicon.ico",
    "/metrics",
)
# The API's endpoints for provider staff (supportdesk.api_urls): the desk and telephony.
STAFF_API_PREFIXES = ("/api/v1/desk/", "/api/v1/calls/")
_PORTAL = re.compile(r"^/portal/(?P<org>[-a-zA-Z0-9_]+)/")


@dataclass(frozen=True)
class Where:
    area: Area
    organization_slug: str = ""

    @property
    def is_api(self) -> bool:
        return self.area in {Area.API, Area.STAFF_API}


def area_of(path: str) -> Where:
    if path.startswith(OPEN_PREFIXES):
        return Where(Area.OPEN)
    if path.startswith("/desk/"):
        return Where(Area.DESK)
    if path.startswith(STAFF_API_PREFIXES):
        return Where(Area.STAFF_API)
    if path.startswith("/api/"):
        return Where(Area.API)
    if path.startswith("/admin/"):
        return Where(Area.ADMIN)
    portal = _PORTAL.match(path)
    if portal:
        return Where(Area.PORTAL, portal["org"])
    return Where(Area.OTHER)


def is_staff_account(*, staff_role: str, is_staff: bool, is_superuser: bool) -> bool:
    """Provider staff: agents and supervisors (any staff role), admin-site users and
    superusers. They must always have a second factor."""
    return bool(staff_role) or is_staff or is_superuser


STAFF_AREAS = frozenset({Area.DESK, Area.STAFF_API, Area.ADMIN})


def decide(
    *,
    where: Where,
    verified: bool,
    has_factor: bool,
    staff: bool,
    organization_requires: bool,
) -> Decision:
    """What a signed-in person's request meets.

    ``organization_requires``: the request goes to the portal of an organization that
    requires a second factor of its admins, or to the API with a session acting for one,
    and this person is one of its admins.
    """
    if where.area is Area.OPEN or verified:
        return Decision.PASS
    if has_factor:
        # A factor protects the whole account, not only the places that demand one.
        return Decision.VERIFY
    if staff and where.area in STAFF_AREAS:
        return Decision.ENROL
    # The API with a browser session reaches what the portal does (webhooks, API keys,
    # requests): the requirement holds there too, or the API would be its way around.
    if organization_requires and where.area in (Area.PORTAL, Area.API):
        return Decision.ENROL
    return Decision.PASS

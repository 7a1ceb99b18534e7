"""What every automatic e-mail to an organization's people shares: the headers that keep
responders quiet, and the reader's language."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from tenants.models import Membership, Organization, Role
from tenants.zones import known_zones

# RFC 3834: tells mail servers and out-of-office responders not to auto-reply.
HEADERS = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}
# Which verification message this is, for mail filters (and tests), in any language.
KIND_HEADER = "X-Supportdesk-Message"


def language(code: str | None) -> str:
    available = {language for language, _name in settings.LANGUAGES}
    return code if code in available else settings.LANGUAGE_CODE


def contact_zone(organization: Organization, *, email: str) -> ZoneInfo:
    """The time zone of the member behind a registered e-mail contact: their own, else
    the organization's."""
    own = (
        Membership.objects.filter(
            organization=organization, user__is_active=True, user__email__iexact=email
        )
        .values_list("user__time_zone", flat=True)
        .first()
    )
    if own and own in known_zones():
        return ZoneInfo(own)
    return organization.zone


def contact_language(
    organization: Organization, *, email: str | None = None, phone: Any = None
) -> str:
    """The language of the member behind a registered contact; else of the organization's
    first global admin; else the site's default (English)."""
    members = Membership.objects.filter(organization=organization, user__is_active=True)
    if email:
        match = members.filter(user__email__iexact=email).values_list("user__language", flat=True)
        if found := match.first():
            return language(found)
    if phone:
        match = members.filter(user__phone=phone).values_list("user__language", flat=True)
        if found := match.first():
            return language(found)
    first_admin = (
        members.filter(role=Role.GLOBAL_ADMIN)
        .order_by("created_at", "pk")
        .values_list("user__language", flat=True)
        .first()
    )
    return language(first_admin)

"""Reads for the desk's "Phone call" panel: what the agent may choose, shown masked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from tenants import masking
from tenants.models import Organization
from verification.models import ChannelKind, OrganizationPinState, PinChallenge
from verification.pins import PinPolicy


@dataclass(frozen=True, slots=True)
class ChannelChoice:
    """A registered contact as the agent sees it: masked, with when it can receive codes."""

    kind: ChannelKind
    id: int
    label: str  # masked: ``j***@contoso.com``, ``+48 *** *** 123``
    name: str  # the admin's own label for it ("IT mailbox"), may be empty
    usable_from: datetime
    usable: bool


def channel_choices(*, organization: Organization, now: datetime) -> list[ChannelChoice]:
    """The organization's registered e-mail addresses and phone numbers, e-mail first;
    those still in their 48-hour cool-off are listed with ``usable=False``."""
    choices = [
        ChannelChoice(
            kind=ChannelKind.EMAIL,
            id=contact.pk,
            label=masking.mask_email(contact.email),
            name=contact.label,
            usable_from=contact.active_from,
            usable=contact.active_from <= now,
        )
        for contact in organization.registered_emails.order_by("email")
    ]
    choices += [
        ChannelChoice(
            kind=ChannelKind.PHONE,
            id=contact.pk,
            label=masking.mask_phone(contact.number),
            name=contact.label,
            usable_from=contact.active_from,
            usable=contact.active_from <= now,
        )
        for contact in organization.registered_phones.order_by("number")
    ]
    return choices


def pin_locked(organization: Organization) -> bool:
    return OrganizationPinState.objects.filter(
        organization=organization, locked_at__isnull=False
    ).exists()


@dataclass(frozen=True, slots=True)
class CodeLimit:
    """An organization at one of its code limits: which one, how many codes it allows,
    and the moment the next code may be sent."""

    per: Literal["hour", "day"]
    count: int
    next_at: datetime


_WINDOWS: dict[Literal["hour", "day"], timedelta] = {
    "hour": timedelta(hours=1),
    "day": timedelta(hours=24),
}


def code_limit(*, organization_id: int, now: datetime, policy: PinPolicy) -> CodeLimit | None:
    """None while the organization may be sent a code at ``now``; else the limit that
    holds longest (POLICY.md: 3 codes per organization per hour, 10 per day; every code
    sent counts, delivered or not).

    A code counts in a window while it is younger than the window, so the next code is
    possible once the ``count``-th newest code in the window has aged out of it."""
    newest_first = list(
        PinChallenge.objects.filter(
            organization_id=organization_id, created_at__gt=now - _WINDOWS["day"]
        )
        .order_by("-created_at", "-pk")
        .values_list("created_at", flat=True)[: policy.max_codes_per_day]
    )
    limits: list[CodeLimit] = []
    per: Literal["hour", "day"]
    for per, count in (("hour", policy.max_codes_per_hour), ("day", policy.max_codes_per_day)):
        window = _WINDOWS[per]
        inside = [at for at in newest_first if at > now - window]
        if len(inside) >= count:
            limits.append(CodeLimit(per, count, inside[count - 1] + window))
    return max(limits, key=lambda limit: limit.next_at) if limits else None

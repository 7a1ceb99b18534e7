"""Reads for the desk's "Phone call" panel: what the agent may choose, shown masked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tenants import masking
from tenants.models import Organization
from verification.models import ChannelKind, OrganizationPinState


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

"""Reads of the privacy pages: what an erasure will touch, a requester's recent exports,
an organization's members to choose from."""

from __future__ import annotations

from privacy.models import ExportJob, ExportVia
from tenants.models import Membership, Organization, User
from tickets.models import Ticket

# The export list under the forms: the requester's latest.
RECENT_EXPORTS = 20


def erasure_impact(person: User, organization: Organization | None = None) -> dict[str, int]:
    """What the confirmation page tells before an erasure: the person's memberships, and
    the requests they filed (in ``organization`` only, for a customer's global admin)."""
    filed = Ticket.objects.filter(created_by=person)
    if organization is not None:
        filed = filed.filter(organization=organization)
    return {
        "memberships": Membership.objects.filter(user=person).count(),
        "filed": filed.count(),
    }


def recent_exports(
    requester: User,
    *,
    via: ExportVia,
    organization: Organization | None = None,
    person: User | None = None,
) -> list[ExportJob]:
    """The requester's latest exports asked for on one channel's pages, newest first,
    narrowed to an organization (the portal's) and a person (a member's own data)."""
    jobs = ExportJob.objects.requested_by(requester).filter(requested_via=via)
    if organization is not None:
        jobs = jobs.filter(organization=organization)
    if person is not None:
        jobs = jobs.filter(person=person)
    return list(jobs.select_related("organization", "person")[:RECENT_EXPORTS])


def organization_members(organization: Organization) -> list[Membership]:
    """The organization's members with their accounts, by address."""
    return list(
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by("user__email")
    )

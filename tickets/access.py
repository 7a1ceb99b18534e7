"""The one way views reach a Ticket: scoped by the acting organization or the desk."""

from __future__ import annotations

from django.http import Http404

from tenants.models import Organization, User
from tickets.models import Ticket


def ticket_for_organization(organization: Organization, reference: str | int) -> Ticket:
    """A ticket of this organization, or 404 (also for another tenant's number)."""
    ticket = (
        Ticket.objects.for_org(organization)
        .by_reference(reference)
        .select_related("organization", "product", "assignee")
        .first()
    )
    if ticket is None:
        raise Http404
    return ticket


def ticket_for_desk(user: User, reference: str | int) -> Ticket:
    """Any tenant's ticket, for provider staff only."""
    if not user.is_agent:
        raise Http404
    ticket = (
        Ticket.objects.by_reference(reference)
        .select_related("organization", "organization__partner", "product", "assignee")
        .first()
    )
    if ticket is None:
        raise Http404
    return ticket

"""The one way views reach a Ticket: scoped by the acting organization or the desk."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from tenants.models import Organization, User
from tickets.models import Attachment, MessageKind, Ticket


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


def _customer_visible(organization: Organization, ticket: Ticket) -> QuerySet[Attachment]:
    """The request's own files and those of public messages: never an internal note's."""
    return Attachment.objects.filter(organization=organization, ticket=ticket).filter(
        Q(message__isnull=True) | Q(message__kind=MessageKind.REPLY)
    )


def attachments_for_organization(
    organization: Organization, reference: str | int
) -> QuerySet[Attachment]:
    """Every attachment of the request the organization's customer may see; 404 for
    another tenant's request."""
    ticket = ticket_for_organization(organization, reference)
    return _customer_visible(organization, ticket).order_by("created_at", "pk")


def attachment_for_organization(
    organization: Organization, reference: str | int, attachment_id: int
) -> Attachment:
    """An attachment the organization's customer may download, or 404: another tenant's,
    another request's, or one on an internal note."""
    ticket = ticket_for_organization(organization, reference)
    if not 0 < attachment_id < 2**63:  # a huge id would overflow the column, not miss
        raise Http404
    attachment = _customer_visible(organization, ticket).filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404
    return attachment


def attachments_for_desk(user: User, reference: str | int) -> QuerySet[Attachment]:
    """Every attachment of the request, internal notes' included, for provider staff."""
    ticket = ticket_for_desk(user, reference)
    return Attachment.objects.filter(ticket=ticket).order_by("created_at", "pk")


def attachment_for_desk(user: User, reference: str | int, attachment_id: int) -> Attachment:
    """Any attachment of the ticket, internal notes' included, for provider staff only;
    404 for anyone else and for an id of another ticket."""
    ticket = ticket_for_desk(user, reference)
    if not 0 < attachment_id < 2**63:  # a huge id would overflow the column, not miss
        raise Http404
    attachment = Attachment.objects.filter(ticket=ticket, pk=attachment_id).first()
    if attachment is None:
        raise Http404
    return attachment


def ticket_for_survey_link(ticket_id: int) -> Ticket | None:
    """The request a signed rating link of the resolved e-mail names (tickets.survey):
    the signature is the access check, so this takes only an id read from a valid link.
    None when the request no longer exists."""
    return Ticket.objects.select_related("organization").filter(pk=ticket_id).first()

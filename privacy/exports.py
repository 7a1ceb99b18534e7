"""What goes into a data export (issue 17): plain JSON-ready dicts, built from the rows.

Reads only; ``privacy.services`` writes the zip. An export shows what the customer may
see of their requests (public replies, the customer's timeline, their files): internal
notes and support's own steps are support's working papers and stay out, the same as in
the portal and the API.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from tenants.models import Membership, Organization, RegisteredEmail, RegisteredPhone, User
from tickets.actors import actor_name
from tickets.models import Attachment, Message, MessageKind, Rating, Ticket


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _safe_name(name: str) -> str:
    """A file name for inside the zip: no folders, nothing a shell or unzip trips on."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return cleaned[:100] or "file"


def attachment_path(attachment: Attachment, reference: str) -> str:
    return f"attachments/{reference}/{attachment.pk}-{_safe_name(attachment.original_name)}"


def organization_document(organization: Organization) -> dict[str, Any]:
    return {
        "name": organization.name,
        "slug": organization.slug,
        "country": str(organization.country),
        "time_zone": organization.time_zone,
        "contract": organization.contract,
        "partner": organization.partner.name if organization.partner is not None else None,
        "retention_days": organization.retention_days,
        "created_at": _when(organization.created_at),
    }


def person_document(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "full_name": user.full_name,
        "phone": str(user.phone) if user.phone else "",
        "language": user.language,
        "time_zone": user.time_zone,
        "date_joined": _when(user.date_joined),
        "last_login": _when(user.last_login),
        "active": user.is_active,
    }


def members_document(organization: Organization) -> list[dict[str, Any]]:
    rows = Membership.objects.filter(organization=organization).select_related("user")
    return [
        {**person_document(m.user), "role": m.role, "member_since": _when(m.created_at)}
        for m in rows.order_by("user__email")
    ]


def memberships_document(user: User, organization: Organization | None) -> list[dict[str, Any]]:
    rows = Membership.objects.filter(user=user).select_related("organization")
    if organization is not None:
        rows = rows.filter(organization=organization)
    return [
        {
            "organization": m.organization.name,
            "role": m.role,
            "member_since": _when(m.created_at),
        }
        for m in rows.order_by("organization__name")
    ]


def contacts_document(
    organization: Organization | None, *, person: User | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The registered contacts: all of the organization's, or those that are the person's
    own address and number."""
    phones: QuerySet[RegisteredPhone] = RegisteredPhone.objects.all()
    emails: QuerySet[RegisteredEmail] = RegisteredEmail.objects.all()
    if organization is not None:
        phones, emails = (
            phones.filter(organization=organization),
            emails.filter(organization=organization),
        )
    if person is not None:
        phones = phones.filter(number=person.phone) if person.phone else phones.none()
        emails = emails.filter(email__iexact=person.email)
    return {
        "phones": [
            {
                "organization": p.organization.name,
                "number": str(p.number),
                "label": p.label,
                "registered_at": _when(p.created_at),
                "receives_codes_from": _when(p.active_from),
            }
            for p in phones.select_related("organization")
        ],
        "emails": [
            {
                "organization": e.organization.name,
                "email": e.email,
                "label": e.label,
                "registered_at": _when(e.created_at),
                "receives_codes_from": _when(e.active_from),
            }
            for e in emails.select_related("organization")
        ],
    }


def _author(message: Message) -> str:
    if message.author_role != "customer":
        return message.get_author_role_display()
    return message.author.email if message.author is not None else ""


@dataclass(frozen=True)
class TicketPart:
    """One request's document and the files that go beside it."""

    reference: str
    document: dict[str, Any]
    attachments: list[tuple[str, Attachment]]


def _ticket_head(ticket: Ticket) -> dict[str, Any]:
    return {
        "reference": ticket.reference,
        "organization": ticket.organization.name,
        "title": ticket.title,
        "status": ticket.status,
        "severity": ticket.severity,
        "created_at": _when(ticket.created_at),
        "closed_at": _when(ticket.closed_at),
    }


def _ticket_full(ticket: Ticket) -> dict[str, Any]:
    return {
        **_ticket_head(ticket),
        "description": ticket.description,
        "category": ticket.category,
        "product": ticket.product.name if ticket.product_id and ticket.product else None,
        "impact": ticket.impact,
        "scope": ticket.scope,
        "business_impact": ticket.business_impact,
        "contact_24x7": ticket.contact_24x7,
        "original_severity": ticket.original_severity,
        "severity_reason": ticket.severity_reason,
        "contact_phone": str(ticket.contact_phone) if ticket.contact_phone else "",
        "contact_email": ticket.contact_email,
        "preferred_contact": ticket.preferred_contact,
        "language": ticket.language,
        "channel": ticket.channel,
        "caller_phone": str(ticket.caller_phone) if ticket.caller_phone else "",
        "filed_by": ticket.created_by.email if ticket.created_by else "",
        "updated_at": _when(ticket.updated_at),
        "resolved_at": _when(ticket.resolved_at),
        "response_due_at": _when(ticket.response_due_at),
        "first_response_at": _when(ticket.first_response_at),
        "first_response_due_at": _when(ticket.first_response_due_at),
    }


def _message(message: Message) -> dict[str, Any]:
    return {
        "sent_at": _when(message.created_at),
        "author": _author(message),
        "author_role": message.author_role,
        "body": message.body,
    }


def _attachment(attachment: Attachment, reference: str) -> dict[str, Any]:
    return {
        "name": attachment.original_name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "uploaded_at": _when(attachment.created_at),
        "uploaded_by": attachment.uploaded_by.email if attachment.uploaded_by else "",
        "file": attachment_path(attachment, reference),
    }


def _rating(rating: Rating) -> dict[str, Any]:
    return {
        "score": rating.score,
        "comment": rating.comment,
        "rated_by": rating.rated_by.email if rating.rated_by else "",
        "source": rating.source,
        "rated_at": _when(rating.created_at),
    }


def _with_related(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    return tickets.select_related("organization", "product", "created_by", "rating__rated_by")


def organization_tickets(organization: Organization) -> QuerySet[Ticket]:
    return Ticket.objects.for_org(organization).order_by("pk")


def organization_ticket_parts(tickets: list[Ticket]) -> Iterator[TicketPart]:
    """Whole requests: the request, its public replies, the customer's timeline, the
    rating and every file."""
    for ticket in tickets:
        reference = ticket.reference
        messages = ticket.messages.public().select_related("author")
        files = list(ticket.attachments.select_related("uploaded_by").order_by("pk"))
        events = ticket.events.customer_visible().select_related("actor_user")
        rating = Rating.objects.filter(ticket=ticket).select_related("rated_by").first()
        yield TicketPart(
            reference,
            {
                **_ticket_full(ticket),
                "messages": [_message(m) for m in messages],
                "events": [
                    {
                        "at": _when(e.created_at),
                        "kind": e.kind,
                        "by": actor_name(e),
                        "before": e.before,
                        "after": e.after,
                    }
                    for e in events
                ],
                "rating": _rating(rating) if rating is not None else None,
                "attachments": [_attachment(a, reference) for a in files],
            },
            [(attachment_path(a, reference), a) for a in files],
        )


def person_tickets(user: User, organization: Organization | None) -> QuerySet[Ticket]:
    """The requests the person filed, replied to, attached a file to or rated."""
    mine = (
        Q(created_by=user)
        | Q(messages__author=user, messages__kind=MessageKind.REPLY)
        | Q(attachments__uploaded_by=user)
        | Q(rating__rated_by=user)
    )
    tickets = Ticket.objects.filter(mine)
    if organization is not None:
        tickets = tickets.for_org(organization)
    return Ticket.objects.filter(pk__in=tickets.values("pk")).order_by("pk")


def person_ticket_parts(user: User, tickets: list[Ticket]) -> Iterator[TicketPart]:
    """What the person wrote on each request: the request itself if they filed it, their
    own replies, files and rating; other people's words stay out."""
    for ticket in tickets:
        reference = ticket.reference
        filed = ticket.created_by_id == user.pk
        messages = ticket.messages.public().filter(author=user)
        files = list(ticket.attachments.filter(uploaded_by=user).order_by("pk"))
        rating = Rating.objects.filter(ticket=ticket, rated_by=user).first()
        yield TicketPart(
            reference,
            {
                **(_ticket_full(ticket) if filed else _ticket_head(ticket)),
                "filed_by_you": filed,
                "your_messages": [_message(m) for m in messages.select_related("author")],
                "your_rating": _rating(rating) if rating is not None else None,
                "your_attachments": [_attachment(a, reference) for a in files],
            },
            [(attachment_path(a, reference), a) for a in files],
        )


def tickets_batch(tickets: QuerySet[Ticket], *, after: int, size: int) -> list[Ticket]:
    return list(_with_related(tickets.filter(pk__gt=after)).order_by("pk")[:size])

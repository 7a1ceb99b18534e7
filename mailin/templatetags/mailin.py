"""The incoming mail's piece on the desk ticket page: "Original e-mail" beside each
message that came by e-mail. Template tags, so the tickets app never imports mailin."""

from __future__ import annotations

from typing import Any

from django import template

from mailin.models import IncomingMail
from tickets.models import AuthorRole

register = template.Library()


@register.simple_tag
def original_emails(ticket: Any, conversation: Any) -> dict[int, int]:
    """The ticket's e-mailed messages → their incoming mail, in one query for the page;
    none when no customer wrote (only a customer's reply comes by e-mail)."""
    customer = AuthorRole.CUSTOMER
    if not any(message.author_role == customer for message, _files in conversation):
        return {}
    rows = (
        IncomingMail.objects.filter(ticket=ticket, ticket_message__isnull=False)
        .exclude(raw="")
        .order_by()
        .values_list("ticket_message_id", "pk")
    )
    return dict(rows)


@register.inclusion_tag("mailin/_original_link.html")
def original_email_link(originals: dict[int, int], ticket: Any, message: Any) -> dict[str, Any]:
    return {"ticket": ticket, "mail": originals.get(message.pk)}

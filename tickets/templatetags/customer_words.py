"""What customers read: reasons without policy ids, in the reader's language, and the
seeded product and calendar names translated (tickets.reasons, core.names)."""

from __future__ import annotations

from collections.abc import Iterable

from django import template

from core.names import calendar_name, product_name
from severity.assessment import Assessment
from tickets import reasons
from tickets.models import Event, Ticket

register = template.Library()


@register.simple_tag
def explain_outcome(outcome: Assessment) -> reasons.Explanation:
    """``{% explain_outcome preview.assessment as why %}``"""
    return reasons.explain_assessment(outcome)


@register.simple_tag
def explain_severity(ticket: Ticket, events: Iterable[Event]) -> reasons.Explanation | None:
    """``{% explain_severity ticket events as why %}``: from the Event's reason codes."""
    return reasons.explain_severity(ticket, events)


@register.filter
def customer_reason(event: Event) -> str:
    """An Event's reason in the reader's language, without policy ids."""
    return reasons.event_reason(event)


@register.filter
def product(name: object) -> str:
    """``{{ ticket.product.name|product }}``: a seeded product name, translated."""
    return product_name(str(name)) if name is not None else ""


@register.filter
def calendar(name: object) -> str:
    return calendar_name(str(name)) if name is not None else ""


@register.filter
def sentence_end(name: object) -> str:
    """A name that ends a sentence, without its own full stop ("Contoso Ltd." + ".")."""
    return str(name or "").rstrip().rstrip(".")

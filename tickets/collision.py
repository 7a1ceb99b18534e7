"""Two agents on one request: the stale-reply rule.

An agent writes a reply against what the page showed them: the composer carries the id
of the newest Event they saw. If, by the time they send, the customer answered, another
agent replied, or the request changed status, the reply may no longer fit; the reply
services refuse it with ``StaleReply`` (carrying the newer Events) unless the agent
chose to send anyway. Notes are never held: they only talk to colleagues.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from django.utils.translation import gettext_lazy as _

from tenants.models import User
from tickets.errors import TicketError
from tickets.models import Event, EventKind, Ticket

# What makes a reply written before it stale: what the customer or another agent said,
# and the request's status moving. Assignment, notes, warnings and escalations do not.
STALE_KINDS = (
    EventKind.CUSTOMER_REPLIED,
    EventKind.REPLIED,
    EventKind.INFORMATION_REQUESTED,
    EventKind.RESOLVED,
    EventKind.REOPENED,
    EventKind.CLOSED,
    EventKind.FOLLOW_UP,
)

ERR_STALE = _(
    "New activity since you started: your reply was not sent. Read it, then send anyway "
    "or change your reply."
)


class StaleReply(TicketError):
    """A reply written against an older state of the request; ``events`` are the newer
    ones that the author has not seen."""

    status_by_code: ClassVar[Mapping[str, int]] = {"stale": 409}

    def __init__(self, events: Sequence[Event]) -> None:
        super().__init__(ERR_STALE, code="stale")
        self.events = list(events)


def newer_activity(
    ticket: Ticket, *, seen_event_id: int, user: User | None, label: str = ""
) -> list[Event]:
    """The Events after ``seen_event_id`` that make a reply stale, oldest first; the
    author's own (another tab, an earlier send) are no news to them. An author without a
    user (an API key, a contact address answering by e-mail) is known by ``label``."""
    found = Event.objects.filter(ticket=ticket, pk__gt=seen_event_id, kind__in=STALE_KINDS)
    if user is not None:
        found = found.exclude(actor_user=user)
    elif label:
        found = found.exclude(actor_user__isnull=True, actor_label=label)
    return list(found.select_related("actor_user").order_by("pk"))


def require_fresh(
    ticket: Ticket, *, seen_event_id: int | None, user: User | None, label: str = ""
) -> None:
    """Refuse with ``StaleReply`` when there is newer activity; None means "not asked"
    (the caller sends anyway, or a client that does not know the guard)."""
    if seen_event_id is None:
        return
    newer = newer_activity(ticket, seen_event_id=seen_event_id, user=user, label=label)
    if newer:
        raise StaleReply(newer)

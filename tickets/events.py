"""The one place a ticket's Event row is made: by a service, one at a time, or by the
sweep, a batch of SLA steps at once. Both build the row with ``event_values`` and hand
the new Events to the outbox after commit, so a step the workers take reads exactly like
one a person takes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tickets.actors import Actor
from tickets.models import Event, EventKind, Ticket
from tickets.outbox import queue_delivery


def event_values(
    *,
    organization_id: int,
    ticket_id: int,
    kind: EventKind | str,
    actor: Actor,
    now: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    step: tuple[int, datetime] | None = None,
) -> dict[str, Any]:
    """An Event's columns. ``step`` is (level, lapse) of an SLA step: with the ticket and
    the kind it is unique (``event_sla_step_once``), so the step happens once."""
    step_level, step_lapse_at = step if step is not None else (None, None)
    return {
        "organization_id": organization_id,
        "ticket_id": ticket_id,
        "kind": kind,
        "actor_kind": actor.kind,
        "actor_user_id": actor.user.pk if actor.user is not None else None,
        "actor_label": actor.label,
        "before": before or {},
        "after": after or {},
        "reason": reason,
        "step_level": step_level,
        "step_lapse_at": step_lapse_at,
        "created_at": now,
    }


def record(
    ticket: Ticket,
    *,
    actor: Actor,
    kind: EventKind,
    now: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    step: tuple[int, datetime] | None = None,
) -> Event:
    """Write the Event of one change, in the caller's transaction; its notifications and
    webhooks go out after commit (a rollback drops them with the Event)."""
    event = Event.objects.create(
        **event_values(
            organization_id=ticket.organization_id,
            ticket_id=ticket.pk,
            kind=kind,
            actor=actor,
            now=now,
            before=before,
            after=after,
            reason=reason,
            step=step,
        )
    )
    queue_delivery([event.pk])
    return event


def record_for_organization(
    organization_id: int,
    *,
    actor: Actor,
    kind: EventKind,
    now: datetime,
    after: dict[str, Any],
) -> Event:
    """Write an Event of the organization itself, with no ticket (the retention purge's),
    in the caller's transaction; its webhooks go out after commit. Such an Event never
    reaches a timeline (those are read per ticket) nor a notification e-mail (those need a
    ticket)."""
    event = Event.objects.create(
        organization_id=organization_id,
        ticket=None,
        kind=kind,
        actor_kind=actor.kind,
        actor_user_id=actor.user.pk if actor.user is not None else None,
        actor_label=actor.label,
        after=after,
        created_at=now,
    )
    queue_delivery([event.pk])
    return event

"""The use cases of a service request. The only place a Ticket is written.

Each service takes keyword arguments (the acting ``Actor``, the values, and ``now``),
runs in one transaction, locks the ticket row it changes, refuses an illegal
transition with a ``TicketError`` carrying a clear message, recomputes the SLA clocks
when status or severity moves, and records the ``Event``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from phonenumber_field.phonenumber import PhoneNumber

from helpcenter.models import Service
from severity import assessment as sev
from severity.choices import Category, Severity
from severity.clocks import refresh_clocks
from tenants.models import Organization, User
from tenants.roles import ROLE_CANNOT_FILE, may_file
from tickets.actors import Actor
from tickets.models import (
    AuthorRole,
    Channel,
    ContactMethod,
    Event,
    EventKind,
    Message,
    MessageKind,
    Status,
    Ticket,
)
from tickets.outbox import queue_delivery

# Error messages are module constants so tests and callers can reuse them.
ERR_CLOSED = _("This request is closed; it cannot be changed any more.")
ERR_NOT_ACTIVE = _("This request is resolved; reopen it first.")
ERR_ALREADY_WAITING = _("This request is already waiting on the customer.")
ERR_NOT_RESOLVED = _("Only a resolved request can be reopened or closed.")
ERR_ALREADY_RESOLVED = _("This request is already resolved.")
ERR_NOT_AGENT = _("Only support staff can do this.")
ERR_ASSIGNEE_NOT_AGENT = _("Requests can only be assigned to support agents.")
ERR_ASSIGN_OTHERS = _("Only a supervisor can assign a request to someone else.")
ERR_EMPTY_MESSAGE = _("Write a message first.")
ERR_NO_CONTACT = _("Give a contact e-mail address or phone number.")
ERR_PHONE_FOR_PHONE = _("Give a contact phone number to be called back by phone.")
ERR_SAME_SEVERITY = _("The request already has this severity.")
ERR_REASON_REQUIRED = _("Say why the severity changes.")
ERR_CUSTOMER_ONLY = _("Only the customer's admins reply as the customer.")
ERR_NOT_ALLOWED = _("Only support or the organization's admins can do this.")
ERR_PRODUCT_INACTIVE = _("This product is no longer offered; choose another one.")


class TicketError(Exception):
    """A refused change; ``message`` is shown to the person who tried it."""

    def __init__(self, message: Any, *, code: str = "invalid", field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = str(message)
        self.code = code
        self.field = field


def _record(
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
    """Write the Event of a change; ``step`` is (level, lapse) of an SLA step, which the
    Event's unique constraint makes happen once."""
    step_level, step_lapse_at = step if step is not None else (None, None)
    event = Event.objects.create(
        organization_id=ticket.organization_id,
        ticket=ticket,
        kind=kind,
        actor_kind=actor.kind,
        actor_user=actor.user,
        actor_label=actor.label,
        before=before or {},
        after=after or {},
        reason=reason,
        step_level=step_level,
        step_lapse_at=step_lapse_at,
        created_at=now,
    )
    queue_delivery([event.pk])  # after commit; a rollback drops it with the Event
    return event


def _locked(ticket: Ticket) -> Ticket:
    """Re-read the ticket under a row lock so concurrent changes serialise."""
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


def _require_agent(actor: Actor) -> None:
    if not actor.is_agent:
        raise TicketError(ERR_NOT_AGENT, code="forbidden")


def _require_support_or_admin(ticket: Ticket, actor: Actor) -> None:
    """Support, the workers, or an admin of the ticket's own organization (POL-WHO-1)."""
    if actor.is_agent or actor.is_system:
        return
    if not actor.is_admin_of(ticket.organization_id):
        raise TicketError(ERR_NOT_ALLOWED, code="forbidden")


def _require_not_closed(ticket: Ticket) -> None:
    if ticket.status == Status.CLOSED:
        raise TicketError(ERR_CLOSED, code="illegal_transition")


def _require_active(ticket: Ticket) -> None:
    _require_not_closed(ticket)
    if ticket.status == Status.RESOLVED:
        raise TicketError(ERR_NOT_ACTIVE, code="illegal_transition")


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise TicketError(ERR_EMPTY_MESSAGE, code="required", field="body")
    return body


def _set_status(
    ticket: Ticket, status: str, now: datetime
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Move the status; return the before/after pair for the Event."""
    before = ticket.status
    ticket.status = status
    if status == Status.RESOLVED:
        ticket.resolved_at = now
    elif status == Status.CLOSED:
        ticket.closed_at = now
    elif before == Status.RESOLVED:
        ticket.resolved_at = None
    return {"status": before}, {"status": status}


@dataclass(frozen=True, slots=True)
class TicketDraft:
    """What a customer (or an agent on the phone) asks for; validated by ``ticket_create``."""

    title: str
    description: str
    category: str
    impact: str
    scope: str
    product: Service | None = None
    business_impact: str = ""
    contact_24x7: str = ""
    contact_phone: PhoneNumber | str | None = None
    contact_email: str = ""
    preferred_contact: str = ContactMethod.EMAIL
    language: str = "en"
    channel: str = Channel.WEB
    caller_phone: PhoneNumber | str | None = None


def ticket_create(
    *, organization: Organization, actor: Actor, draft: TicketDraft, now: datetime
) -> Ticket:
    """File a request; the severity is assessed at opening (POL-SEV-1)."""
    if actor.role is not None and not may_file(actor.role, draft.category):
        raise TicketError(
            ROLE_CANNOT_FILE
            % {"role": _role_label(actor.role), "category": Category(draft.category).label},
            code="forbidden_category",
            field="category",
        )
    if draft.product is not None and not draft.product.is_active:
        raise TicketError(ERR_PRODUCT_INACTIVE, code="invalid", field="product")
    if not draft.contact_email and not draft.contact_phone:
        raise TicketError(ERR_NO_CONTACT, code="required", field="contact_email")
    if draft.preferred_contact == ContactMethod.PHONE and not draft.contact_phone:
        raise TicketError(ERR_PHONE_FOR_PHONE, code="required", field="contact_phone")

    outcome = sev.assess(
        category=draft.category,
        impact=draft.impact,
        scope=draft.scope,
        contract=organization.contract,
        has_business_impact_statement=bool(draft.business_impact.strip()),
        has_24x7_contact=bool(draft.contact_24x7.strip()),
    )
    with transaction.atomic():
        ticket = Ticket(
            organization=organization,
            title=draft.title.strip(),
            description=draft.description.strip(),
            category=draft.category,
            product=draft.product,
            impact=draft.impact,
            scope=draft.scope,
            business_impact=draft.business_impact.strip(),
            contact_24x7=draft.contact_24x7.strip(),
            severity=outcome.severity.value,
            original_severity=outcome.severity.value,
            severity_reason=outcome.as_text(),
            status=Status.NEW,
            contact_phone=draft.contact_phone or "",
            contact_email=draft.contact_email,
            preferred_contact=draft.preferred_contact,
            language=draft.language,
            channel=draft.channel,
            caller_phone=draft.caller_phone or "",
            created_by=actor.user,
            created_at=now,
            updated_at=now,
        )
        # The database enforces the check constraints; validating them here would cost
        # two queries on every create.
        ticket.full_clean(
            exclude=["organization", "product", "created_by", "assignee"],
            validate_constraints=False,
        )
        ticket.save()
        _record(
            ticket,
            actor=actor,
            kind=EventKind.CREATED,
            now=now,
            after={
                "status": ticket.status,
                "severity": ticket.severity,
                "matrix_severity": outcome.matrix_severity.value,
                "category": ticket.category,
                "channel": ticket.channel,
                "reasons": [r.code for r in outcome.reasons],
            },
            reason=ticket.severity_reason,
        )
        refresh_clocks(ticket, now=now)
    return ticket


def _role_label(role: str) -> str:
    from tenants.models import Role

    return str(Role(role).label)


def ticket_agent_reply(*, ticket: Ticket, actor: Actor, body: str, now: datetime) -> Message:
    """A public answer from support; the first one meets the first-response target."""
    _require_agent(actor)
    body = _clean_body(body)
    with transaction.atomic():
        ticket = _locked(ticket)
        _require_active(ticket)
        message = Message.objects.create(
            ticket=ticket,
            kind=MessageKind.REPLY,
            author=actor.user,
            author_role=AuthorRole.AGENT,
            body=body,
            created_at=now,
        )
        before, after = {"status": ticket.status}, {}
        if ticket.status == Status.NEW:
            before, after = _set_status(ticket, Status.OPEN, now)
        first = ticket.first_response_at is None
        if first:
            ticket.first_response_at = now
        ticket.last_agent_update_at = now
        ticket.updated_at = now
        ticket.save()
        after.update({"message": message.pk, "first_response": first})
        _record(ticket, actor=actor, kind=EventKind.REPLIED, now=now, before=before, after=after)
        refresh_clocks(ticket, now=now)
    return message


def ticket_internal_note(*, ticket: Ticket, actor: Actor, body: str, now: datetime) -> Message:
    """A note only support sees; it changes no clock."""
    _require_agent(actor)
    body = _clean_body(body)
    with transaction.atomic():
        ticket = _locked(ticket)
        _require_not_closed(ticket)
        message = Message.objects.create(
            ticket=ticket,
            kind=MessageKind.NOTE,
            author=actor.user,
            author_role=AuthorRole.AGENT,
            body=body,
            created_at=now,
        )
        ticket.updated_at = now
        ticket.save(update_fields=["updated_at"])
        _record(ticket, actor=actor, kind=EventKind.NOTED, now=now, after={"message": message.pk})
    return message


def ticket_request_information(
    *, ticket: Ticket, actor: Actor, body: str, now: datetime
) -> Message:
    """Ask the customer for something: the ticket waits on them and the
    customer-cooperation clock starts (POL-SEV-7); the response clock pauses."""
    _require_agent(actor)
    body = _clean_body(body)
    with transaction.atomic():
        ticket = _locked(ticket)
        _require_active(ticket)
        if ticket.status == Status.AWAITING_CUSTOMER:
            raise TicketError(ERR_ALREADY_WAITING, code="illegal_transition")
        message = Message.objects.create(
            ticket=ticket,
            kind=MessageKind.REPLY,
            author=actor.user,
            author_role=AuthorRole.AGENT,
            body=body,
            created_at=now,
        )
        before, after = _set_status(ticket, Status.AWAITING_CUSTOMER, now)
        first = ticket.first_response_at is None
        if first:
            ticket.first_response_at = now
        ticket.last_agent_update_at = now
        ticket.updated_at = now
        ticket.save()
        after.update({"message": message.pk, "first_response": first})
        _record(
            ticket,
            actor=actor,
            kind=EventKind.INFORMATION_REQUESTED,
            now=now,
            before=before,
            after=after,
        )
        refresh_clocks(ticket, now=now)
    return message


def ticket_customer_reply(*, ticket: Ticket, actor: Actor, body: str, now: datetime) -> Message:
    """The customer answers. Waiting on them ends (→ open); a reply to a resolved request
    reopens it, as the customer clearly still needs help."""
    if not actor.is_admin_of(ticket.organization_id):
        raise TicketError(ERR_CUSTOMER_ONLY, code="forbidden")
    body = _clean_body(body)
    with transaction.atomic():
        ticket = _locked(ticket)
        _require_not_closed(ticket)
        message = Message.objects.create(
            ticket=ticket,
            kind=MessageKind.REPLY,
            author=actor.user,
            author_role=AuthorRole.CUSTOMER,
            body=body,
            created_at=now,
        )
        _undo_a_downgrade_the_reply_beat(ticket, actor=actor, now=now)
        before, after = {"status": ticket.status}, {"status": ticket.status}
        if ticket.status in (Status.AWAITING_CUSTOMER, Status.RESOLVED):
            before, after = _set_status(ticket, Status.OPEN, now)
        ticket.updated_at = now
        ticket.save()
        after["message"] = message.pk
        _record(
            ticket,
            actor=actor,
            kind=EventKind.CUSTOMER_REPLIED,
            now=now,
            before=before,
            after=after,
        )
        refresh_clocks(ticket, now=now)
    return message


def ticket_assign(*, ticket: Ticket, actor: Actor, assignee: User | None, now: datetime) -> Ticket:
    """Claim (assign to oneself), hand over, or unassign. Agents may claim or release;
    supervisors may assign to anyone on the desk."""
    _require_agent(actor)
    if assignee is not None and not assignee.is_agent:
        raise TicketError(ERR_ASSIGNEE_NOT_AGENT, code="invalid", field="assignee")
    with transaction.atomic():
        ticket = _locked(ticket)
        _require_active(ticket)
        taking_or_releasing_own = assignee == actor.user or (
            assignee is None and ticket.assignee_id in (None, actor.user.pk)  # type: ignore[union-attr]
        )
        if not taking_or_releasing_own and not actor.is_supervisor:
            raise TicketError(ERR_ASSIGN_OTHERS, code="forbidden", field="assignee")
        if ticket.assignee_id == (assignee.pk if assignee else None):
            return ticket
        before = {"assignee": ticket.assignee.email if ticket.assignee else None}
        ticket.assignee = assignee
        ticket.updated_at = now
        ticket.save(update_fields=["assignee", "updated_at"])
        _record(
            ticket,
            actor=actor,
            kind=EventKind.ASSIGNED,
            now=now,
            before=before,
            after={"assignee": assignee.email if assignee else None},
        )
    return ticket


def tickets_bulk_assign(
    *, tickets: Iterable[Ticket], actor: Actor, assignee: User | None, now: datetime
) -> list[Ticket]:
    """Assign several tickets in one transaction: all or none."""
    with transaction.atomic():
        return [ticket_assign(ticket=t, actor=actor, assignee=assignee, now=now) for t in tickets]


def ticket_resolve(*, ticket: Ticket, actor: Actor, reason: str, now: datetime) -> Ticket:
    """Support marks the problem solved; the customer is asked to rate (POL-ROLE-2).
    A customer admin may also resolve their own request."""
    _require_support_or_admin(ticket, actor)
    with transaction.atomic():
        ticket = _locked(ticket)
        _require_not_closed(ticket)
        if ticket.status == Status.RESOLVED:
            raise TicketError(ERR_ALREADY_RESOLVED, code="illegal_transition")
        before, after = _set_status(ticket, Status.RESOLVED, now)
        ticket.updated_at = now
        ticket.save()
        _record(
            ticket,
            actor=actor,
            kind=EventKind.RESOLVED,
            now=now,
            before=before,
            after=after,
            reason=reason.strip(),
        )
        refresh_clocks(ticket, now=now)
    return ticket


def ticket_reopen(*, ticket: Ticket, actor: Actor, reason: str, now: datetime) -> Ticket:
    _require_support_or_admin(ticket, actor)
    with transaction.atomic():
        ticket = _locked(ticket)
        _require_not_closed(ticket)
        if ticket.status != Status.RESOLVED:
            raise TicketError(ERR_NOT_RESOLVED, code="illegal_transition")
        before, after = _set_status(ticket, Status.OPEN, now)
        ticket.updated_at = now
        ticket.save()
        _record(
            ticket,
            actor=actor,
            kind=EventKind.REOPENED,
            now=now,
            before=before,
            after=after,
            reason=reason.strip(),
        )
        refresh_clocks(ticket, now=now)
    return ticket


def ticket_close(*, ticket: Ticket, actor: Actor, now: datetime) -> Ticket:
    """A resolved request becomes final; nothing changes it afterwards."""
    _require_support_or_admin(ticket, actor)
    with transaction.atomic():
        ticket = _locked(ticket)
        _require_not_closed(ticket)
        if ticket.status != Status.RESOLVED:
            raise TicketError(ERR_NOT_RESOLVED, code="illegal_transition")
        before, after = _set_status(ticket, Status.CLOSED, now)
        ticket.updated_at = now
        ticket.save()
        _record(ticket, actor=actor, kind=EventKind.CLOSED, now=now, before=before, after=after)
        refresh_clocks(ticket, now=now)
    return ticket


def ticket_change_severity(
    *, ticket: Ticket, actor: Actor, severity: str, reason: str, now: datetime
) -> Ticket:
    """An agent's override (SLA engine issue, item 7): caps still apply (POL-SEV-5/6);
    the clock is recomputed from opening with the new target."""
    _require_agent(actor)
    reason = (reason or "").strip()
    if not reason:
        raise TicketError(ERR_REASON_REQUIRED, code="required", field="reason")
    requested = Severity(severity)
    with transaction.atomic():
        ticket = _locked(ticket)
        _require_active(ticket)
        outcome = sev.check_override(
            requested=requested.value,
            category=ticket.category,
            contract=ticket.organization.contract,
        )
        if outcome.severity.value == ticket.severity:
            raise TicketError(
                ERR_SAME_SEVERITY if not outcome.capped else outcome.as_text(),
                code="unchanged",
                field="severity",
            )
        before = {"severity": ticket.severity}
        ticket.severity = outcome.severity.value
        ticket.severity_reason = f"{reason}\n\n{outcome.as_text()}".strip()
        ticket.updated_at = now
        ticket.save(update_fields=["severity", "severity_reason", "updated_at"])
        _record(
            ticket,
            actor=actor,
            kind=EventKind.SEVERITY_CHANGED,
            now=now,
            before=before,
            after={"severity": ticket.severity, "requested": requested.value},
            reason=reason,
        )
        refresh_clocks(ticket, now=now)
    return ticket


# --- Cooperation lapses (POL-SEV-7), applied by the workers -------------------------------

REASON_DOWNGRADE = gettext_noop(
    "We asked for information and did not hear back within the customer-cooperation "
    "window, so the severity was lowered from %(before)s to %(after)s (POL-SEV-7). Reply "
    "to the request to continue."
)
REASON_REMINDER = gettext_noop(
    "We are still waiting for the information we asked for. Reply to the request so that "
    "support can continue (POL-SEV-7)."
)
REASON_REPLY_IN_TIME = gettext_noop(
    "The customer's reply arrived within the cooperation window; the severity is restored."
)


def ticket_cooperation_lapse(*, ticket_id: int, now: datetime, worker: str) -> str | None:
    """The customer did not answer within the cooperation window: lower the severity one
    step (A→B→C) and tell them why; at C, remind them only (POL-SEV-7 default).

    Runs under the ticket's row lock; the step's Event is inserted first, in a savepoint,
    under the unique constraint on (ticket, kind, level, lapse), so a second worker
    reaching the same lapse does nothing. Returns the kind of Event written (``downgraded``
    or ``reminded``), or None when there was nothing (any more) to do."""
    actor = Actor.system(worker)
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update()
            .select_related("organization")
            .filter(pk=ticket_id)
            .first()
        )
        if ticket is None or ticket.status != Status.AWAITING_CUSTOMER:
            return None
        lapse = ticket.customer_due_at
        if lapse is None or lapse > now:
            return None
        before = ticket.severity
        lower = sev.Severity(before).lower()
        try:
            with transaction.atomic():
                if lower is None:
                    event = _record(
                        ticket,
                        actor=actor,
                        kind=EventKind.REMINDED,
                        now=now,
                        after={"lapse_at": lapse.isoformat()},
                        reason=REASON_REMINDER,
                        step=(0, lapse),
                    )
                else:
                    event = _record(
                        ticket,
                        actor=actor,
                        kind=EventKind.DOWNGRADED,
                        now=now,
                        before={"severity": before},
                        after={"severity": lower.value, "lapse_at": lapse.isoformat()},
                        reason=REASON_DOWNGRADE % {"before": before, "after": lower.value},
                        step=(0, lapse),
                    )
        except IntegrityError:
            return None
        if lower is not None:
            ticket.severity = lower.value
            ticket.updated_at = now
            ticket.save(update_fields=["severity", "updated_at"])
        refresh_clocks(ticket, now=now)
    return str(event.kind)


def _undo_a_downgrade_the_reply_beat(ticket: Ticket, *, actor: Actor, now: datetime) -> None:
    """A reply sent before the window lapsed, but committed after a worker lowered the
    severity for that lapse, wins: the severity goes back (workers issue)."""
    if ticket.status != Status.AWAITING_CUSTOMER:
        return
    downgrade = (
        ticket.events.filter(kind=EventKind.DOWNGRADED).order_by("-created_at", "-pk").first()
    )
    if downgrade is None:
        return
    lapse_at = datetime.fromisoformat(downgrade.after.get("lapse_at", now.isoformat()))
    if now >= lapse_at:
        return
    restored = downgrade.before.get("severity")
    if not restored or restored == ticket.severity:
        return
    before = ticket.severity
    ticket.severity = restored
    ticket.save(update_fields=["severity"])
    _record(
        ticket,
        actor=actor,
        kind=EventKind.SEVERITY_CHANGED,
        now=now,
        before={"severity": before},
        after={"severity": restored},
        reason=REASON_REPLY_IN_TIME,
    )

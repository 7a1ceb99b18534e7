"""The use cases of a service request. The only place a Ticket is written.

Each service takes keyword arguments (the acting ``Actor``, the values, and ``now``),
runs in one transaction, locks the ticket row it changes, refuses an illegal
transition with a ``TicketError`` carrying a clear message, recomputes the SLA clocks
when status or severity moves, and records the ``Event``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from helpcenter.models import Service
from helpcenter.services import mark_request_filed
from severity import assessment as sev
from severity.choices import Severity
from tenants.models import Organization, User
from tickets import attachments as uploads
from tickets import collision, events, intake
from tickets.actors import Actor
from tickets.clocks import opening_clocks, refresh_clocks
from tickets.errors import TicketError
from tickets.intake import (
    ERR_NO_CONTACT,
    ERR_PHONE_FOR_PHONE,
    ERR_UNKNOWN_CHOICE,
    TicketDraft,
)
from tickets.models import (
    ActorKind,
    Attachment,
    AuthorRole,
    Channel,
    ContactMethod,
    EventKind,
    Language,
    Message,
    MessageKind,
    Rating,
    RatingSource,
    SavedView,
    Status,
    Ticket,
)
from tickets.reasons import (
    REASON_ASSESSED_BY_EMAIL_FILER,
    REASON_AUTO_CLOSED,
    REASON_DOWNGRADE,
    REASON_REMINDER,
    REASON_REPLY_IN_TIME,
)
from tickets.scheduling import schedule_deadline

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
ERR_SAME_SEVERITY = _("The request already has this severity.")
ERR_REASON_REQUIRED = _("Say why the severity changes.")
ERR_CUSTOMER_ONLY = _("Only the customer's admins reply as the customer.")
ERR_NOT_ALLOWED = _("Only support or the organization's admins can do this.")
ERR_REOPEN_WINDOW = _(
    "This request was resolved more than %(days)d days ago, so it can no longer be "
    "reopened. File a new request and mention %(reference)s in it."
)
ERR_REOPEN_REASON = _("Say what is still not working.")
ERR_NOT_RATEABLE = _("Support can be rated once the request is resolved.")
ERR_ALREADY_RATED = _("This request has already been rated.")
ERR_SCORE = _("Choose a score from 1 (poor) to 5 (excellent).")
ERR_RATE_CUSTOMER_ONLY = _("Only the organization's admins rate the support they received.")
ERR_ESCALATE_REASON = _("Say why the request is escalated.")
ERR_TOP_LEVEL = _("This request is already escalated to the duty manager (level 2).")
RATING_COMMENT_MAX_LENGTH = 2000


def _locked(ticket: Ticket) -> Ticket:
    """Re-read the ticket under a row lock so concurrent changes serialise."""
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


def _require_agent(actor: Actor) -> User:
    """The acting member of support staff; anyone else is refused."""
    if actor.user is None or not actor.user.is_agent:
        raise TicketError(ERR_NOT_AGENT, code="forbidden")
    return actor.user


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


# The fields of a new ticket only the model's limits check (lengths, the phone numbers'
# and the e-mail address's form, the channel). The draft's choices were checked by
# draft_problems before, and the service set the rest itself (severity, status, clocks).
_MODEL_CHECKED = frozenset(
    {
        "title",
        "description",
        "business_impact",
        "contact_24x7",
        "contact_phone",
        "contact_email",
        "caller_phone",
        "channel",
    }
)


@cache
def _not_model_checked() -> tuple[str, ...]:
    return tuple(field.name for field in Ticket._meta.fields if field.name not in _MODEL_CHECKED)


def ticket_create(
    *,
    organization: Organization,
    actor: Actor,
    draft: TicketDraft,
    now: datetime,
    attachments: Sequence[UploadedFile] = (),
    follow_up_of: Ticket | None = None,
) -> Ticket:
    """File a request from any channel: the one intake path (``tickets.intake``).

    Every rule of the draft is checked first (``draft_problems``: role, product, contact,
    choices), all of them at once so a form shows every problem; the severity is assessed
    at opening (POL-SEV-1..6); attachments are checked before anything is written and
    stored with the request, or not at all. The member's recent self-help searches are
    marked as followed by this request in the same transaction (POL-SELF-2)."""
    draft = draft.cleaned()
    problems = intake.draft_problems(draft, role=actor.role)
    if problems:
        raise TicketError.together(problems)
    outcome = intake.assess_draft(draft, organization=organization)
    checked = _check_uploads(attachments)
    stored: list[str] = []
    with _discard_files_on_error(stored), transaction.atomic():
        ticket = Ticket(
            organization=organization,
            title=draft.title,
            description=draft.description,
            category=draft.category,
            product=draft.product,
            impact=draft.impact,
            scope=draft.scope,
            business_impact=draft.business_impact,
            contact_24x7=draft.contact_24x7,
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
            follow_up_of=follow_up_of,
            created_at=now,
            updated_at=now,
        )
        # The database enforces the check constraints; validating them here would cost
        # two queries on every create. The fields' own limits (lengths, the phone numbers'
        # form) are a refusal on their field, whichever channel skipped them.
        try:
            ticket.full_clean(exclude=_not_model_checked(), validate_constraints=False)
        except ValidationError as invalid:
            raise TicketError.together(
                [
                    TicketError(message, code="invalid", field=field)
                    for field, messages in invalid.message_dict.items()
                    for message in messages[:1]
                ]
            ) from None
        # The deadlines go into the INSERT itself (no read-back, no second write).
        opening_clocks(ticket)
        ticket.save()
        files = _store_uploads(ticket, None, checked, actor=actor, now=now, stored=stored)
        events.record(
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
                **({"attachments": [f.original_name for f in files]} if files else {}),
                **({"follow_up_of": follow_up_of.reference} if follow_up_of else {}),
            },
            reason=ticket.severity_reason,
        )
        if actor.kind == ActorKind.USER and actor.role is not None and actor.user is not None:
            # Self-help that did not solve it (POL-SELF-2): the deflection report.
            mark_request_filed(organization=organization, user=actor.user, ticket=ticket, now=now)
        schedule_deadline(ticket.pk, ticket.clock_version, ticket.next_action_at, now=now)
    return ticket


def ticket_agent_reply(
    *,
    ticket: Ticket,
    actor: Actor,
    body: str,
    now: datetime,
    attachments: Sequence[UploadedFile] = (),
    seen_event_id: int | None = None,
) -> Message:
    """A public answer from support; the first one meets the first-response target.
    Its files are checked before anything is written and stored with it, all or none;
    the customer downloads them from the portal. With ``seen_event_id`` (the newest
    Event the author saw) a reply overtaken by newer activity is refused
    (``collision.StaleReply``); an unassigned request becomes the replier's
    (``REPLY_ASSIGNS``)."""
    agent = _require_agent(actor)
    body = _clean_body(body)
    checked = _check_uploads(attachments)
    stored: list[str] = []
    with _discard_files_on_error(stored), transaction.atomic():
        ticket = _locked(ticket)
        _require_active(ticket)
        collision.require_fresh(ticket, seen_event_id=seen_event_id, user=agent)
        _assign_the_replier(ticket, agent, actor=actor, now=now)
        message = Message.objects.create(
            ticket=ticket,
            kind=MessageKind.REPLY,
            author=actor.user,
            author_role=AuthorRole.AGENT,
            body=body,
            created_at=now,
        )
        files = _store_uploads(ticket, message, checked, actor=actor, now=now, stored=stored)
        before: dict[str, Any] = {"status": ticket.status}
        after: dict[str, Any] = {}
        if ticket.status == Status.NEW:
            before, after = _set_status(ticket, Status.OPEN, now)
        first = ticket.first_response_at is None
        if first:
            ticket.first_response_at = now
            # What the first response was measured against (the compliance report).
            ticket.first_response_due_at = ticket.response_due_at
        ticket.last_agent_update_at = now
        ticket.updated_at = now
        ticket.save()
        after.update({"message": message.pk, "first_response": first})
        if files:
            after["attachments"] = [f.original_name for f in files]
        events.record(
            ticket, actor=actor, kind=EventKind.REPLIED, now=now, before=before, after=after
        )
        refresh_clocks(ticket, now=now)
    return message


def _assign_the_replier(ticket: Ticket, agent: User, *, actor: Actor, now: datetime) -> None:
    """Whoever answers an unassigned request owns it from then on (``REPLY_ASSIGNS``),
    recorded as any assignment is; the caller saves the ticket."""
    if not settings.SUPPORTDESK.REPLY_ASSIGNS or ticket.assignee_id is not None:
        return
    ticket.assignee = agent
    events.record(
        ticket,
        actor=actor,
        kind=EventKind.ASSIGNED,
        now=now,
        before={"assignee": None},
        after={"assignee": agent.email, "by_reply": True},
    )


def ticket_internal_note(
    *,
    ticket: Ticket,
    actor: Actor,
    body: str,
    now: datetime,
    attachments: Sequence[UploadedFile] = (),
) -> Message:
    """A note only support sees; it changes no clock. Its files stay with support too:
    the customer's access excludes a note's attachments."""
    _require_agent(actor)
    body = _clean_body(body)
    checked = _check_uploads(attachments)
    stored: list[str] = []
    with _discard_files_on_error(stored), transaction.atomic():
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
        files = _store_uploads(ticket, message, checked, actor=actor, now=now, stored=stored)
        ticket.updated_at = now
        ticket.save(update_fields=["updated_at"])
        after: dict[str, Any] = {"message": message.pk}
        if files:
            after["attachments"] = [f.original_name for f in files]
        events.record(ticket, actor=actor, kind=EventKind.NOTED, now=now, after=after)
    return message


def ticket_request_information(
    *,
    ticket: Ticket,
    actor: Actor,
    body: str,
    now: datetime,
    attachments: Sequence[UploadedFile] = (),
    seen_event_id: int | None = None,
) -> Message:
    """Ask the customer for something: the ticket waits on them and the
    customer-cooperation clock starts (POL-SEV-7); the response clock pauses. Held when
    stale and assigning the replier as ``ticket_agent_reply``."""
    agent = _require_agent(actor)
    body = _clean_body(body)
    checked = _check_uploads(attachments)
    stored: list[str] = []
    with _discard_files_on_error(stored), transaction.atomic():
        ticket = _locked(ticket)
        _require_active(ticket)
        collision.require_fresh(ticket, seen_event_id=seen_event_id, user=agent)
        if ticket.status == Status.AWAITING_CUSTOMER:
            raise TicketError(ERR_ALREADY_WAITING, code="illegal_transition")
        _assign_the_replier(ticket, agent, actor=actor, now=now)
        message = Message.objects.create(
            ticket=ticket,
            kind=MessageKind.REPLY,
            author=actor.user,
            author_role=AuthorRole.AGENT,
            body=body,
            created_at=now,
        )
        files = _store_uploads(ticket, message, checked, actor=actor, now=now, stored=stored)
        before, after = _set_status(ticket, Status.AWAITING_CUSTOMER, now)
        first = ticket.first_response_at is None
        if first:
            ticket.first_response_at = now
            # What the first response was measured against (the compliance report).
            ticket.first_response_due_at = ticket.response_due_at
        ticket.last_agent_update_at = now
        ticket.updated_at = now
        ticket.save()
        after.update({"message": message.pk, "first_response": first})
        if files:
            after["attachments"] = [f.original_name for f in files]
        events.record(
            ticket,
            actor=actor,
            kind=EventKind.INFORMATION_REQUESTED,
            now=now,
            before=before,
            after=after,
        )
        refresh_clocks(ticket, now=now)
    return message


def ticket_customer_reply(
    *,
    ticket: Ticket,
    actor: Actor,
    body: str,
    now: datetime,
    attachments: Sequence[UploadedFile] = (),
    seen_event_id: int | None = None,
) -> Message:
    """The customer answers. Waiting on them ends (→ open) and the cooperation clock stops
    (POL-SEV-7); a reply to a resolved request reopens it, as the customer clearly still
    needs help — within the reopen window only. The customer is an admin of the
    organization or, answering by e-mail, the request's own contact address (POL-WHO-1).
    With ``seen_event_id`` a reply overtaken by support's answer, another admin's reply
    or a status change is refused (``collision.StaleReply``), as support's is."""
    if not (actor.is_admin_of(ticket.organization_id) or actor.is_contact_of(ticket.pk)):
        raise TicketError(ERR_CUSTOMER_ONLY, code="forbidden")
    body = _clean_body(body)
    checked = _check_uploads(attachments)
    stored: list[str] = []
    with _discard_files_on_error(stored), transaction.atomic():
        ticket = _locked(ticket)
        _require_not_closed(ticket)
        collision.require_fresh(
            ticket, seen_event_id=seen_event_id, user=actor.user, label=actor.label
        )
        if ticket.status == Status.RESOLVED:
            _require_reopen_window(ticket, now)
        message = Message.objects.create(
            ticket=ticket,
            kind=MessageKind.REPLY,
            author=actor.user,
            author_role=AuthorRole.CUSTOMER,
            body=body,
            created_at=now,
        )
        files = _store_uploads(ticket, message, checked, actor=actor, now=now, stored=stored)
        _undo_a_downgrade_the_reply_beat(ticket, actor=actor, now=now)
        before: dict[str, Any] = {"status": ticket.status}
        after: dict[str, Any] = {"status": ticket.status}
        if ticket.status in (Status.AWAITING_CUSTOMER, Status.RESOLVED):
            before, after = _set_status(ticket, Status.OPEN, now)
        ticket.updated_at = now
        ticket.save()
        after["message"] = message.pk
        if files:
            after["attachments"] = [f.original_name for f in files]
        events.record(
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
    agent = _require_agent(actor)
    if assignee is not None and not assignee.is_agent:
        raise TicketError(ERR_ASSIGNEE_NOT_AGENT, code="invalid", field="assignee")
    with transaction.atomic():
        ticket = _locked(ticket)
        _require_active(ticket)
        taking_or_releasing_own = assignee == agent or (
            assignee is None and ticket.assignee_id in (None, agent.pk)
        )
        if not taking_or_releasing_own and not actor.is_supervisor:
            raise TicketError(ERR_ASSIGN_OTHERS, code="forbidden", field="assignee")
        if ticket.assignee_id == (assignee.pk if assignee else None):
            return ticket
        before = {"assignee": ticket.assignee.email if ticket.assignee else None}
        ticket.assignee = assignee
        ticket.updated_at = now
        ticket.save(update_fields=["assignee", "updated_at"])
        events.record(
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
        events.record(
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
    """Support may reopen any resolved request; the customer only within the reopen
    window, after which they file a new one."""
    _require_support_or_admin(ticket, actor)
    with transaction.atomic():
        ticket = _locked(ticket)
        _require_not_closed(ticket)
        if ticket.status != Status.RESOLVED:
            raise TicketError(ERR_NOT_RESOLVED, code="illegal_transition")
        if not (actor.is_agent or actor.is_system):
            _require_reopen_window(ticket, now)
            # The customer says what is still wrong, whichever channel they reopen from.
            if not reason.strip():
                raise TicketError(ERR_REOPEN_REASON, code="required", field="reason")
        before, after = _set_status(ticket, Status.OPEN, now)
        ticket.updated_at = now
        ticket.save()
        events.record(
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
        _close_locked(ticket, actor=actor, now=now)
    return ticket


def _close_locked(
    ticket: Ticket,
    *,
    actor: Actor,
    now: datetime,
    reason: str = "",
    extra: dict[str, Any] | None = None,
) -> None:
    """Close a ticket the caller holds under its row lock: by hand or automatically,
    the same rules and the same Event."""
    _require_not_closed(ticket)
    if ticket.status != Status.RESOLVED:
        raise TicketError(ERR_NOT_RESOLVED, code="illegal_transition")
    before, after = _set_status(ticket, Status.CLOSED, now)
    ticket.updated_at = now
    ticket.save()
    events.record(
        ticket,
        actor=actor,
        kind=EventKind.CLOSED,
        now=now,
        before=before,
        after={**after, **(extra or {})},
        reason=reason,
    )
    refresh_clocks(ticket, now=now)


# The workers' name on the Events of requests they close.
AUTO_CLOSE_WORKER = "auto-close"
AUTO_CLOSE_BATCH = 200


def auto_close_after() -> timedelta | None:
    """How long a request stays resolved before the workers close it; None: never."""
    days = settings.SUPPORTDESK.AUTO_CLOSE_DAYS
    return timedelta(days=days) if days > 0 else None


def tickets_auto_close(*, now: datetime, batch_size: int = AUTO_CLOSE_BATCH) -> int:
    """Close the requests resolved more than ``AUTO_CLOSE_DAYS`` days ago (0: never), as
    ``ticket_close`` does, with the workers as the actor and the reason on the Event.
    Returns how many it closed.

    One transaction per batch, oldest first. Rows another run holds are skipped (SKIP
    LOCKED on PostgreSQL; SQLite serialises writers anyway) and each row is checked again
    under its lock, so two runs at once close every request once. A customer who writes
    after that files a linked follow-up (``ticket_follow_up``)."""
    after = auto_close_after()
    if after is None:
        return 0
    days = settings.SUPPORTDESK.AUTO_CLOSE_DAYS
    cutoff = now - after
    actor = Actor.system(AUTO_CLOSE_WORKER)
    closed = 0
    cursor = 0
    while True:
        with transaction.atomic():
            batch = list(
                Ticket.objects.select_for_update(skip_locked=True)
                .filter(status=Status.RESOLVED, resolved_at__lt=cutoff, pk__gt=cursor)
                .order_by("pk")[:batch_size]
            )
            for ticket in batch:
                _close_locked(
                    ticket,
                    actor=actor,
                    now=now,
                    reason=REASON_AUTO_CLOSED % {"days": days},
                    extra={"auto_close_days": days},
                )
            closed += len(batch)
        if len(batch) < batch_size:
            return closed
        cursor = batch[-1].pk


def _promised_cooperation(ticket: Ticket) -> dict[str, str]:
    """A severity change during a wait keeps the cooperation deadline the customer was
    given when the new one would be earlier (POL-SEV-7: they are never late for a
    deadline they were not told). ``tickets.clocks`` reads this from the Event."""
    if ticket.status != Status.AWAITING_CUSTOMER or ticket.customer_due_at is None:
        return {}
    return {"customer_due_floor": ticket.customer_due_at.isoformat()}


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
        events.record(
            ticket,
            actor=actor,
            kind=EventKind.SEVERITY_CHANGED,
            now=now,
            before=before,
            after={
                "severity": ticket.severity,
                "requested": requested.value,
                **_promised_cooperation(ticket),
            },
            reason=reason,
        )
        refresh_clocks(ticket, now=now)
    return ticket


ERR_NOT_FILED_BY_EMAIL = _("Only a request filed by e-mail is assessed after filing.")
ERR_ALREADY_ASSESSED = _("This request's assessment is already complete.")


def needs_assessment(ticket: Ticket) -> bool:
    """A request filed by e-mail keeps severity C until its admin answers the assessment's
    questions once (POL-SEV-1: the assessment is explicit, never guessed from a mail)."""
    return (
        ticket.channel == Channel.EMAIL
        and ticket.status in Status.active()
        # A follow-up carries the answers of the request it follows (ticket_follow_up).
        and ticket.follow_up_of_id is None
        and not ticket.events.filter(
            kind=EventKind.SEVERITY_CHANGED, reason=REASON_ASSESSED_BY_EMAIL_FILER
        ).exists()
    )


def ticket_complete_assessment(
    *,
    ticket: Ticket,
    actor: Actor,
    category: str,
    product: Service | None,
    impact: str,
    scope: str,
    business_impact: str = "",
    contact_24x7: str = "",
    now: datetime,
) -> Ticket:
    """The admin of a request filed by e-mail answers the questions the e-mail could not:
    the severity is assessed from them as at opening (POL-SEV-1..6, the role's categories
    POL-WHO-2) and the clocks restart from the filing time with the new target."""
    if not actor.is_admin_of(ticket.organization_id):
        raise TicketError(ERR_NOT_ALLOWED, code="forbidden")
    with transaction.atomic():
        ticket = _locked(ticket)
        _require_active(ticket)
        if ticket.channel != Channel.EMAIL:
            raise TicketError(ERR_NOT_FILED_BY_EMAIL, code="illegal_transition")
        if not needs_assessment(ticket):
            raise TicketError(ERR_ALREADY_ASSESSED, code="unchanged")
        draft = TicketDraft(
            title=ticket.title,
            description=ticket.description,
            category=category,
            product=product,
            impact=impact,
            scope=scope,
            business_impact=business_impact,
            contact_24x7=contact_24x7,
            contact_phone=ticket.contact_phone,
            contact_email=ticket.contact_email,
            preferred_contact=ticket.preferred_contact,
            language=ticket.language,
            channel=ticket.channel,
        ).cleaned()
        problems = intake.draft_problems(draft, role=actor.role)
        if problems:
            raise TicketError.together(problems)
        outcome = intake.assess_draft(draft, organization=ticket.organization)
        before = {
            "severity": ticket.severity,
            "category": ticket.category,
            "impact": ticket.impact,
            "scope": ticket.scope,
        }
        ticket.category = draft.category
        ticket.product = draft.product
        ticket.impact = draft.impact
        ticket.scope = draft.scope
        ticket.business_impact = draft.business_impact
        ticket.contact_24x7 = draft.contact_24x7
        # The answers are the opening assessment the e-mail could not make.
        ticket.severity = ticket.original_severity = outcome.severity.value
        ticket.severity_reason = outcome.as_text()
        ticket.updated_at = now
        ticket.save()
        events.record(
            ticket,
            actor=actor,
            kind=EventKind.SEVERITY_CHANGED,
            now=now,
            before=before,
            after={
                "severity": ticket.severity,
                "matrix_severity": outcome.matrix_severity.value,
                "category": ticket.category,
                "impact": ticket.impact,
                "scope": ticket.scope,
                "reasons": [r.code for r in outcome.reasons],
                **_promised_cooperation(ticket),
            },
            reason=REASON_ASSESSED_BY_EMAIL_FILER,
        )
        refresh_clocks(ticket, now=now)
    return ticket


# --- Cooperation lapses (POL-SEV-7), applied by the workers -------------------------------


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
        lower = sev.Severity(before).next_lower()
        try:
            with transaction.atomic():
                if lower is None:
                    event = events.record(
                        ticket,
                        actor=actor,
                        kind=EventKind.REMINDED,
                        now=now,
                        after={"lapse_at": lapse.isoformat()},
                        reason=REASON_REMINDER,
                        step=(0, lapse),
                    )
                else:
                    event = events.record(
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
    events.record(
        ticket,
        actor=actor,
        kind=EventKind.SEVERITY_CHANGED,
        now=now,
        before={"severity": before},
        after={"severity": restored},
        reason=REASON_REPLY_IN_TIME,
    )


# --- Attachments, the reopen window and ratings (customer portal) --------------------------


def _check_uploads(
    files: Sequence[UploadedFile],
) -> list[tuple[UploadedFile, uploads.CheckedUpload]]:
    """Judge every file before anything is written: one bad file refuses them all."""
    if len(files) > uploads.max_files():
        raise TicketError(
            uploads.ERR_TOO_MANY % {"count": uploads.max_files()},
            code="invalid_attachment",
            field="attachments",
        )
    checked = []
    for upload in files:
        try:
            info = uploads.check_file(upload, name=upload.name or "", size=upload.size or 0)
        except uploads.AttachmentRejected as error:
            raise TicketError(
                error.message, code="invalid_attachment", field="attachments"
            ) from error
        checked.append((upload, info))
    return checked


def _store_uploads(
    ticket: Ticket,
    message: Message | None,
    checked: Sequence[tuple[UploadedFile, uploads.CheckedUpload]],
    *,
    actor: Actor,
    now: datetime,
    stored: list[str],
) -> list[Attachment]:
    rows = []
    for upload, info in checked:
        attachment = Attachment(
            organization_id=ticket.organization_id,
            ticket=ticket,
            message=message,
            original_name=info.name,
            content_type=info.content_type,
            size=info.size,
            uploaded_by=actor.user,
            created_at=now,
        )
        attachment.file.save(info.name, upload, save=False)
        if attachment.file.name is not None:
            stored.append(attachment.file.name)
        attachment.save()
        rows.append(attachment)
    return rows


@contextmanager
def _discard_files_on_error(stored: list[str]) -> Iterator[None]:
    """Storage is not transactional: files written before a rollback are removed again,
    so a refused or failed write leaves no orphan on disk."""
    try:
        yield
    except BaseException:
        for name in stored:
            with suppress(OSError):
                default_storage.delete(name)
        raise


def reopen_window() -> timedelta:
    return timedelta(days=settings.SUPPORTDESK.REOPEN_WINDOW_DAYS)


def may_reopen(ticket: Ticket, now: datetime) -> bool:
    """A customer may reopen a resolved request within the window after its resolution."""
    return (
        ticket.status == Status.RESOLVED
        and ticket.resolved_at is not None
        and now <= ticket.resolved_at + reopen_window()
    )


def _require_reopen_window(ticket: Ticket, now: datetime) -> None:
    if not may_reopen(ticket, now):
        raise TicketError(
            ERR_REOPEN_WINDOW
            % {"days": settings.SUPPORTDESK.REOPEN_WINDOW_DAYS, "reference": ticket.reference},
            code="reopen_window",
            field="body",
        )


def _check_score(score: int) -> None:
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise TicketError(ERR_SCORE, code="invalid", field="score")


def _check_comment(comment: str) -> str:
    comment = (comment or "").strip()
    if len(comment) > RATING_COMMENT_MAX_LENGTH:
        raise TicketError(
            _("Keep the comment under %(max)d characters.") % {"max": RATING_COMMENT_MAX_LENGTH},
            code="invalid",
            field="comment",
        )
    return comment


def ticket_rate(
    *,
    ticket: Ticket,
    actor: Actor,
    score: int,
    comment: str,
    now: datetime,
    source: str = RatingSource.PORTAL,
) -> Rating:
    """The customer rates the support on a resolved request (POL-ROLE-2: support collects
    feedback through surveys). One rating per request, whichever way it came (a rating
    from the e-mail survey counts too); it changes no clock."""
    if not actor.is_admin_of(ticket.organization_id):
        raise TicketError(ERR_RATE_CUSTOMER_ONLY, code="forbidden")
    _check_score(score)
    comment = _check_comment(comment)
    with transaction.atomic():
        ticket = _locked(ticket)
        if ticket.status not in (Status.RESOLVED, Status.CLOSED):
            raise TicketError(ERR_NOT_RATEABLE, code="illegal_transition")
        try:
            with transaction.atomic():
                rating = Rating.objects.create(
                    ticket=ticket,
                    score=score,
                    comment=comment,
                    rated_by=actor.user,
                    source=source,
                    created_at=now,
                    updated_at=now,
                )
        except IntegrityError:
            raise TicketError(ERR_ALREADY_RATED, code="already_rated", field="score") from None
        events.record(
            ticket,
            actor=actor,
            kind=EventKind.RATED,
            now=now,
            after={"score": score, "comment": bool(comment), "source": source},
        )
    return rating


# --- The e-mail survey (tickets.survey: signed one-click rating links) ----------------------

ERR_SURVEY_REOPENED = _(
    "This request was reopened, so it cannot be rated now. We will ask you again once it "
    "is resolved."
)
ERR_SURVEY_FINAL = _("This request has already been rated with a comment; thank you.")
ERR_SURVEY_COMMENT = _("Write a comment first, or close this page: your score is saved.")
# Whoever holds the resolved e-mail rates through its signed link: no person is known.
SURVEY_ACTOR_LABEL = "e-mail survey"


def survey_actor() -> Actor:
    return Actor(kind=ActorKind.USER, label=SURVEY_ACTOR_LABEL)


def ticket_rate_from_survey(
    *, ticket: Ticket, score: int, comment: str | None = None, now: datetime
) -> Rating:
    """A score from a signed link of the resolved e-mail (POL-ROLE-2), or that score with
    the comment from the page the link opens. The signature was the access check.

    The latest click wins until a comment is sent: mail scanners that open every link
    of a message before the customer does must not lock in a score the customer never
    chose, so a later click changes the score (``updated_at``, another RATED Event with
    before and after); the comment makes the rating final. A rating given in the portal
    or the API is the customer's deliberate answer and is never changed by a link; both
    ways share the one rating per request."""
    _check_score(score)
    if comment is not None:
        comment = _check_comment(comment)
        if not comment:
            raise TicketError(ERR_SURVEY_COMMENT, code="required", field="comment")
    actor = survey_actor()
    with transaction.atomic():
        ticket = _locked(ticket)
        if ticket.status not in (Status.RESOLVED, Status.CLOSED):
            raise TicketError(ERR_SURVEY_REOPENED, code="illegal_transition")
        # Under the ticket's lock, as ``ticket_rate`` takes it: no second rating appears.
        rating = Rating.objects.filter(ticket=ticket).first()
        after: dict[str, Any] = {
            "score": score,
            "comment": bool(comment),
            "source": RatingSource.SURVEY,
        }
        if rating is None:
            rating = Rating.objects.create(
                ticket=ticket,
                score=score,
                comment=comment or "",
                rated_by=None,
                source=RatingSource.SURVEY,
                created_at=now,
                updated_at=now,
            )
            events.record(ticket, actor=actor, kind=EventKind.RATED, now=now, after=after)
            return rating
        if rating.source != RatingSource.SURVEY:
            raise TicketError(ERR_ALREADY_RATED, code="already_rated", field="score")
        if rating.comment:
            raise TicketError(ERR_SURVEY_FINAL, code="already_rated", field="score")
        if rating.score == score and not comment:
            return rating  # the same link opened again (a scanner, a second click)
        before = {"score": rating.score}
        rating.score = score
        rating.comment = comment or ""
        rating.updated_at = now
        rating.save(update_fields=["score", "comment", "updated_at"])
        events.record(
            ticket, actor=actor, kind=EventKind.RATED, now=now, before=before, after=after
        )
    return rating


# --- Follow-ups: writing again after the request was closed ------------------------------

ERR_FOLLOW_UP_OPEN = _("This request is still open to replies: reply to it instead.")


def may_file_follow_up(ticket: Ticket, now: datetime) -> bool:
    """Closed, or resolved past the reopen window: writing again files a new request
    linked to this one (``ticket_follow_up``) instead of reopening it."""
    return ticket.status == Status.CLOSED or (
        ticket.status == Status.RESOLVED and not may_reopen(ticket, now)
    )


def follow_up_title(ticket: Ticket) -> str:
    """ "Follow-up to SR-000123: <title>" in the request's language, cut to the field."""
    limit = Ticket._meta.get_field("title").max_length or 200
    with translation.override(ticket.language or "en"):
        title = gettext("Follow-up to %(reference)s: %(title)s") % {
            "reference": ticket.reference,
            "title": ticket.title,
        }
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


def ticket_follow_up(
    *,
    ticket: Ticket,
    actor: Actor,
    body: str,
    now: datetime,
    channel: str = Channel.WEB,
    attachments: Sequence[UploadedFile] = (),
) -> Ticket:
    """The customer writes again about a closed request (or a resolved one past the
    reopen window): a new request through the one intake path (``ticket_create``: the
    same rules, severity assessed again from the same answers), with the closed one's
    organization, category, product, impact, scope, contact details and language, the
    customer's text as its description, and ``follow_up_of`` set; the closed request
    records a FOLLOW_UP Event naming the new one. Who may: as for a reply (POL-WHO-1)."""
    if not (actor.is_admin_of(ticket.organization_id) or actor.is_contact_of(ticket.pk)):
        raise TicketError(ERR_CUSTOMER_ONLY, code="forbidden")
    body = _clean_body(body)
    with transaction.atomic():
        ticket = _locked(ticket)
        if not may_file_follow_up(ticket, now):
            raise TicketError(ERR_FOLLOW_UP_OPEN, code="illegal_transition")
        draft = TicketDraft(
            title=follow_up_title(ticket),
            description=body,
            category=ticket.category,
            product=ticket.product,
            impact=ticket.impact,
            scope=ticket.scope,
            business_impact=ticket.business_impact,
            contact_24x7=ticket.contact_24x7,
            contact_phone=ticket.contact_phone or None,
            contact_email=ticket.contact_email,
            preferred_contact=ticket.preferred_contact,
            language=ticket.language,
            channel=channel,
        )
        follow_up = ticket_create(
            organization=ticket.organization,
            actor=actor,
            draft=draft,
            now=now,
            attachments=attachments,
            follow_up_of=ticket,
        )
        events.record(
            ticket,
            actor=actor,
            kind=EventKind.FOLLOW_UP,
            now=now,
            after={"follow_up": follow_up.reference, "ticket": follow_up.pk},
        )
    return follow_up


# The highest escalation level: level 2 tells the duty manager (workers issue).
MAX_ESCALATION_LEVEL = 2


def ticket_escalate(*, ticket: Ticket, actor: Actor, reason: str, now: datetime) -> Ticket:
    """An agent escalates by hand, one level (POL-ROLE-2 "troubleshoots and escalates"):
    level 1 tells the assignee and the supervisors, level 2 the duty manager, as the
    workers' escalations do. The response clock is not touched; the workers skip the
    steps the ticket has already reached."""
    _require_agent(actor)
    reason = (reason or "").strip()
    if not reason:
        raise TicketError(ERR_ESCALATE_REASON, code="required", field="reason")
    with transaction.atomic():
        ticket = _locked(ticket)
        _require_active(ticket)
        if ticket.escalation_level >= MAX_ESCALATION_LEVEL:
            raise TicketError(ERR_TOP_LEVEL, code="illegal_transition")
        before = ticket.escalation_level
        ticket.escalation_level = before + 1
        ticket.updated_at = now
        ticket.save(update_fields=["escalation_level", "updated_at"])
        events.record(
            ticket,
            actor=actor,
            kind=EventKind.ESCALATED,
            now=now,
            before={"level": before},
            after={"level": ticket.escalation_level, "manual": True},
            reason=reason,
        )
        # The next worker step depends on the level reached.
        refresh_clocks(ticket, now=now)
    return ticket


# Contact details the customer keeps current for the life of the request (POL-SLA-2).
CONTACT_FIELDS = ("contact_phone", "contact_email", "preferred_contact", "language")


def ticket_update_contact(
    *, ticket: Ticket, actor: Actor, changes: dict[str, Any], now: datetime
) -> Ticket:
    """The customer's admins correct how support reaches them (POL-SLA-2: accurate contact
    details for the life of the request). What the request is about — title, description,
    category, impact — stays as filed: the severity was assessed from it (POL-SEV-1), so
    later corrections go into a reply instead."""
    if not actor.is_admin_of(ticket.organization_id):
        raise TicketError(ERR_CUSTOMER_ONLY, code="forbidden")
    unknown = set(changes) - set(CONTACT_FIELDS)
    if unknown:
        raise TicketError(ERR_NOT_ALLOWED, code="invalid", field=sorted(unknown)[0])
    for field, choices in (("preferred_contact", ContactMethod), ("language", Language)):
        if field in changes and changes[field] not in choices.values:
            raise TicketError(
                ERR_UNKNOWN_CHOICE % {"value": repr(changes[field])},
                code="invalid_choice",
                field=field,
            )
    with transaction.atomic():
        ticket = _locked(ticket)
        _require_not_closed(ticket)
        before = {field: str(getattr(ticket, field) or "") for field in changes}
        for field, value in changes.items():
            setattr(ticket, field, value or "")
        if not ticket.contact_email and not ticket.contact_phone:
            raise TicketError(ERR_NO_CONTACT, code="required", field="contact_email")
        if ticket.preferred_contact == ContactMethod.PHONE and not ticket.contact_phone:
            raise TicketError(ERR_PHONE_FOR_PHONE, code="required", field="contact_phone")
        after = {field: str(getattr(ticket, field) or "") for field in changes}
        changed = [field for field in changes if before[field] != after[field]]
        if not changed:
            return ticket
        ticket.updated_at = now
        ticket.save(update_fields=[*changed, "updated_at"])
        events.record(
            ticket,
            actor=actor,
            kind=EventKind.CONTACT_CHANGED,
            now=now,
            before={field: before[field] for field in changed},
            after={field: after[field] for field in changed},
        )
    return ticket


# --- Saved queue views (the agent desk) ----------------------------------------------------

ERR_VIEW_NAME_TAKEN = _("You already have a view with this name.")


def saved_view_create(*, user: User, name: str, query: str) -> SavedView:
    """Save the agent's current queue filters under a name of their choosing."""
    _require_agent(Actor.for_user(user))
    try:
        with transaction.atomic():
            return SavedView.objects.create(user=user, name=name.strip(), query=query)
    except IntegrityError:
        raise TicketError(ERR_VIEW_NAME_TAKEN, code="duplicate", field="name") from None


def saved_view_delete(*, user: User, view_id: int) -> bool:
    """Remove one of the agent's own views; False when they have none with this id."""
    deleted, _rows = SavedView.objects.filter(user=user, pk=view_id).delete()
    return bool(deleted)

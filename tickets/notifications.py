"""Who hears about an Event, in which language, with what: Event → e-mail notifications.

Pure-ish: it reads the rows an Event points at (preloaded once per batch by
:func:`prefetch`) and returns :class:`Notification` values. It neither renders nor
sends; ``tickets.outbox`` does both, after commit, with retries.

=============================  =============================================================
event                          recipients (customer: ``ticket.language``; staff: their own)
=============================  =============================================================
CREATED                        the contact e-mail: confirmation, severity and why
REPLIED, INFORMATION_REQUESTED the contact e-mail, with the agent's message
CUSTOMER_REPLIED               the assignee, with the customer's message; nobody if unassigned
ASSIGNED                       the new assignee (not when they took it themselves)
WARNED                         the assignee; all supervisors if unassigned
ESCALATED level 1              the assignee and all supervisors
ESCALATED level 2              the duty manager (English) and all supervisors
DOWNGRADED, REMINDED           the contact e-mail, with the reason (POL-SEV-7)
RESOLVED                       the contact e-mail; they will be asked to rate the support
SEVERITY_CHANGED               the contact e-mail, with the reason
NOTED, RATED, REOPENED, CLOSED nobody
=============================  =============================================================

Staff means active users: a deactivated assignee is treated as no assignee. A request
filed with a phone number only has no contact e-mail, so its customer events notify
nobody. Recipients are de-duplicated (case-insensitively) and grouped by language, one
e-mail per language.

Every text that depends on the reader's language is made here under
``translation.override(language)``: reasons stored on Events are English msgids (marked
with ``gettext_noop``) and are translated now, for the reader, not when the Event was
written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext

from severity import assessment
from severity.choices import Severity
from tenants.models import User
from tickets.models import Attachment, Event, EventKind, Message, MessageKind, Status, Ticket
from tickets.reasons import REASON_DOWNGRADE, REASON_REMINDER

Context = dict[str, Any]

# Kinds whose ``after["message"]`` is the Message the e-mail quotes.
_WITH_MESSAGE = frozenset(
    {EventKind.REPLIED, EventKind.INFORMATION_REQUESTED, EventKind.CUSTOMER_REPLIED}
)
# Kinds that may need the list of supervisors.
_TO_SUPERVISORS = frozenset({EventKind.WARNED, EventKind.ESCALATED})


@dataclass(frozen=True, slots=True)
class Notification:
    """One e-mail to write: ``emails/<template>{_subject.txt,.txt,.html}`` with ``context``,
    rendered in ``language``."""

    to: list[str]
    language: str
    template: str
    context: Context
    # Mail to the ticket's customer: each recipient gets their own signed reply address.
    customer: bool = False


class Prefetched:
    """What the notifications of a batch of Events need beyond the Events' own rows
    (their ticket, organization and assignee come with ``select_related``): the quoted
    messages, the staff named by ASSIGNED events, and the supervisors. A fixed number of
    queries per batch, however many Events it holds."""

    def __init__(self, events: Sequence[Event]) -> None:
        message_ids = {
            event.after.get("message") for event in events if event.kind in _WITH_MESSAGE
        }
        message_ids = {pk for pk in message_ids if isinstance(pk, int)}
        self.messages: dict[int, Message] = (
            Message.objects.select_related("author").in_bulk(message_ids) if message_ids else {}
        )
        # The files of the quoted messages, read only when an Event says it brought some.
        with_files = {
            event.after.get("message")
            for event in events
            if event.kind in _WITH_MESSAGE and event.after.get("attachments")
        }
        self.files: dict[int, list[Attachment]] = {}
        if with_files & set(self.messages):
            for attachment in Attachment.objects.filter(
                message_id__in=with_files & set(self.messages)
            ).order_by("pk"):
                if attachment.message_id is not None:
                    self.files.setdefault(attachment.message_id, []).append(attachment)
        emails = {
            event.after["assignee"].lower()
            for event in events
            if event.kind == EventKind.ASSIGNED and isinstance(event.after.get("assignee"), str)
        }
        self.staff: dict[str, User] = (
            {user.email.lower(): user for user in User.objects.agents().filter(email__in=emails)}
            if emails
            else {}
        )
        self._supervisors: list[User] | None = None

    @property
    def supervisors(self) -> list[User]:
        if self._supervisors is None:
            self._supervisors = list(User.objects.supervisors().order_by("email"))
        return self._supervisors


def prefetch(events: Sequence[Event]) -> Prefetched:
    return Prefetched(events)


def with_relations(events: Iterable[Event]) -> list[Event]:
    """The Events re-read with what ``notifications_for`` follows, in one query."""
    ids = [event.pk for event in events]
    return list(
        Event.objects.filter(pk__in=ids)
        .select_related("ticket__organization", "ticket__assignee")
        .order_by("created_at", "pk")
    )


def notifications_for(event: Event, *, prefetched: Prefetched | None = None) -> list[Notification]:
    """The e-mails ``event`` calls for; an empty list when it tells nobody.

    Pass ``prefetched`` (from :func:`prefetch` over the batch) when mapping many Events
    loaded with ``select_related("ticket__organization", "ticket__assignee")``. Called
    alone, the function re-reads the Event with its ticket (an Event reached through
    ``ticket.events`` carries that possibly stale ticket instance).
    """
    if event.ticket_id is None:
        return []
    if prefetched is None:
        fresh = with_relations([event])
        if not fresh:
            return []
        event, prefetched = fresh[0], Prefetched(fresh)
    build = _BUILDERS.get(event.kind)
    ticket = event.ticket
    if build is None or ticket is None:
        return []
    return build(event, ticket, prefetched)


# --- Recipients ----------------------------------------------------------------------------


def _language(code: str | None) -> str:
    available = {language for language, _name in settings.LANGUAGES}
    return code if code in available else settings.LANGUAGE_CODE


def _notifications(
    template: str,
    recipients: Iterable[tuple[str, str]],
    context: Callable[[], Context],
    *,
    customer: bool = False,
) -> list[Notification]:
    """One Notification per language; each address once (the first language wins)."""
    seen: set[str] = set()
    by_language: dict[str, list[str]] = {}
    for email, language in recipients:
        address = (email or "").strip()
        if not address or address.lower() in seen:
            continue
        seen.add(address.lower())
        by_language.setdefault(_language(language), []).append(address)
    notifications = []
    for language, to in by_language.items():
        with translation.override(language):
            notifications.append(
                Notification(
                    to=to,
                    language=language,
                    template=template,
                    context=context(),
                    customer=customer,
                )
            )
    return notifications


def _customer(ticket: Ticket, template: str, extra: Callable[[], Context]) -> list[Notification]:
    def context() -> Context:
        return {**_ticket_context(ticket), "url": _portal_url(ticket), **extra()}

    return _notifications(
        template, [(ticket.contact_email, ticket.language)], context, customer=True
    )


def _staff(
    ticket: Ticket, template: str, people: Iterable[User | str], extra: Callable[[], Context]
) -> list[Notification]:
    """``people``: staff users (in their language) or bare addresses (in English)."""
    recipients = [
        (person, "en") if isinstance(person, str) else (person.email, person.language)
        for person in people
    ]

    def context() -> Context:
        assignee = _active_assignee(ticket)
        return {
            **_ticket_context(ticket),
            "url": settings.SITE_URL + reverse("desk:home"),
            "assignee": assignee.get_full_name() if assignee else "",
            **extra(),
        }

    return _notifications(template, recipients, context)


def _active_assignee(ticket: Ticket) -> User | None:
    assignee = ticket.assignee
    return assignee if assignee is not None and assignee.is_active else None


# --- Context -------------------------------------------------------------------------------


def _ticket_context(ticket: Ticket) -> Context:
    return {
        "reference": ticket.reference,
        "title": ticket.title,
        "organization": ticket.organization.name,
        "severity": _severity_label(ticket.severity),
    }


def _severity_label(value: str | None) -> str:
    if not value:
        return ""
    try:
        return str(Severity(value).label)
    except ValueError:
        return value


def _portal_url(ticket: Ticket) -> str:
    path = reverse(
        "portal:request_detail", kwargs={"org": ticket.organization.slug, "number": ticket.pk}
    )
    return settings.SITE_URL + path


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    """A moment in the reader's language and the given zone, with the zone's name."""
    if moment is None:
        return ""
    local = timezone.localtime(moment, zone)
    return f"{formats.date_format(local, 'DATETIME_FORMAT')} ({zone.key})"


def _translated(msgid: str) -> str:
    # gettext("") is the catalog's header, never a reason.
    return gettext(msgid) if msgid else ""


def _message_body(event: Event, prefetched: Prefetched) -> tuple[str, Message | None]:
    """The public message an event quotes; never an internal note, never another
    ticket's message."""
    message = prefetched.messages.get(event.after.get("message"))
    if message is None or message.ticket_id != event.ticket_id:
        return "", None
    if message.kind != MessageKind.REPLY:
        return "", None
    return message.body, message


def _file_links(
    ticket: Ticket, message: Message | None, prefetched: Prefetched
) -> list[dict[str, str]]:
    """Support's files of a public message, as portal links: the customer downloads them
    signed in, so a forwarded e-mail hands nobody the files themselves."""
    if message is None:
        return []
    return [
        {
            "name": attachment.original_name,
            "size": filesizeformat(attachment.size),
            "url": settings.SITE_URL
            + reverse(
                "portal:attachment_download",
                kwargs={
                    "org": ticket.organization.slug,
                    "number": ticket.pk,
                    "attachment": attachment.pk,
                },
            ),
        }
        for attachment in prefetched.files.get(message.pk, [])
    ]


def _creation_reasons(event: Event, ticket: Ticket) -> str:
    """Why the request got its severity, in the reader's language: assessed again (it is
    pure and deterministic), used only when it reproduces the stored outcome; otherwise
    the text stored when the request was filed."""
    try:
        outcome = assessment.assess(
            category=ticket.category,
            impact=ticket.impact,
            scope=ticket.scope,
            contract=ticket.organization.contract,
            has_business_impact_statement=bool(ticket.business_impact.strip()),
            has_24x7_contact=bool(ticket.contact_24x7.strip()),
        )
    except (TypeError, ValueError):
        return event.reason
    same = outcome.severity.value == event.after.get("severity") and [
        reason.code for reason in outcome.reasons
    ] == event.after.get("reasons")
    return outcome.as_text() if same else event.reason


# --- One builder per kind ------------------------------------------------------------------

Builder = Callable[[Event, Ticket, Prefetched], list[Notification]]


def _created(event: Event, ticket: Ticket, prefetched: Prefetched) -> list[Notification]:
    return _customer(
        ticket,
        "request_received",
        lambda: {
            "severity": _severity_label(event.after.get("severity", ticket.severity)),
            "severity_reason": _creation_reasons(event, ticket),
        },
    )


def _replied(event: Event, ticket: Ticket, prefetched: Prefetched) -> list[Notification]:
    body, message = _message_body(event, prefetched)
    files = _file_links(ticket, message, prefetched)
    return _customer(ticket, "agent_replied", lambda: {"body": body, "files": files})


def _information_requested(
    event: Event, ticket: Ticket, prefetched: Prefetched
) -> list[Notification]:
    body, message = _message_body(event, prefetched)
    files = _file_links(ticket, message, prefetched)
    waiting = ticket.status == Status.AWAITING_CUSTOMER

    def extra() -> Context:
        due = ticket.customer_due_at if waiting else None
        return {"body": body, "files": files, "reply_by": _when(due, ticket.organization.zone)}

    return _customer(ticket, "information_requested", extra)


def _customer_replied(event: Event, ticket: Ticket, prefetched: Prefetched) -> list[Notification]:
    assignee = _active_assignee(ticket)
    if assignee is None:
        return []
    body, message = _message_body(event, prefetched)
    author = message.author if message is not None else None
    return _staff(
        ticket,
        "customer_replied",
        [assignee],
        lambda: {"body": body, "author": str(author) if author else event.actor_label},
    )


def _assigned(event: Event, ticket: Ticket, prefetched: Prefetched) -> list[Notification]:
    email = event.after.get("assignee")
    assignee = prefetched.staff.get(email.lower()) if isinstance(email, str) else None
    if assignee is None or assignee.pk == event.actor_user_id:
        return []  # unassigned, gone, or they took it themselves
    return _staff(ticket, "assigned", [assignee], lambda: {"assigned_by": event.actor_label})


def _warned(event: Event, ticket: Ticket, prefetched: Prefetched) -> list[Notification]:
    assignee = _active_assignee(ticket)
    people = [assignee] if assignee is not None else prefetched.supervisors
    return _staff(
        ticket,
        "deadline_warning",
        people,
        lambda: {
            "reason": _translated(event.reason),
            "response_due": _when(ticket.response_due_at, ZoneInfo("UTC")),
        },
    )


def _escalated(event: Event, ticket: Ticket, prefetched: Prefetched) -> list[Notification]:
    level = event.after.get("level", 1)
    level = level if isinstance(level, int) else 1
    people: list[User | str] = []
    if level >= 2:
        people.append(settings.SUPPORTDESK.DUTY_MANAGER_EMAIL)
    else:
        assignee = _active_assignee(ticket)
        people.extend([assignee] if assignee is not None else [])
    people.extend(prefetched.supervisors)
    return _staff(
        ticket,
        "escalated",
        people,
        lambda: {"level": level, "reason": _translated(event.reason)},
    )


def _downgraded(event: Event, ticket: Ticket, prefetched: Prefetched) -> list[Notification]:
    before = event.before.get("severity", "")
    after = event.after.get("severity", "")

    def extra() -> Context:
        # The stored reason has the severities substituted in English: translate the
        # msgid, then substitute.
        reason = gettext(REASON_DOWNGRADE) % {"before": before, "after": after}
        return {
            "reason": reason,
            "severity_before": _severity_label(before),
            "severity_after": _severity_label(after),
        }

    return _customer(ticket, "severity_lowered", extra)


def _reminded(event: Event, ticket: Ticket, prefetched: Prefetched) -> list[Notification]:
    return _customer(
        ticket, "reminder", lambda: {"reason": _translated(event.reason or REASON_REMINDER)}
    )


def _resolved(event: Event, ticket: Ticket, prefetched: Prefetched) -> list[Notification]:
    # The reason is the resolver's own words: quoted as written, never translated.
    return _customer(ticket, "resolved", lambda: {"note": event.reason})


def _severity_changed(event: Event, ticket: Ticket, prefetched: Prefetched) -> list[Notification]:
    return _customer(
        ticket,
        "severity_changed",
        lambda: {
            "severity_before": _severity_label(event.before.get("severity")),
            "severity_after": _severity_label(event.after.get("severity")),
            # An agent's words, or a worker's msgid (translated; other text unchanged).
            "reason": _translated(event.reason),
        },
    )


def _nobody(event: Event, ticket: Ticket, prefetched: Prefetched) -> list[Notification]:
    return []


_BUILDERS: dict[str, Builder] = {
    EventKind.CREATED: _created,
    EventKind.REPLIED: _replied,
    EventKind.INFORMATION_REQUESTED: _information_requested,
    EventKind.CUSTOMER_REPLIED: _customer_replied,
    EventKind.ASSIGNED: _assigned,
    EventKind.WARNED: _warned,
    EventKind.ESCALATED: _escalated,
    EventKind.DOWNGRADED: _downgraded,
    EventKind.REMINDED: _reminded,
    EventKind.RESOLVED: _resolved,
    EventKind.SEVERITY_CHANGED: _severity_changed,
    EventKind.NOTED: _nobody,
    EventKind.RATED: _nobody,
    EventKind.REOPENED: _nobody,
    EventKind.CLOSED: _nobody,
}

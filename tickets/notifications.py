"""Who hears about an Event, in which language, with what: Event → e-mail notifications.

Pure-ish: it reads the rows an Event points at (preloaded once per batch by
:func:`prefetch`) and returns :class:`Notification` values. It neither renders nor
sends; ``tickets.outbox`` does both, after commit, with retries.

=============================  =============================================================
event                          recipients (customer: ``ticket.language``; staff: their own)
=============================  =============================================================
CREATED                        the contact e-mail: confirmation, severity and why
REPLIED, INFORMATION_REQUESTED the contact e-mail, with the agent's message
CREATED (severity A)           and the staff: "A new Severity A request"
CUSTOMER_REPLIED, REOPENED     the staff, with the customer's message or reason
ASSIGNED, WARNED, ESCALATED    the staff
DOWNGRADED, REMINDED           the contact e-mail, with the reason (POL-SEV-7)
RESOLVED                       the contact e-mail, with signed one-click rating links
SEVERITY_CHANGED               the contact e-mail, with the reason
NOTED, RATED, CLOSED           nobody
FOLLOW_UP                      nobody (the new request's CREATED tells the customer)
=============================  =============================================================

Which staff are told is not decided here: the sources registered with
:func:`register_staff_recipients` (the notices app: its rules and each person's
preferences) name them per Event; this module writes what they read. REPLIED,
INFORMATION_REQUESTED and RESOLVED also go to the colleagues the sources registered with
:func:`register_cc_recipients` keep informed.

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

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from core import moments
from severity import assessment
from severity.choices import Severity
from tenants.models import User
from tenants.zones import desk_zone, known_zones, zone_for
from tickets import survey
from tickets.models import Attachment, Event, EventKind, Message, MessageKind, Status, Ticket
from tickets.reasons import event_reason, without_policy_ids

Context = dict[str, Any]

# Kinds whose ``after["message"]`` is the Message the e-mail quotes.
_WITH_MESSAGE = frozenset(
    {EventKind.REPLIED, EventKind.INFORMATION_REQUESTED, EventKind.CUSTOMER_REPLIED}
)

# Who on staff hears about each Event of a batch (by Event id), and which colleagues are
# kept informed of each ticket's public updates (by ticket id, as (address, language)).
StaffRecipients = Callable[[Sequence[Event]], Mapping[int, Sequence[User | str]]]
# A colleague kept informed: (address, language, their own time zone or "" for the
# organization's).
CcRecipient = tuple[str, str, str]
CcRecipients = Callable[[Sequence[Event]], Mapping[int, Sequence[CcRecipient]]]
_staff_sources: list[StaffRecipients] = []
_cc_sources: list[CcRecipients] = []


def register_staff_recipients(source: StaffRecipients) -> None:
    """Let another app name the staff e-mailed about Events (``notices`` does, in its
    ``AppConfig.ready``); registering twice has no effect."""
    if source not in _staff_sources:
        _staff_sources.append(source)


def register_cc_recipients(source: CcRecipients) -> None:
    """Let another app add the colleagues kept informed of a ticket's public updates."""
    if source not in _cc_sources:
        _cc_sources.append(source)


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
    messages, the staff told and the colleagues kept informed. A fixed number of
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
        self.staff_to: dict[int, list[User | str]] = {}
        for staff_source in _staff_sources:
            for event_id, people in staff_source(events).items():
                self.staff_to.setdefault(event_id, []).extend(people)
        self.cc: dict[int, list[CcRecipient]] = {}
        for cc_source in _cc_sources:
            for ticket_id, colleagues in cc_source(events).items():
                self.cc.setdefault(ticket_id, []).extend(colleagues)


def prefetch(events: Sequence[Event]) -> Prefetched:
    return Prefetched(events)


def with_relations(events: Iterable[Event]) -> list[Event]:
    """The Events re-read with what ``notifications_for`` follows, in one query."""
    ids = [event.pk for event in events]
    return list(
        Event.objects.filter(pk__in=ids)
        .select_related("ticket__organization", "ticket__assignee", "ticket__created_by")
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
    recipients: Iterable[tuple[str, str, ZoneInfo]],
    context: Callable[[ZoneInfo], Context],
    *,
    customer: bool = False,
) -> list[Notification]:
    """One Notification per language and time zone, its times written in that zone with
    the zone in words; each address once (the first language and zone win)."""
    seen: set[str] = set()
    by_reader: dict[tuple[str, str], tuple[ZoneInfo, list[str]]] = {}
    for email, language, zone in recipients:
        address = (email or "").strip()
        if not address or address.lower() in seen:
            continue
        seen.add(address.lower())
        by_reader.setdefault((_language(language), zone.key), (zone, []))[1].append(address)
    notifications = []
    for (language, _key), (zone, to) in by_reader.items():
        with translation.override(language):
            notifications.append(
                Notification(
                    to=to,
                    language=language,
                    template=template,
                    context=context(zone),
                    customer=customer,
                )
            )
    return notifications


def _customer_zone(ticket: Ticket, address: str, own_zone: str = "") -> ZoneInfo:
    """The zone a customer reads the mail in: their own, else their organization's. The
    contact address is known as a person when the requester filed with it."""
    requester = ticket.created_by
    if not own_zone and requester is not None and requester.email.lower() == address.lower():
        own_zone = requester.time_zone
    if own_zone in known_zones():
        return ZoneInfo(own_zone)
    return ticket.organization.zone


def _customer(
    ticket: Ticket,
    template: str,
    extra: Callable[[ZoneInfo], Context],
    also: Iterable[CcRecipient] = (),
) -> list[Notification]:
    """To the contact e-mail, and ``also`` the colleagues kept informed, each reading
    times in their own zone."""

    def context(zone: ZoneInfo) -> Context:
        return {**_ticket_context(ticket), "url": _portal_url(ticket), **extra(zone)}

    contact = ticket.contact_email or ""
    recipients = [
        (contact, ticket.language, _customer_zone(ticket, contact)),
        *((email, lang, _customer_zone(ticket, email, zone)) for email, lang, zone in also),
    ]
    return _notifications(template, recipients, context, customer=True)


def _staff(
    ticket: Ticket,
    template: str,
    people: Iterable[User | str],
    extra: Callable[[ZoneInfo], Context],
) -> list[Notification]:
    """``people``: staff users (in their language and time zone) or bare addresses (in
    English, on the desk's time)."""
    recipients = [
        (person, "en", desk_zone())
        if isinstance(person, str)
        else (person.email, person.language, zone_for(person, look_up_organization=False))
        for person in people
    ]

    def context(zone: ZoneInfo) -> Context:
        assignee = _active_assignee(ticket)
        return {
            **_ticket_context(ticket),
            # Straight to the request on the desk: the reader acts on this one.
            "url": settings.SITE_URL + reverse("desk:ticket", kwargs={"number": ticket.pk}),
            "assignee": assignee.get_full_name() if assignee else "",
            **extra(zone),
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
    """A moment in the reader's language and the given zone, with the zone's name in
    words ("7 Dec 2026, 14:05 Warsaw time"), never its id."""
    if moment is None:
        return ""
    return moments.format_moment(moment, zone=zone)


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
        return without_policy_ids(event.reason)
    same = outcome.severity.value == event.after.get("severity") and [
        reason.code for reason in outcome.reasons
    ] == event.after.get("reasons")
    return outcome.as_text() if same else without_policy_ids(event.reason)


# --- One builder per kind ------------------------------------------------------------------

Builder = Callable[[Event, Ticket, Prefetched], list[Notification]]


def _to_staff(
    event: Event,
    ticket: Ticket,
    prefetched: Prefetched,
    template: str,
    extra: Callable[[ZoneInfo], Context],
) -> list[Notification]:
    """The staff mail of ``template`` to those told of ``event``: the assignee's says
    the ticket is theirs (``yours``), the others' does not."""
    people = prefetched.staff_to.get(event.pk, [])
    assignee = _active_assignee(ticket)
    yours = [p for p in people if isinstance(p, User) and assignee and p.pk == assignee.pk]
    others = [p for p in people if p not in yours]
    return _staff(ticket, template, yours, lambda zone: {**extra(zone), "yours": True}) + _staff(
        ticket, template, others, lambda zone: {**extra(zone), "yours": False}
    )


def _created(event: Event, ticket: Ticket, prefetched: Prefetched) -> list[Notification]:
    return _new_request(event, ticket, prefetched) + _customer(
        ticket,
        "request_received",
        lambda _zone: {
            "severity": _severity_label(event.after.get("severity", ticket.severity)),
            "severity_reason": _creation_reasons(event, ticket),
            # Filed by writing again to a closed request (ticket_follow_up).
            "follow_up_of": str(event.after.get("follow_up_of") or ""),
        },
    )


def _replied(event: Event, ticket: Ticket, prefetched: Prefetched) -> list[Notification]:
    body, message = _message_body(event, prefetched)
    files = _file_links(ticket, message, prefetched)
    return _customer(
        ticket,
        "agent_replied",
        lambda _zone: {"body": body, "files": files},
        also=prefetched.cc.get(ticket.pk, ()),
    )


def _information_requested(
    event: Event, ticket: Ticket, prefetched: Prefetched
) -> list[Notification]:
    body, message = _message_body(event, prefetched)
    files = _file_links(ticket, message, prefetched)
    waiting = ticket.status == Status.AWAITING_CUSTOMER

    def extra(zone: ZoneInfo) -> Context:
        due = ticket.customer_due_at if waiting else None
        return {"body": body, "files": files, "reply_by": _when(due, zone)}

    return _customer(ticket, "information_requested", extra, also=prefetched.cc.get(ticket.pk, ()))


def _new_request(event: Event, ticket: Ticket, prefetched: Prefetched) -> list[Notification]:
    return _to_staff(
        event,
        ticket,
        prefetched,
        "new_request",
        lambda _zone: {"reason": _creation_reasons(event, ticket)},
    )


def _customer_replied(event: Event, ticket: Ticket, prefetched: Prefetched) -> list[Notification]:
    body, message = _message_body(event, prefetched)
    author = message.author if message is not None else None
    return _to_staff(
        event,
        ticket,
        prefetched,
        "customer_replied",
        lambda _zone: {"body": body, "author": str(author) if author else event.actor_label},
    )


def _reopened(event: Event, ticket: Ticket, prefetched: Prefetched) -> list[Notification]:
    # The reason is the customer's own words: quoted as written, never translated.
    return _to_staff(
        event,
        ticket,
        prefetched,
        "reopened",
        lambda _zone: {"reason": event.reason, "author": event.actor_label},
    )


def _assigned(event: Event, ticket: Ticket, prefetched: Prefetched) -> list[Notification]:
    return _to_staff(
        event, ticket, prefetched, "assigned", lambda _zone: {"assigned_by": event.actor_label}
    )


def _warned(event: Event, ticket: Ticket, prefetched: Prefetched) -> list[Notification]:
    return _to_staff(
        event,
        ticket,
        prefetched,
        "deadline_warning",
        lambda zone: {
            "reason": _translated(event.reason),
            "response_due": _when(ticket.response_due_at, zone),
        },
    )


def _escalated(event: Event, ticket: Ticket, prefetched: Prefetched) -> list[Notification]:
    level = event.after.get("level", 1)
    level = level if isinstance(level, int) else 1
    return _to_staff(
        event,
        ticket,
        prefetched,
        "escalated",
        lambda _zone: {"level": level, "reason": _translated(event.reason)},
    )


def _downgraded(event: Event, ticket: Ticket, prefetched: Prefetched) -> list[Notification]:
    before = event.before.get("severity", "")
    after = event.after.get("severity", "")

    def extra(_zone: ZoneInfo) -> Context:
        # The stored reason has the severities substituted in English: translate the
        # msgid, then substitute; customers read no policy ids (tickets.reasons).
        reason = event_reason(event)
        return {
            "reason": reason,
            "severity_before": _severity_label(before),
            "severity_after": _severity_label(after),
        }

    return _customer(ticket, "severity_lowered", extra)


def _reminded(event: Event, ticket: Ticket, prefetched: Prefetched) -> list[Notification]:
    return _customer(ticket, "reminder", lambda _zone: {"reason": event_reason(event)})


def _resolved(event: Event, ticket: Ticket, prefetched: Prefetched) -> list[Notification]:
    # The reason is the resolver's own words: quoted as written, never translated.
    return _customer(
        ticket,
        "resolved",
        lambda _zone: {
            "note": event.reason,
            "ratings": _rating_links(ticket),
            "survey_days": settings.SUPPORTDESK.SURVEY_LINK_DAYS,
        },
        also=prefetched.cc.get(ticket.pk, ()),
    )


def _rating_links(ticket: Ticket) -> list[dict[str, object]]:
    """The one-click ratings 1 to 5 (tickets.survey): signed, expiring, no sign-in."""
    return [
        {
            "score": score,
            "label": str(label),
            "url": settings.SITE_URL
            + reverse("survey:rate", kwargs={"token": survey.rating_token(ticket.pk, score)}),
        }
        for score, label in survey.SCORE_LABELS.items()
    ]


def _severity_changed(event: Event, ticket: Ticket, prefetched: Prefetched) -> list[Notification]:
    return _customer(
        ticket,
        "severity_changed",
        lambda _zone: {
            "severity_before": _severity_label(event.before.get("severity")),
            "severity_after": _severity_label(event.after.get("severity")),
            # An agent's words, or a worker's msgid (translated, without policy ids).
            "reason": event_reason(event),
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
    EventKind.REOPENED: _reopened,
    EventKind.CLOSED: _nobody,
    EventKind.FOLLOW_UP: _nobody,
}

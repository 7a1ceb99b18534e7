"""Incoming mail: the one entry point every transport (pipe, Maildir, IMAP, webhook) calls.

``ingest`` reads one raw RFC 822 message and, in one transaction, records it once per
Message-ID (``IncomingMail``) and does one of:

- ``ignored``: automatic mail (auto-replies, bulk and list mail, bounces, our own mail),
  never answered, so two robots cannot talk to each other forever;
- ``duplicate``: that Message-ID was already taken (a transport's retry, two fetchers at
  once); nothing changes;
- ``replied``: an answer on a request, from the request's contact e-mail or an admin of its
  organization (POL-WHO-1), becomes the customer's reply through
  ``tickets.services.ticket_customer_reply`` (so it answers an information request, stops
  the cooperation clock and reopens a resolved request within the window);
- ``filed``: a new message from an admin of exactly one organization files a request
  through the one intake path (``ticket_create``), severity C until the admin completes
  the assessment in the portal (POL-SEV-1 keeps the assessment explicit); an answer on a
  closed request, from the same people as a reply, files a follow-up linked to it
  (``ticket_follow_up``: the closed one's answers, the e-mail's text);
- ``refused``: anyone else; nothing changes and the sender gets one polite answer with the
  portal's address, at most one per sender and hour. A message larger than
  ``MAILIN_MAX_MESSAGE_BYTES`` is refused too, from its size and header alone
  (``ingest_oversize``: transports hand over only those, so it is never downloaded or
  parsed whole), and its sender told the limit.

The ticket is found by the signed reply address, else by ``In-Reply-To``/``References``
naming one of our Message-IDs, else by ``[SR-000123]`` in the subject — the subject only
for an admin of that ticket's organization, never for anyone else.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import mimetypes
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.core.mail import EmailMessage as OutgoingEmail
from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from core.refusals import Refused
from helpcenter.models import Service
from mailin import text as mailtext
from mailin.models import Action, IncomingMail
from severity.choices import Category, Impact, Scope
from tenants.models import Membership, Role, User
from tenants.roles import fileable_categories
from tickets import attachments as uploads
from tickets.actors import Actor
from tickets.intake import TicketDraft
from tickets.mail import parse_reply_address, reply_tag_valid
from tickets.models import (
    Channel,
    ContactMethod,
    Language,
    OutgoingMail,
    Status,
    Ticket,
    parse_reference,
)
from tickets.services import ticket_create, ticket_customer_reply, ticket_follow_up

logger = logging.getLogger(__name__)

# At most one automatic answer per sender within this time (refusals, notices).
ANSWER_INTERVAL = timedelta(hours=1)
# Senders that are mail systems, not people (bounces).
_SYSTEM_SENDERS = frozenset({"mailer-daemon", "postmaster"})
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list"})
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_UNFOLD = re.compile(r"\r?\n[ \t]*")
# Headers that name the address a message was delivered to.
_RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")

# Reasons recorded on IncomingMail (for staff; English, like log lines).
REASON_AUTO_SUBMITTED = "automatic mail (Auto-Submitted: {value})"
REASON_AUTO_REPLY = "automatic reply ({header})"
REASON_BULK = "bulk or list mail (Precedence: {value})"
REASON_BOUNCE = "delivery report (bounce)"
REASON_OWN = "our own mail"
REASON_NO_SENDER = "no sender address"
REASON_DUPLICATE = "already received"
REASON_NOT_ALLOWED = "sender is neither the request's contact nor an admin of its organization"
REASON_UNMATCHED_REPLY = "names a request, but neither the reply address nor the thread matches"
REASON_UNKNOWN_SENDER = "new message from someone who is not the admin of exactly one organization"
REASON_NO_CATEGORY = "the sender's admin role may file no request that needs no product"
REASON_EMPTY = "no text and no attachment"
REASON_REFUSED_BY_RULES = "the request refused it: {message}"
REASON_FILES_REFUSED = "attachments not accepted: {names}"
REASON_FOLLOW_UP = "answer on the closed request {reference}: filed as its follow-up"
REASON_TOO_LARGE = "message of {size} bytes, over the limit of {limit}"

# Of a message over the size limit only the header is read, and at most this much of it:
# plenty for any real header, a bound on a hostile one.
HEAD_MAX_BYTES = 64 * 1024
_HEADER_END = re.compile(rb"\r?\n\r?\n")


def max_message_bytes() -> int:
    """The largest message acted on (bytes as stored: attachments encoded). The one home
    of the limit, read by every transport before it downloads or reads a message."""
    return settings.SUPPORTDESK.MAILIN_MAX_MESSAGE_BYTES


def message_head(start: bytes) -> bytes:
    """The header block of a message from its first bytes, at most HEAD_MAX_BYTES."""
    start = start[:HEAD_MAX_BYTES]
    end = _HEADER_END.search(start)
    return start[: end.end()] if end else start


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    action: str  # "replied" | "filed" | "refused" | "ignored" | "duplicate"
    ticket_id: int | None
    message_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class _Mail:
    """What the rules read of one parsed message."""

    parsed: EmailMessage
    message_id: str
    sender: str
    subject: str
    # The headers as sent (unfolded), by lowercased name: the rules read ids, addresses
    # and flags, which need none of the structured parsing of ``policy.default`` (the
    # most expensive part of reading a message).
    raw_headers: dict[str, list[str]]

    def header(self, name: str) -> str:
        values = self.raw_headers.get(name.lower())
        return values[0] if values else ""

    def headers(self, *names: str) -> list[str]:
        return [value for name in names for value in self.raw_headers.get(name.lower(), [])]


def ingest(raw: bytes, *, now: datetime, source: str) -> IngestOutcome:
    """Act on one raw message once. Commits its own transaction and returns after commit:
    a transport may flag or delete the message once this returns (at-least-once fetch +
    the unique Message-ID = each message acted on once).

    The message's row is inserted last, in the same transaction as what it did: when the
    Message-ID is already taken (a second fetch, or a concurrent ingest that commits
    first: PostgreSQL makes the later insert wait for it), the unique constraint rolls the
    whole transaction back, the reply and any answer with it. One statement, instead of
    a claim row written first and updated at the end.

    A message over ``max_message_bytes()`` is refused unparsed (``ingest_oversize``);
    transports check the size before they read a message, this is the last guard."""
    if len(raw) > max_message_bytes():
        return ingest_oversize(message_head(raw), size=len(raw), now=now, source=source)
    try:
        mail = _parse(raw)
    except (RecursionError, LookupError, ValueError, AssertionError):
        # A message the parser cannot read (thousands of nested parts, say) is recorded as
        # ignored, by its content, so a transport marks it done instead of retrying it.
        return _unreadable(raw, now=now, source=source)
    return _record(
        mail, original=raw, now=now, source=source, act=lambda record: _act(record, mail, now=now)
    )


def ingest_oversize(head: bytes, *, size: int, now: datetime, source: str) -> IngestOutcome:
    """Act once on a message of ``size`` bytes, over ``max_message_bytes()``, known only by
    its header (``head``: its first bytes; what follows the header is not read). A
    transport calls this instead of downloading or reading the message, and marks it done
    afterwards as it does any other: it is ``refused`` and its sender told the limit
    (automatic mail is ``ignored``), recorded once per Message-ID like every message."""
    head = message_head(head)
    # Without a Message-ID the message is known by its header and size.
    identity = head + b"\0" + str(size).encode()
    try:
        mail = _parse(head, identity=identity)
    except (RecursionError, LookupError, ValueError, AssertionError):
        return _unreadable(identity, now=now, source=source)
    return _record(
        mail,
        original=None,
        now=now,
        source=source,
        act=lambda record: _too_large(record, mail, size=size, now=now),
    )


def _record(
    mail: _Mail,
    *,
    original: bytes | None,
    now: datetime,
    source: str,
    act: Callable[[IncomingMail], IngestOutcome],
) -> IngestOutcome:
    """Run ``act`` and record the message with its outcome in one transaction (see
    ``ingest``); a Message-ID already recorded rolls it all back as a duplicate."""
    record = IncomingMail(
        message_id=mail.message_id,
        sender=mail.sender[:254],
        subject=mail.subject[:255],
        received_at=now,
        source=source[:32],
        action=Action.PENDING,
    )
    if original is not None:
        record.raw.save("original.eml", ContentFile(original), save=False)
    inserting = False
    try:
        with transaction.atomic():
            outcome = act(record)
            record.action = outcome.action
            record.reason = outcome.reason
            record.ticket_id = outcome.ticket_id
            inserting = True
            record.save(force_insert=True)
    except BaseException as error:
        if record.raw.name:
            record.raw.storage.delete(record.raw.name)
        if inserting and isinstance(error, IntegrityError):
            return IngestOutcome("duplicate", None, mail.message_id, REASON_DUPLICATE)
        raise
    return outcome


REASON_UNREADABLE = "The message could not be parsed."


def _unreadable(raw: bytes, *, now: datetime, source: str) -> IngestOutcome:
    message_id = f"<{hashlib.sha256(raw).hexdigest()}@unreadable.invalid>"
    try:
        with transaction.atomic():
            IncomingMail.objects.create(
                message_id=message_id,
                received_at=now,
                source=source[:32],
                action=Action.IGNORED,
                reason=REASON_UNREADABLE,
            )
    except IntegrityError:
        return IngestOutcome("duplicate", None, message_id, REASON_DUPLICATE)
    return IngestOutcome("ignored", None, message_id, REASON_UNREADABLE)


class _HeaderCache(HeaderRegistry):
    """``policy.default``'s headers, each value parsed once: a message's Content-Type and
    Content-Disposition are read a dozen times while finding its body and attachments,
    and the structured parse is the most expensive part of reading a message. Parsed
    headers are immutable strings, so one object serves every read."""

    @functools.lru_cache(maxsize=512)  # noqa: B019 (one module-level instance)
    def __call__(self, name: str, value: str) -> BaseHeader:
        return super().__call__(name, value)


_POLICY = policy.default.clone(header_factory=_HeaderCache())


def _parse(raw: bytes, *, identity: bytes | None = None) -> _Mail:
    """``identity``: the bytes that name a message without a Message-ID (default ``raw``)."""
    parsed = BytesParser(policy=_POLICY).parsebytes(raw)
    assert isinstance(parsed, EmailMessage)
    raw_headers: dict[str, list[str]] = {}
    for name, value in parsed.raw_items():
        raw_headers.setdefault(name.lower(), []).append(_UNFOLD.sub(" ", str(value)).strip())
    found = _MESSAGE_ID.search(raw_headers.get("message-id", [""])[0])
    # A message without its own id is known by its content: the same bytes twice are one.
    message_id = (
        found.group(0)
        if found
        else f"<{hashlib.sha256(raw if identity is None else identity).hexdigest()}"
        "@no-message-id.invalid>"
    )
    sender = parseaddr(raw_headers.get("from", [""])[0])[1].strip().lower()
    # Raw 8-bit bytes in an address arrive as surrogates; stored, they would fail forever.
    sender = sender.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    subject = " ".join(str(parsed.get("Subject", "") or "").split())
    return _Mail(
        parsed=parsed,
        # A longer id kept whole by its hash: cutting it could make two messages one.
        message_id=(
            message_id
            if len(message_id) <= 255
            else f"<{hashlib.sha256(message_id.encode('utf-8', 'surrogateescape')).hexdigest()}"
            "@long-message-id.invalid>"
        ),
        sender=sender,
        subject=subject,
        raw_headers=raw_headers,
    )


def _act(record: IncomingMail, mail: _Mail, *, now: datetime) -> IngestOutcome:
    ignored = _automatic(mail)
    if ignored:
        return IngestOutcome("ignored", None, mail.message_id, ignored)
    found, unmatched = _referenced_ticket(mail)
    if found is not None:
        return _reply(record, mail, found, now=now)
    if unmatched:
        return _refuse(record, mail, REASON_UNMATCHED_REPLY, now=now)
    return _file(record, mail, now=now)


# --- Loop guards ---------------------------------------------------------------------------


def _automatic(mail: _Mail) -> str:
    """Why this message is automatic mail we never act on or answer (RFC 3834), or ""."""
    auto = mail.header("Auto-Submitted").lower()
    if auto and auto.split(";")[0].strip() != "no":
        return REASON_AUTO_SUBMITTED.format(value=auto)
    for header in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress-Reply"):
        if mail.raw_headers.get(header.lower()):
            return REASON_AUTO_REPLY.format(header=header)
    precedence = mail.header("Precedence").lower()
    if precedence in _BULK_PRECEDENCE:
        return REASON_BULK.format(value=precedence)
    if mail.header("Content-Type").lower().replace(" ", "").startswith("multipart/report"):
        return REASON_BOUNCE
    if not mail.sender:
        return REASON_NO_SENDER
    if mail.sender.partition("@")[0] in _SYSTEM_SENDERS:
        return REASON_BOUNCE
    ours = {
        settings.SUPPORTDESK.MAILIN_ADDRESS.lower(),
        parseaddr(settings.DEFAULT_FROM_EMAIL or "")[1].lower(),
    }
    if mail.sender in ours or _one_of_ours(mail.message_id):
        return REASON_OWN
    return ""


def _one_of_ours(message_id: str) -> bool:
    """Our Message-IDs are on our own domain: only such an id is looked up."""
    domain = settings.SUPPORTDESK.MAILIN_ADDRESS.rpartition("@")[2].lower()
    return (
        message_id.lower().endswith(f"@{domain}>")
        and OutgoingMail.objects.filter(message_id=message_id).exists()
    )


# --- Which request ----------------------------------------------------------------------


def _admin_memberships(email: str) -> list[Membership]:
    return list(
        Membership.objects.filter(
            user__email__iexact=email, user__is_active=True, role__in=Role.admin_roles()
        ).select_related("user", "organization")[:2]
    )


@dataclass(frozen=True, slots=True)
class _Found:
    """A request a message names, and the sender's admin membership of its organization."""

    ticket: Ticket
    admin: Membership | None


_TICKET_FIELDS = ("id", "organization_id", "contact_email", "language", "status")
_MEMBERSHIP_FIELDS = ("id", "user_id", "organization_id", "role")


def _ticket(ticket_id: int, sender: str) -> _Found | None:
    """The request and, in the same query, the sender's active admin membership of its
    organization (POL-WHO-1): one round trip instead of two. Only what the rules read
    before the reply service locks and reads the row itself; the organization only to link
    an answer to the portal (then lazily)."""
    user_columns = [field.column for field in User._meta.concrete_fields]
    roles = list(Role.admin_roles())
    # Only table and column names from the models are formatted in; values are parameters.
    sql = (  # noqa: S608
        "SELECT {ticket}, {membership}, {user} FROM {tickets} t "
        "LEFT JOIN {memberships} m ON m.organization_id = t.organization_id "
        "AND m.role IN ({roles}) "
        "AND m.user_id IN (SELECT u2.id FROM {users} u2 "
        "WHERE UPPER(u2.email) = UPPER(%s) AND u2.is_active) "
        "LEFT JOIN {users} u ON u.id = m.user_id "
        # One membership per user and organization: at most one row per ticket.
        "WHERE t.id = %s ORDER BY m.id LIMIT 1"
    ).format(
        ticket=", ".join(f"t.{c}" for c in _TICKET_FIELDS),
        membership=", ".join(f"m.{c}" for c in _MEMBERSHIP_FIELDS),
        user=", ".join(f"u.{c}" for c in user_columns),
        tickets=Ticket._meta.db_table,
        memberships=Membership._meta.db_table,
        users=User._meta.db_table,
        roles=", ".join(["%s"] * len(roles)),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*roles, sender, ticket_id])
        row = cursor.fetchone()
    if row is None:
        return None
    ticket_values = row[: len(_TICKET_FIELDS)]
    membership_values = row[len(_TICKET_FIELDS) : len(_TICKET_FIELDS) + len(_MEMBERSHIP_FIELDS)]
    user_values = row[len(_TICKET_FIELDS) + len(_MEMBERSHIP_FIELDS) :]
    ticket = _from_row(Ticket, _TICKET_FIELDS, ticket_values)
    if membership_values[0] is None:
        return _Found(ticket, None)
    membership = _from_row(Membership, _MEMBERSHIP_FIELDS, membership_values)
    membership.user = _from_row(
        User, [field.attname for field in User._meta.concrete_fields], user_values
    )
    return _Found(ticket, membership)


def _from_row[M: Model](model: type[M], attnames: Sequence[str], values: Sequence[object]) -> M:
    """A model instance from raw column values, converted as the ORM would (SQLite returns
    dates as text, for one)."""
    given = dict(zip(attnames, values, strict=True))
    names: list[str] = []
    converted: list[object] = []
    # ``from_db`` takes a subset of the fields in the model's own order.
    for field in model._meta.concrete_fields:
        if field.attname not in given:
            continue
        value = given[field.attname]
        column = field.get_col(model._meta.db_table)
        for converter in connection.ops.get_db_converters(column) + field.get_db_converters(
            connection
        ):
            value = converter(value, column, connection)
        names.append(field.attname)
        converted.append(value)
    return model.from_db(connection.alias, names, converted)


def _referenced_ticket(mail: _Mail) -> tuple[_Found | None, bool]:
    """The request this message answers, and whether it named one we could not match
    (then it is no new request either)."""
    named = False
    addresses = getaddresses(mail.headers(*_RECIPIENT_HEADERS))
    for _name, address in addresses:
        parsed = parse_reply_address(address)
        if parsed is None:
            continue
        named = True
        ticket_id, tag = parsed
        # The tag is the recipient's own: an address forwarded to someone else, or one
        # made up for another request, is no reference.
        if reply_tag_valid(ticket_id, mail.sender, tag) and (
            found := _ticket(ticket_id, mail.sender)
        ):
            return found, True
    thread = _MESSAGE_ID.findall(" ".join(mail.headers("In-Reply-To", "References")))
    if thread:
        threaded = OutgoingMail.objects.ticket_for_message_ids(thread[-50:])
        if threaded is not None and (found := _ticket(threaded, mail.sender)):
            return found, True
    reference = _subject_reference(mail.subject)
    if reference is not None:
        named = True
        found = _ticket(reference, mail.sender)
        # The subject is easy to copy: only an admin of that organization is trusted on it.
        if found is not None and found.admin is not None:
            return found, True
    return None, named


def _subject_reference(subject: str) -> int | None:
    prefix = re.escape(settings.SUPPORTDESK.TICKET_PREFIX)
    found = re.search(rf"\[({prefix}-\d{{1,12}})\]", subject, re.IGNORECASE)
    return parse_reference(found.group(1)) if found else None


def _customer_actor(found: _Found, sender: str) -> Actor | None:
    """POL-WHO-1: an admin of the request's organization, or its contact e-mail."""
    ticket = found.ticket
    if found.admin is not None:
        return Actor.for_member(found.admin)
    if ticket.contact_email and ticket.contact_email.strip().lower() == sender:
        return Actor.for_contact_email(ticket.pk, sender)
    return None


# --- Replies ------------------------------------------------------------------------------


def _reply(record: IncomingMail, mail: _Mail, found: _Found, *, now: datetime) -> IngestOutcome:
    ticket = found.ticket
    actor = _customer_actor(found, mail.sender)
    if actor is None:
        return _refuse(record, mail, REASON_NOT_ALLOWED, now=now, ticket=ticket)
    body = mailtext.reply_text(mailtext.body_text(mail.parsed))
    files = _attachments(mail.parsed)
    if not body and not files:
        return IngestOutcome("ignored", ticket.pk, mail.message_id, REASON_EMPTY)
    body = body or _attachments_only_text(files)
    if ticket.status == Status.CLOSED:
        return _follow_up(record, mail, found, actor, body, files, now=now)
    refused: list[str] = []
    try:
        message = ticket_customer_reply(
            ticket=ticket, actor=actor, body=body, now=now, attachments=files
        )
    except Refused as refusal:
        if refusal.code != "invalid_attachment":
            return _refuse(
                record,
                mail,
                REASON_REFUSED_BY_RULES.format(message=refusal.message),
                now=now,
                ticket=ticket,
                told=refusal.message,
            )
        # One bad file refuses them all in the service; the text and the good files are
        # still the customer's answer, and the sender is told which files were not taken.
        accepted, refused = _split_files(files)
        try:
            message = ticket_customer_reply(
                ticket=ticket, actor=actor, body=body, now=now, attachments=accepted
            )
        except Refused as again:
            return _refuse(
                record,
                mail,
                REASON_REFUSED_BY_RULES.format(message=again.message),
                now=now,
                ticket=ticket,
                told=again.message,
            )
    record.ticket_message = message
    reason = ""
    if refused:
        reason = REASON_FILES_REFUSED.format(names=", ".join(refused))
        with translation.override(ticket.language):
            _answer(
                record,
                mail,
                subject=gettext("Not all attachments were accepted [%(reference)s]")
                % {"reference": ticket.reference},
                body=gettext(
                    "Your answer was added to request %(reference)s, but these attachments "
                    "were not accepted: %(names)s.\n\nYou can upload files in the portal: "
                    "%(link)s\n"
                )
                % {
                    "reference": ticket.reference,
                    "names": ", ".join(refused),
                    "link": _portal_link(
                        "portal:request_detail", ticket.organization.slug, ticket.reference
                    ),
                },
                now=now,
            )
    return IngestOutcome("replied", ticket.pk, mail.message_id, reason)


def _follow_up(
    record: IncomingMail,
    mail: _Mail,
    found: _Found,
    actor: Actor,
    body: str,
    files: Sequence[UploadedFile],
    *,
    now: datetime,
) -> IngestOutcome:
    """An answer on a closed request: nothing changes it any more, so the answer files a
    follow-up linked to it, as the portal and the API do. Its confirmation goes to the
    request's contact (the CREATED e-mail); a sender who is not the contact is told here."""
    closed = found.ticket

    def file(attachments: Sequence[UploadedFile]) -> Ticket:
        return ticket_follow_up(
            ticket=closed,
            actor=actor,
            body=body,
            now=now,
            channel=Channel.EMAIL,
            attachments=attachments,
        )

    refused: list[str] = []
    try:
        follow_up = file(files)
    except Refused as refusal:
        if refusal.code != "invalid_attachment":
            return _refuse(
                record, mail, REASON_REFUSED_BY_RULES.format(message=refusal.message), now=now,
                ticket=closed, told=refusal.message,
            )  # fmt: skip
        accepted, refused = _split_files(files)
        try:
            follow_up = file(accepted)
        except Refused as again:
            return _refuse(
                record, mail, REASON_REFUSED_BY_RULES.format(message=again.message), now=now,
                ticket=closed, told=again.message,
            )  # fmt: skip
    if refused or mail.sender != (follow_up.contact_email or "").strip().lower():
        with translation.override(follow_up.language):
            body = gettext(
                "Request %(closed)s is closed, so your message was filed as a new request, "
                "%(reference)s, linked to it. Follow it in the portal: %(link)s\n"
            ) % {
                "closed": closed.reference,
                "reference": follow_up.reference,
                "link": _portal_link(
                    "portal:request_detail", follow_up.organization.slug, follow_up.reference
                ),
            }
            if refused:
                body += "\n" + gettext("These attachments were not accepted: %(names)s.") % {
                    "names": ", ".join(refused)
                }
            _answer(
                record,
                mail,
                subject=gettext("Request %(reference)s received")
                % {"reference": follow_up.reference},
                body=body,
                now=now,
                rate_limited=False,
            )
    reason = REASON_FOLLOW_UP.format(reference=closed.reference)
    if refused:
        reason += "; " + REASON_FILES_REFUSED.format(names=", ".join(refused))
    return IngestOutcome("filed", follow_up.pk, mail.message_id, reason)


def _attachments_only_text(files: Sequence[UploadedFile]) -> str:
    return gettext("(Sent by e-mail with attachments: %(names)s)") % {
        "names": ", ".join(f.name or "" for f in files)
    }


def _attachments(message: EmailMessage) -> list[UploadedFile]:
    """Every attached or inline file (images included), as uploads the request's own
    checks judge; forwarded messages as one ``.eml`` each."""
    body = message.get_body(preferencelist=("plain", "html"))
    files: list[UploadedFile] = []
    for part in _leaf_parts(message):
        if part is body:
            continue
        content_type = part.get_content_type()
        filename = part.get_filename()
        disposition = part.get_content_disposition()
        if not filename and disposition != "attachment" and content_type.startswith("text/"):
            continue  # an alternative body, not a file
        if content_type == "message/rfc822":
            inner = part.get_payload()
            inner_message = inner[0] if isinstance(inner, list) else inner
            content = inner_message.as_bytes() if hasattr(inner_message, "as_bytes") else b""
        else:
            payload = part.get_payload(decode=True)
            content = payload if isinstance(payload, bytes) else b""
        if not filename:
            extension = mimetypes.guess_extension(content_type) or ".bin"
            kind = "inline" if disposition == "inline" else "attachment"
            filename = f"{kind}-{len(files) + 1}{extension}"
        files.append(SimpleUploadedFile(filename, content, content_type=content_type))
    return files


def _leaf_parts(message: EmailMessage) -> list[EmailMessage]:
    if message.get_content_type() == "message/rfc822":
        return [message]
    if not message.is_multipart():
        return [message]
    if message.get_content_type() == "multipart/report":
        return []
    parts: list[EmailMessage] = []
    for part in message.iter_parts():
        assert isinstance(part, EmailMessage)
        parts.extend(_leaf_parts(part))
    return parts


def _split_files(files: Sequence[UploadedFile]) -> tuple[list[UploadedFile], list[str]]:
    """The files the request's checks accept (up to its count limit), and the names of
    the rest."""
    accepted: list[UploadedFile] = []
    refused: list[str] = []
    for upload in files:
        try:
            uploads.check_file(upload, name=upload.name or "", size=upload.size or 0)
        except uploads.AttachmentRejected:
            refused.append(upload.name or "")
            continue
        if len(accepted) >= uploads.max_files():
            refused.append(upload.name or "")
        else:
            accepted.append(upload)
    return accepted, refused


# --- New requests -------------------------------------------------------------------------


def _file(record: IncomingMail, mail: _Mail, *, now: datetime) -> IngestOutcome:
    memberships = _admin_memberships(mail.sender)
    if len(memberships) != 1:
        return _refuse(record, mail, REASON_UNKNOWN_SENDER, now=now)
    membership = memberships[0]
    # All of a new message is the request: a forwarded chain is what support must read.
    text = mailtext.body_text(mail.parsed).strip()
    files = _attachments(mail.parsed)
    if not text and not mail.subject and not files:
        return IngestOutcome("ignored", None, mail.message_id, REASON_EMPTY)
    category, product = email_category(membership.role, f"{mail.subject}\n{text}")
    if category is None:
        return _refuse(record, mail, REASON_NO_CATEGORY, now=now)
    language = membership.user.language if membership.user.language in Language.values else "en"
    draft = TicketDraft(
        title=(mail.subject or text.split("\n", 1)[0] or gettext("Request by e-mail"))[:200],
        description=(text or mail.subject or _attachments_only_text(files))[:20_000],
        category=category,
        product=product,
        # Severity C until the admin answers the assessment's questions (POL-SEV-1, -4).
        impact=Impact.MINIMAL,
        scope=Scope.ONE,
        contact_email=mail.sender,
        preferred_contact=ContactMethod.EMAIL,
        language=language,
        channel=Channel.EMAIL,
    )
    actor = Actor.for_member(membership)
    try:
        ticket = ticket_create(
            organization=membership.organization, actor=actor, draft=draft, now=now,
            attachments=files,
        )  # fmt: skip
        refused: list[str] = []
    except Refused as refusal:
        if refusal.code != "invalid_attachment":
            return _refuse(
                record, mail, REASON_REFUSED_BY_RULES.format(message=refusal.message), now=now,
                told=refusal.message,
            )  # fmt: skip
        accepted, refused = _split_files(files)
        ticket = ticket_create(
            organization=membership.organization, actor=actor, draft=draft, now=now,
            attachments=accepted,
        )  # fmt: skip
    with translation.override(ticket.language):
        body = gettext(
            "We have filed your e-mail as request %(reference)s with severity C "
            "(non-critical).\n\nIf the problem is more urgent, tell us how it affects you "
            "here, and we will assess it again:\n%(link)s\n"
        ) % {
            "reference": ticket.reference,
            "link": _portal_link(
                "portal:request_assess_email", ticket.organization.slug, ticket.reference
            ),
        }
        if refused:
            body += "\n" + gettext("These attachments were not accepted: %(names)s.") % {
                "names": ", ".join(refused)
            }
        _answer(
            record,
            mail,
            subject=gettext("Request %(reference)s received") % {"reference": ticket.reference},
            body=body,
            now=now,
            rate_limited=False,
        )
    reason = REASON_FILES_REFUSED.format(names=", ".join(refused)) if refused else ""
    return IngestOutcome("filed", ticket.pk, mail.message_id, reason)


def email_category(role: str, text: str) -> tuple[str | None, Service | None]:
    """The category of a request filed by e-mail, which cannot ask: technical when the
    role may file it and the text names exactly one offered product (POL-REQ-3 needs the
    product), else the first of billing and pre-sales the role may file (POL-WHO-2); None
    when neither is possible (a service support admin naming no product)."""
    allowed = fileable_categories(role)
    if Category.TECHNICAL in allowed:
        lowered = text.lower()
        named = [s for s in Service.objects.filter(is_active=True) if s.name.lower() in lowered]
        if len(named) == 1:
            return Category.TECHNICAL, named[0]
    for category in (Category.BILLING, Category.PRESALES):
        if category in allowed:
            return category, None
    return None, None


# --- Answers ------------------------------------------------------------------------------


def _refuse(
    record: IncomingMail,
    mail: _Mail,
    reason: str,
    *,
    now: datetime,
    ticket: Ticket | None = None,
    told: str = "",
) -> IngestOutcome:
    """Nothing changes; the sender gets one polite answer with the portal's address."""
    with translation.override(ticket.language if ticket else "en"):
        body = gettext(
            "Thank you for your message. We could not add it to a service request: only "
            "the request's contact and the administrators of the customer's organization "
            "can answer or file requests by e-mail.\n\nPlease sign in to the support portal "
            "instead: %(link)s\n"
        ) % {"link": _portal_link("home")}
        if told:
            body = f"{told}\n\n{body}"
        _answer(
            record,
            mail,
            subject=gettext("Your message to support was not delivered to a request"),
            body=body,
            now=now,
        )
    return IngestOutcome("refused", ticket.pk if ticket else None, mail.message_id, reason)


def _too_large(record: IncomingMail, mail: _Mail, *, size: int, now: datetime) -> IngestOutcome:
    """Nothing changes; the sender is told the message was too large, and the limit."""
    reason = REASON_TOO_LARGE.format(size=size, limit=max_message_bytes())
    ignored = _automatic(mail)
    if ignored:
        return IngestOutcome("ignored", None, mail.message_id, f"{ignored}; {reason}")
    found, _named = _referenced_ticket(mail)
    ticket = found.ticket if found is not None else None
    allowed = found is not None and _customer_actor(found, mail.sender) is not None
    link = (
        _portal_link(
            "portal:request_detail", found.ticket.organization.slug, found.ticket.reference
        )
        if found is not None and allowed
        else _portal_link("home")
    )
    with translation.override(ticket.language if ticket else "en"):
        _answer(
            record,
            mail,
            subject=gettext("Your message to support was too large"),
            body=gettext(
                "Your message was not delivered: it is %(size)s, and e-mail to support can "
                "be at most %(limit)s (attachments count about a third more once encoded for "
                "e-mail).\n\nPlease send it again with fewer or smaller attachments, or "
                "upload the files in the support portal: %(link)s\n"
            )
            % {
                "size": filesizeformat(size),
                "limit": filesizeformat(max_message_bytes()),
                "link": link,
            },
            now=now,
            # The people who may write to a request are always told (a receipt they got
            # this hour must not swallow it); strangers at most once an hour, as refusals.
            rate_limited=not (allowed or _admin_memberships(mail.sender)),
        )
    return IngestOutcome("refused", ticket.pk if ticket else None, mail.message_id, reason)


def _portal_link(name: str, *args: str) -> str:
    return f"{settings.SITE_URL}{reverse(name, args=args)}"


def _answer(
    record: IncomingMail,
    mail: _Mail,
    *,
    subject: str,
    body: str,
    now: datetime,
    rate_limited: bool = True,
) -> None:
    """One automatic answer to the sender, sent after commit, marked as automatic so no
    mailer answers it in turn (RFC 3834); at most one per sender and ANSWER_INTERVAL."""
    if (
        rate_limited
        and IncomingMail.objects.answered_since(mail.sender, now - ANSWER_INTERVAL).exists()
    ):
        return
    record.answered_at = now
    email = OutgoingEmail(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[mail.sender],
        headers={
            "Auto-Submitted": "auto-replied",
            "X-Auto-Response-Suppress": "All",
            "In-Reply-To": mail.message_id,
            "References": mail.message_id,
        },
    )
    transaction.on_commit(lambda: _send(email))


def _send(email: OutgoingEmail) -> None:
    try:
        email.send()
    except Exception:
        # An automatic answer is a courtesy: the message itself is recorded either way.
        logger.exception("could not send the automatic answer to %s", email.to)

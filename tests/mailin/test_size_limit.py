"""Incoming mail over ``MAILIN_MAX_MESSAGE_BYTES``: refused from its size and header alone,
before any transport downloads or reads it whole and before anything parses it; its
sender is told the limit, and the message is marked done like any other."""

from __future__ import annotations

import dataclasses
import imaplib
import io
import json
import os
import sys
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.template.defaultfilters import filesizeformat
from django.utils import translation

from mailin import services
from mailin.models import Action, IncomingMail
from tests.conftest import T0, World
from tests.mailin.imap_server import Dovecot
from tests.mailin.test_transports import customer_reply, deliver, fetch_command, replies
from tickets.mail import reply_address
from tickets.models import Ticket

LIMIT = 100_000
# Well over the limit once encoded (base64: 4/3), as a customer's screenshots would be.
ATTACHED = 300_000


@pytest.fixture(autouse=True)
def _small_limit(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SUPPORTDESK = dataclasses.replace(
        settings.SUPPORTDESK,
        MAILIN_IMAP=None,
        MAILIN_MAILDIR=tmp_path / "maildir",
        MAILIN_MAX_MESSAGE_BYTES=LIMIT,
    )


@pytest.fixture
def parsed_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The length of everything the mail parser is handed."""
    sizes: list[int] = []
    real = services._parse

    def measuring_parse(raw: bytes, **kwargs: Any) -> Any:
        sizes.append(len(raw))
        return real(raw, **kwargs)

    monkeypatch.setattr(services, "_parse", measuring_parse)
    return sizes


def large_reply(ticket: Ticket, text: str, *, sender: str | None = None, **headers: str) -> bytes:
    sender = sender or ticket.contact_email
    mail = EmailMessage()
    mail["From"] = f"Customer <{sender}>"
    mail["To"] = reply_address(ticket.pk, sender)
    mail["Subject"] = f"Re: [{ticket.reference}] {ticket.title}"
    mail["Message-ID"] = make_msgid(domain="customer.test")
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(f"{text}\n")
    mail.add_attachment(os.urandom(ATTACHED), "application", "octet-stream", filename="dump.bin")
    raw = mail.as_bytes()
    assert len(raw) > LIMIT
    return raw


def too_large_answers(mailoutbox: list[Any]) -> list[Any]:
    return [m for m in mailoutbox if "too large" in m.subject]


# --- The service ------------------------------------------------------------------------------


def test_a_message_over_the_limit_is_refused_unparsed_and_its_sender_told(
    world: World, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any,
    parsed_sizes: list[int],
) -> None:  # fmt: skip
    ticket = world.file()
    raw = large_reply(ticket, "My logs are attached.")

    with django_capture_on_commit_callbacks(execute=True):
        outcome = services.ingest(raw, now=T0, source="test")

    assert (outcome.action, outcome.ticket_id) == ("refused", ticket.pk)
    assert outcome.reason == services.REASON_TOO_LARGE.format(size=len(raw), limit=LIMIT)
    assert replies(ticket, "My logs are attached.") == 0
    assert max(parsed_sizes) <= services.HEAD_MAX_BYTES
    [answer] = mailoutbox
    assert answer.to == [ticket.contact_email]
    assert answer.extra_headers["Auto-Submitted"] == "auto-replied"
    with translation.override(ticket.language):
        assert filesizeformat(LIMIT) in answer.body
        assert filesizeformat(len(raw)) in answer.body
    assert ticket.reference in answer.body  # the link to the request, to upload there
    record = IncomingMail.objects.get()
    assert (record.action, record.ticket_id, record.raw.name) == (Action.REFUSED, ticket.pk, "")


def test_a_message_at_the_limit_is_taken(world: World, settings: Any) -> None:
    ticket = world.file()
    raw = customer_reply(ticket, "Exactly at the limit.")
    settings.SUPPORTDESK = dataclasses.replace(
        settings.SUPPORTDESK, MAILIN_MAX_MESSAGE_BYTES=len(raw)
    )

    assert services.ingest(raw, now=T0, source="test").action == "replied"


def test_the_same_large_message_twice_is_one(
    world: World, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    ticket = world.file()
    raw = large_reply(ticket, "Sent twice.")
    head = services.message_head(raw)

    with django_capture_on_commit_callbacks(execute=True):
        first = services.ingest_oversize(head, size=len(raw), now=T0, source="test")
        again = services.ingest_oversize(head, size=len(raw), now=T0, source="test")

    assert (first.action, again.action) == ("refused", "duplicate")
    assert len(mailoutbox) == 1


def test_a_large_message_without_a_message_id_is_known_by_its_header_and_size(
    db: None,
) -> None:
    head = b"From: someone@elsewhere.example\r\nSubject: big\r\n\r\n"

    one = services.ingest_oversize(head, size=LIMIT + 1, now=T0, source="test")
    same = services.ingest_oversize(head, size=LIMIT + 1, now=T0, source="test")
    other = services.ingest_oversize(head, size=LIMIT + 2, now=T0, source="test")

    assert (one.action, same.action, other.action) == ("refused", "duplicate", "refused")
    assert one.message_id != other.message_id


def test_large_automatic_mail_is_ignored_and_never_answered(
    world: World, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    ticket = world.file()
    raw = large_reply(ticket, "Out of office.", Auto_Submitted="auto-replied")

    with django_capture_on_commit_callbacks(execute=True):
        outcome = services.ingest(raw, now=T0, source="test")

    assert outcome.action == "ignored"
    assert mailoutbox == []


def test_the_requests_contact_is_told_each_time_and_a_stranger_once_an_hour(
    world: World, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    ticket = world.file()
    stranger = "someone@elsewhere.example"
    with django_capture_on_commit_callbacks(execute=True):
        for minute in (0, 10):
            services.ingest(
                large_reply(ticket, "Again."), now=T0 + timedelta(minutes=minute), source="t"
            )
            services.ingest(
                large_reply(ticket, "Hello.", sender=stranger),
                now=T0 + timedelta(minutes=minute),
                source="t",
            )

    assert sorted(m.to[0] for m in too_large_answers(mailoutbox)) == sorted(
        [ticket.contact_email, ticket.contact_email, stranger]
    )


def test_a_header_cut_at_the_head_limit_still_identifies_the_sender(
    db: None, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    """A hostile header longer than HEAD_MAX_BYTES: only that much is read."""
    head = b"From: someone@elsewhere.example\r\nX-Padding: " + b"a" * (2 * services.HEAD_MAX_BYTES)

    with django_capture_on_commit_callbacks(execute=True):
        outcome = services.ingest_oversize(head, size=len(head), now=T0, source="test")

    assert outcome.action == "refused"
    assert [m.to for m in mailoutbox] == [["someone@elsewhere.example"]]


# --- mail_ingest: a file, an MTA's pipe ---------------------------------------------------------


def test_mail_ingest_refuses_a_large_file_unparsed(
    world: World, tmp_path: Path, mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any, parsed_sizes: list[int],
) -> None:  # fmt: skip
    ticket = world.file()
    path = tmp_path / "large.eml"
    path.write_bytes(large_reply(ticket, "Through the file."))
    out = io.StringIO()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("mail_ingest", str(path), stdout=out)

    assert json.loads(out.getvalue())["action"] == "refused"
    assert max(parsed_sizes) <= services.HEAD_MAX_BYTES
    assert replies(ticket, "Through the file.") == 0
    assert [m.to for m in too_large_answers(mailoutbox)] == [[ticket.contact_email]]


class _Stdin:
    def __init__(self, raw: bytes) -> None:
        self.buffer = io.BytesIO(raw)


def test_mail_ingest_reads_a_large_pipe_to_its_end_and_refuses_it(
    world: World, monkeypatch: pytest.MonkeyPatch, parsed_sizes: list[int]
) -> None:
    """An MTA whose pipe is closed before the message is written calls it a failure."""
    ticket = world.file()
    raw = large_reply(ticket, "Through the pipe.")
    stdin = _Stdin(raw)
    monkeypatch.setattr(sys, "stdin", stdin)
    out = io.StringIO()

    call_command("mail_ingest", "-", stdout=out)

    assert json.loads(out.getvalue())["action"] == "refused"
    assert stdin.buffer.tell() == len(raw)
    assert max(parsed_sizes) <= services.HEAD_MAX_BYTES
    assert IncomingMail.objects.get().reason == services.REASON_TOO_LARGE.format(
        size=len(raw), limit=LIMIT
    )


# --- mail_fetch: Maildir ---------------------------------------------------------------------


def test_the_maildir_refuses_a_large_message_and_moves_it_to_cur(
    world: World, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any,
    parsed_sizes: list[int],
) -> None:  # fmt: skip
    maildir = django_settings.SUPPORTDESK.MAILIN_MAILDIR
    ticket = world.file()
    large = deliver(maildir, large_reply(ticket, "Large by Maildir."))
    small = deliver(maildir, customer_reply(ticket, "Small by Maildir."))

    with django_capture_on_commit_callbacks(execute=True):
        report = fetch_command()

    assert report == {"source": "maildir", "ingested": 2, "refused": 1, "replied": 1, "failed": 0}
    assert replies(ticket, "Small by Maildir.") == 1
    assert sorted(os.listdir(maildir / "cur")) == sorted([f"{large}:2,S", f"{small}:2,S"])
    assert sorted(parsed_sizes)[-2] <= services.HEAD_MAX_BYTES  # the large one's header
    assert [m.to for m in too_large_answers(mailoutbox)] == [[ticket.contact_email]]
    assert fetch_command()["ingested"] == 0


# --- mail_fetch: IMAP ------------------------------------------------------------------------


@pytest.fixture
def imap_fetched(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    """Every UID FETCH the client sends: its item list and how many bytes of message came
    back (the literals of its answer)."""
    fetched: list[tuple[str, int]] = []
    real = imaplib.IMAP4.uid

    def recording_uid(self: imaplib.IMAP4, command: str, *args: str) -> Any:
        result = real(self, command, *args)
        if command.upper() == "FETCH":
            received = sum(
                len(item[1])
                for item in result[1]
                if isinstance(item, tuple) and isinstance(item[1], bytes)
            )
            fetched.append((args[1], received))
        return result

    monkeypatch.setattr(imaplib.IMAP4, "uid", recording_uid)
    yield fetched


def test_imap_asks_the_size_and_fetches_only_the_header_of_a_large_message(
    world: World, dovecot: Dovecot, settings: Any, mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any, imap_fetched: list[tuple[str, int]],
    parsed_sizes: list[int],
) -> None:  # fmt: skip
    settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, MAILIN_IMAP=dovecot.account)
    ticket = world.file()
    dovecot.append(large_reply(ticket, "Large over IMAP."))
    dovecot.append(customer_reply(ticket, "Small over IMAP."))

    with django_capture_on_commit_callbacks(execute=True):
        report = fetch_command()

    assert report == {"source": "imap", "ingested": 2, "refused": 1, "replied": 1, "failed": 0}
    assert replies(ticket, "Small over IMAP.") == 1
    assert replies(ticket, "Large over IMAP.") == 0
    # Nothing anywhere near the large message's size came over the wire.
    assert sum(received for _items, received in imap_fetched) < 2 * services.HEAD_MAX_BYTES
    assert any("RFC822.SIZE" in items for items, _received in imap_fetched)
    assert max(parsed_sizes) < LIMIT
    assert [m.to for m in too_large_answers(mailoutbox)] == [[ticket.contact_email]]
    # Flagged as handled: the next pass does not fetch it again.
    assert (dovecot.unseen(), dovecot.seen()) == (0, 2)
    assert fetch_command()["ingested"] == 0

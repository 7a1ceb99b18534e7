"""Real-shaped mails from Gmail, Outlook and Thunderbird, in English and Polish, each with
what ingesting it must do (tests/mailin/corpus/*.eml).

A corpus file names its ticket through placeholders filled in per test: ``{sender}`` (the
request's admin), ``{reply_to}`` (that admin's signed reply address), ``{thread}`` (one of
the request's outgoing Message-IDs) and ``{reference}``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mailin.models import Action, IncomingMail
from mailin.services import ingest
from tests.conftest import T0, World
from tickets.mail import reply_address
from tickets.models import Channel, Message, OutgoingMail, Ticket

CORPUS = Path(__file__).parent / "corpus"


@dataclass(frozen=True)
class Expected:
    action: str
    # Texts the customer's reply (or filed request) must contain, and must not.
    contains: tuple[str, ...] = ()
    lacks: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()
    # Words of IncomingMail.reason.
    reason: tuple[str, ...] = ()
    answers: int = 0
    extra: dict[str, str] = field(default_factory=dict)


QUOTE_AND_MARKER = ("Please type your reply", "restart the transport service?")

EXPECTED: dict[str, Expected] = {
    "gmail_reply_en.eml": Expected(
        "replied",
        contains=("It works now, thank you. The queue emptied after the restart.",),
        lacks=(*QUOTE_AND_MARKER, "wrote:"),
    ),
    "outlook_reply_en.eml": Expected(
        "replied",
        contains=("The restart did not help, the queue is still growing.",),
        lacks=(*QUOTE_AND_MARKER, "From: Support", "Sent:"),
    ),
    "outlook_reply_pl.eml": Expected(
        "replied",
        contains=("restart pomógł, kolejka jest pusta.",),
        lacks=("Od: Support", "Wysłano:", "Proszę zrestartować"),
    ),
    "thunderbird_reply_pl.eml": Expected(
        "replied",
        contains=("Dziękuję, teraz działa.",),
        lacks=("pisze:", "Dział IT", "Proszę zrestartować", "Please type your reply"),
    ),
    "thunderbird_reply_en.eml": Expected(
        "replied",
        contains=('Logs say "451 4.7.0 Temporary server error".',),
        lacks=("Anna Admin | IT", "wrote:", *QUOTE_AND_MARKER),
    ),
    "original_message_en.eml": Expected(
        "replied",
        contains=("Yes, the connector was re-created yesterday.",),
        lacks=("Original Message", "Did anything change"),
    ),
    "html_only_en.eml": Expected(
        "replied",
        contains=("Here is the message trace you asked for:", "10:07 deferred"),
        lacks=("<b>", "color: red", "alert(1)", "Please type your reply"),
    ),
    "inline_image_en.eml": Expected(
        "replied", contains=("The error dialog looks like this:",), attachments=("error.png",)
    ),
    "winmail_dat_en.eml": Expected(
        "replied",
        contains=("The export you wanted is attached.",),
        reason=("winmail.dat",),
        answers=1,
    ),
    "wrong_charset_pl.eml": Expected(
        "replied", contains=("Dziękuję, żółć już się nie pojawia.",), lacks=("Ä", "Å")
    ),
    # A forwarded chain from an admin with no reference is a new request, the forwarded
    # mail kept as its text.
    "forwarded_chain_en.eml": Expected(
        "filed",
        contains=("Please check this invoice", "Your invoice 2026/06 is attached."),
        answers=1,
    ),
    "auto_replied_en.eml": Expected("ignored", reason=("auto-replied",)),
    "x_autoreply_pl.eml": Expected("ignored", reason=("X-Autoreply",)),
    "precedence_bulk_en.eml": Expected("ignored", reason=("bulk",)),
    "bounce_en.eml": Expected("ignored", reason=("bounce",)),
    # Never by subject alone for a sender outside the organization.
    "outsider_subject_en.eml": Expected("refused", answers=1),
}


def test_every_corpus_file_has_its_expected_outcome() -> None:
    assert {p.name for p in CORPUS.glob("*.eml")} == set(EXPECTED)


def corpus_mail(name: str, ticket: Ticket, sender: str, thread: str) -> bytes:
    raw = (CORPUS / name).read_bytes()
    for placeholder, value in (
        ("{sender}", sender),
        ("{reply_to}", reply_address(ticket.pk, sender)),
        ("{thread}", thread),
        ("{reference}", ticket.reference),
    ):
        raw = raw.replace(placeholder.encode(), value.encode())
    return raw


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_mail(
    name: str, world: World, settings, tmp_path, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    expected = EXPECTED[name]
    ticket = world.file()
    thread = f"<sd.{ticket.pk}.1.ab12@supportdesk.localhost>"
    OutgoingMail.objects.create(
        ticket=ticket, recipient=world.admin_a.user.email, message_id=thread, created_at=T0
    )
    replies_before = Message.objects.filter(ticket=ticket).count()
    tickets_before = Ticket.objects.count()
    raw = corpus_mail(name, ticket, world.admin_a.user.email, thread)

    with django_capture_on_commit_callbacks(execute=True):
        outcome = ingest(raw, now=T0, source="test")

    assert outcome.action == expected.action, outcome.reason
    record = IncomingMail.objects.get(message_id=outcome.message_id)
    assert record.action == expected.action
    assert record.raw.read() == raw  # the original e-mail, for agents
    for word in expected.reason:
        assert word in record.reason
    assert len(mailoutbox) == expected.answers
    for answer in mailoutbox:
        assert answer.extra_headers["Auto-Submitted"] == "auto-replied"

    if expected.action == "replied":
        assert outcome.ticket_id == ticket.pk
        message = Message.objects.get(pk=record.ticket_message_id)
        text, files = message.body, [a.original_name for a in message.attachments.all()]
    elif expected.action == "filed":
        filed = Ticket.objects.get(pk=outcome.ticket_id)
        assert filed.channel == Channel.EMAIL
        assert filed.severity == "C"
        text, files = filed.description, [a.original_name for a in filed.attachments.all()]
    else:
        assert Message.objects.filter(ticket=ticket).count() == replies_before
        assert Ticket.objects.count() == tickets_before
        return
    for snippet in expected.contains:
        assert snippet in text
    for snippet in expected.lacks:
        assert snippet not in text, text
    assert files == list(expected.attachments)


def test_an_attachment_over_the_file_limit_is_refused_but_the_text_is_taken(
    world: World, settings, tmp_path, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    """A file over ATTACHMENT_MAX_BYTES (10 MB) in a message under the message limit
    (MAILIN_MAX_MESSAGE_BYTES, 25 MiB); a whole message over that is refused unread
    (tests/mailin/test_size_limit.py)."""
    from email.message import EmailMessage

    settings.MEDIA_ROOT = str(tmp_path)
    ticket = world.file()
    sender = world.admin_a.user.email
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = reply_address(ticket.pk, sender)
    mail["Subject"] = f"Re: [{ticket.reference}] Cannot send mail"
    mail["Message-ID"] = "<large-attachment-0001@alpha.example>"
    mail.set_content("The full mailbox export is attached.")
    big = b"%PDF-1.7\n" + b"0" * (12 * 1024 * 1024)
    mail.add_attachment(big, maintype="application", subtype="pdf", filename="export.pdf")

    with django_capture_on_commit_callbacks(execute=True):
        outcome = ingest(mail.as_bytes(), now=T0, source="test")

    assert outcome.action == Action.REPLIED
    assert "export.pdf" in outcome.reason
    message = ticket.messages.get()
    assert message.body == "The full mailbox export is attached."
    assert not message.attachments.exists()
    assert len(mailoutbox) == 1
    assert "export.pdf" in mailoutbox[0].body

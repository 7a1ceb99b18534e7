"""mailin.services.ingest: who may answer a request by e-mail, what it changes, and what
it never does twice."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest

from mailin.models import Action, IncomingMail
from mailin.services import ANSWER_INTERVAL, ingest
from tenants.models import Role
from tests.conftest import T0, World
from tests.factories import MembershipFactory
from tickets.actors import Actor
from tickets.mail import reply_address
from tickets.models import Channel, Message, OutgoingMail, Status, Ticket
from tickets.services import ticket_request_information, ticket_resolve

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)


def mail(
    sender: str,
    *,
    to: str = "support@supportdesk.localhost",
    subject: str = "Re: Cannot send mail",
    body: str = "It works now.",
    message_id: str = "<reply-1@alpha.example>",
    **headers: str,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


def reply(ticket: Ticket, sender: str, **kwargs: str) -> bytes:
    return mail(sender, to=reply_address(ticket.pk, sender), **kwargs)


def test_the_admin_answers_through_the_reply_address(world: World) -> None:
    ticket = world.file()
    outcome = ingest(reply(ticket, world.admin_a.user.email), now=T0, source="test")
    assert (outcome.action, outcome.ticket_id) == ("replied", ticket.pk)
    message = ticket.messages.get()
    assert message.body == "It works now."
    assert message.author == world.admin_a.user
    assert IncomingMail.objects.get().ticket_message == message


def test_the_requests_contact_address_answers_without_being_a_member(world: World) -> None:
    ticket = world.file(contact_email="ops@alpha.example")
    outcome = ingest(reply(ticket, "OPS@alpha.example"), now=T0, source="test")
    assert outcome.action == "replied"
    message = ticket.messages.get()
    assert message.author is None
    assert message.author_role == "customer"
    assert ticket.events.get(kind="customer_replied").actor_label == "ops@alpha.example"


def test_a_plain_user_of_the_organization_is_refused_and_told_once(
    world: World, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    ticket = world.file()
    sender = world.user_a.user.email
    with django_capture_on_commit_callbacks(execute=True):
        outcome = ingest(reply(ticket, sender), now=T0, source="test")
    assert outcome.action == "refused"
    assert not ticket.messages.exists()
    assert [m.to for m in mailoutbox] == [[sender]]
    assert "http://" in mailoutbox[0].body  # the portal's address


def test_a_reply_address_forwarded_to_someone_else_is_no_reference(world: World) -> None:
    ticket = world.file()
    colleague = MembershipFactory(organization=world.org_a, role=Role.GLOBAL_ADMIN)
    # The admin's own address, used by a colleague: the tag is not the colleague's.
    raw = mail(colleague.user.email, to=reply_address(ticket.pk, world.admin_a.user.email))
    outcome = ingest(raw, now=T0, source="test")
    # It named a request it could not prove, so it is no new request either.
    assert outcome.action == "refused"
    assert Ticket.objects.count() == 1
    assert not ticket.messages.exists()


def test_the_thread_finds_the_request_for_a_colleague_admin(world: World) -> None:
    ticket = world.file()
    colleague = MembershipFactory(organization=world.org_a, role=Role.BILLING_ADMIN)
    OutgoingMail.objects.create(
        ticket=ticket, recipient="x", message_id="<sd.1.1.ab@supportdesk.localhost>"
    )
    raw = mail(colleague.user.email, References="<other@x> <sd.1.1.ab@supportdesk.localhost>")
    outcome = ingest(raw, now=T0, source="test")
    assert (outcome.action, outcome.ticket_id) == ("replied", ticket.pk)


def test_the_subject_reference_counts_for_an_admin_of_that_organization_only(
    world: World,
) -> None:
    ticket = world.file()
    subject = f"Re: [{ticket.reference}] Cannot send mail"
    outsider = ingest(
        mail(world.admin_b.user.email, subject=subject, message_id="<b@x>"), now=T0, source="t"
    )
    assert outsider.action == "refused"
    assert not ticket.messages.exists()
    assert Ticket.objects.count() == 1  # not filed as a new request either
    admin = ingest(
        mail(world.admin_a.user.email, subject=subject, message_id="<a@x>"), now=T0, source="t"
    )
    assert (admin.action, admin.ticket_id) == ("replied", ticket.pk)


def test_the_same_mail_twice_makes_one_reply(
    world: World, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    ticket = world.file()
    raw = reply(ticket, world.admin_a.user.email)
    with django_capture_on_commit_callbacks(execute=True):
        first = ingest(raw, now=T0, source="imap")
        again = ingest(raw, now=T0 + timedelta(minutes=1), source="maildir")
    assert (first.action, again.action) == ("replied", "duplicate")
    assert again.message_id == first.message_id
    assert ticket.messages.count() == 1
    assert IncomingMail.objects.count() == 1


def test_an_answer_stops_the_cooperation_clock(world: World) -> None:
    ticket = world.file()
    ticket_request_information(
        ticket=ticket, actor=Actor.for_user(world.agent), body="Which mailbox?", now=T0
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.AWAITING_CUSTOMER
    assert ticket.customer_due_at is not None

    ingest(reply(ticket, world.admin_a.user.email), now=T0 + timedelta(hours=1), source="t")

    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.customer_due_at is None


def test_an_answer_reopens_a_resolved_request_within_the_window(world: World, settings) -> None:
    ticket = world.file()
    ticket_resolve(ticket=ticket, actor=Actor.for_user(world.agent), reason="Fixed", now=T0)
    sender = world.admin_a.user.email
    outcome = ingest(reply(ticket, sender), now=T0 + timedelta(days=1), source="t")
    assert outcome.action == "replied"
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_an_answer_after_the_reopen_window_is_refused(world: World, settings) -> None:
    ticket = world.file()
    ticket_resolve(ticket=ticket, actor=Actor.for_user(world.agent), reason="Fixed", now=T0)
    late = T0 + timedelta(days=settings.SUPPORTDESK.REOPEN_WINDOW_DAYS + 1)
    outcome = ingest(reply(ticket, world.admin_a.user.email), now=late, source="t")
    assert outcome.action == "refused"
    assert "File a new request" in outcome.reason
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert not ticket.messages.exists()


def test_a_refused_sender_gets_at_most_one_answer_an_hour(
    world: World, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    stranger = "someone@elsewhere.example"
    with django_capture_on_commit_callbacks(execute=True):
        for minute, number in ((0, 1), (30, 2), (59, 3)):
            raw = mail(stranger, message_id=f"<s{number}@x>")
            assert ingest(raw, now=T0 + timedelta(minutes=minute), source="t").action == "refused"
    assert len(mailoutbox) == 1
    with django_capture_on_commit_callbacks(execute=True):
        raw = mail(stranger, message_id="<s4@x>")
        ingest(raw, now=T0 + ANSWER_INTERVAL + timedelta(minutes=1), source="t")
    assert len(mailoutbox) == 2
    assert IncomingMail.objects.filter(answered_at__isnull=False).count() == 2
    assert IncomingMail.objects.filter(action=Action.REFUSED).count() == 4


def test_a_new_message_from_an_admin_files_a_severity_c_request(
    world: World, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    sender = world.admin_a.user.email
    raw = mail(
        sender,
        subject="Exchange Online rejects our connector",
        body="Since this morning every message is rejected.",
    )
    with django_capture_on_commit_callbacks(execute=True):
        outcome = ingest(raw, now=T0, source="t")
    assert outcome.action == "filed"
    ticket = Ticket.objects.get(pk=outcome.ticket_id)
    assert ticket.organization == world.org_a
    assert ticket.channel == Channel.EMAIL
    assert (ticket.category, ticket.product.slug) == ("technical", "exchange-online")
    assert (ticket.impact, ticket.scope, ticket.severity) == ("minimal", "one", "C")
    assert ticket.contact_email == sender
    assert ticket.created_by == world.admin_a.user
    answer = next(m for m in mailoutbox if "Auto-Submitted" in m.extra_headers)
    assert ticket.reference in answer.subject
    assert f"/portal/{world.org_a.slug}/requests/{ticket.reference}/assessment/" in answer.body


def test_a_new_message_naming_no_product_is_filed_in_a_category_the_role_may_file(
    world: World,
) -> None:
    billing = MembershipFactory(organization=world.org_a, role=Role.BILLING_ADMIN)
    outcome = ingest(mail(billing.user.email, subject="Our invoice"), now=T0, source="t")
    assert outcome.action == "filed"
    assert Ticket.objects.get(pk=outcome.ticket_id).category == "billing"


def test_a_service_support_admin_naming_no_product_is_sent_to_the_portal(world: World) -> None:
    technical = MembershipFactory(organization=world.org_a, role=Role.SERVICE_SUPPORT_ADMIN)
    outcome = ingest(mail(technical.user.email, subject="Help"), now=T0, source="t")
    assert outcome.action == "refused"
    assert not Ticket.objects.exists()


def test_an_admin_of_two_organizations_cannot_file_by_e_mail(world: World) -> None:
    MembershipFactory(organization=world.org_b, user=world.admin_a.user, role=Role.GLOBAL_ADMIN)
    outcome = ingest(mail(world.admin_a.user.email, subject="Invoice"), now=T0, source="t")
    assert outcome.action == "refused"
    assert not Ticket.objects.exists()


def test_our_own_mail_coming_back_is_ignored(world: World, mailoutbox) -> None:
    ticket = world.file()
    OutgoingMail.objects.create(
        ticket=ticket, recipient="x", message_id="<sd.9.9.ff@supportdesk.localhost>"
    )
    raw = mail(world.admin_a.user.email, message_id="<sd.9.9.ff@supportdesk.localhost>")
    assert ingest(raw, now=T0, source="t").action == "ignored"
    from_us = mail("support@supportdesk.localhost", message_id="<other@x>")
    assert ingest(from_us, now=T0, source="t").action == "ignored"
    assert not Message.objects.exists()
    assert not mailoutbox


def test_auto_submitted_no_is_a_person(world: World) -> None:
    ticket = world.file()
    raw = reply(ticket, world.admin_a.user.email, Auto_Submitted="no")
    assert ingest(raw, now=T0, source="t").action == "replied"


# Concurrent ingests need PostgreSQL: SQLite serialises every write transaction, so the
# race cannot happen there.
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_ingests_of_one_mail_at_once_make_one_reply(world: World) -> None:
    import threading

    from django.db import connections

    ticket = world.file()
    raw = reply(ticket, world.admin_a.user.email)
    barrier = threading.Barrier(4)
    actions: list[str] = []
    errors: list[BaseException] = []

    def fetch() -> None:
        try:
            barrier.wait()
            actions.append(ingest(raw, now=T0, source="imap").action)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(actions) == ["duplicate", "duplicate", "duplicate", "replied"]
    assert ticket.messages.count() == 1
    assert IncomingMail.objects.count() == 1


def test_staff_read_the_original_e_mail_as_escaped_text(world: World, admin_client: Any) -> None:
    from django.urls import reverse

    ticket = world.file()
    raw = reply(ticket, world.admin_a.user.email, body="<script>alert(1)</script> It works.")
    ingest(raw, now=T0, source="t")
    record = IncomingMail.objects.get()
    page = admin_client.get(reverse("admin:mailin_incomingmail_change", args=[record.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; It works." in text
    assert "<script>alert(1)</script>" not in text
    assert record.raw.name not in text  # no link to the stored file


def test_a_message_the_parser_cannot_read_is_ignored_once_not_retried_forever(
    world: World,
) -> None:
    boundary = b"b"
    nested = b"".join(
        b'Content-Type: multipart/mixed; boundary="'
        + boundary
        + b'"\r\n\r\n--'
        + boundary
        + b"\r\n"
        for _ in range(3000)
    )
    raw = b"From: someone@example.test\r\nSubject: deep\r\n" + nested
    first = ingest(raw, now=T0, source="test")
    again = ingest(raw, now=T0, source="test")
    assert first.action in ("ignored", "refused")
    assert again.action == "duplicate"
    assert not Message.objects.exists()


def test_raw_8_bit_bytes_in_the_sender_do_not_break_the_ingest(world: World) -> None:
    raw = (
        b"From: j\xf6rg@example.test\r\nTo: support@supportdesk.localhost\r\n"
        b"Subject: hello\r\nMessage-ID: <8bit@example.test>\r\n\r\nHello.\r\n"
    )
    outcome = ingest(raw, now=T0, source="test")
    assert outcome.action in ("refused", "ignored")
    assert IncomingMail.objects.filter(message_id="<8bit@example.test>").exists()


def test_a_message_id_longer_than_the_column_is_kept_whole_by_its_hash(world: World) -> None:
    def mail(suffix: str) -> bytes:
        long_id = "<" + "x" * 300 + suffix + "@example.test>"
        return (
            f"From: someone@example.test\r\nSubject: long\r\nMessage-ID: {long_id}\r\n\r\nHi.\r\n"
        ).encode()

    first, second = (
        ingest(mail("a"), now=T0, source="test"),
        ingest(mail("b"), now=T0, source="test"),
    )
    assert "duplicate" not in (first.action, second.action)
    assert first.message_id != second.message_id

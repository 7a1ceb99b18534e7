"""Attachments both ways on the desk: agents see every file of a request (thumbnails,
sandboxed previews, downloads) and attach files to replies, questions and notes; the
customer gets the public ones through the portal, never a note's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import World
from tickets import services
from tickets.actors import Actor
from tickets.models import Attachment, EventKind, MessageKind, Status, Ticket

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 32
SANDBOX = "sandbox; default-src 'none'"


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> Iterator[None]:
    settings.MEDIA_ROOT = str(tmp_path)
    yield


def _stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _agent(world: World) -> Actor:
    return Actor.for_user(world.agent)


def _desk_file(ticket: Ticket, attachment: Attachment) -> str:
    return reverse(
        "desk:ticket_attachment", kwargs={"number": ticket.pk, "attachment": attachment.pk}
    )


def _portal_file(ticket: Ticket, attachment: Attachment, org: str = "alpha") -> str:
    return reverse(
        "portal:attachment_download",
        kwargs={"org": org, "number": ticket.pk, "attachment": attachment.pk},
    )


def _customer_screenshot(world: World, ticket: Ticket) -> Attachment:
    services.ticket_customer_reply(
        ticket=ticket,
        actor=Actor.for_member(world.admin_a),
        body="Screenshot attached",
        attachments=[SimpleUploadedFile("screen.png", PNG, content_type="text/html")],
        now=timezone.now(),
    )
    return Attachment.objects.get(ticket=ticket, original_name="screen.png")


# --- Services ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "service",
    [
        services.ticket_agent_reply,
        services.ticket_internal_note,
        services.ticket_request_information,
    ],
)
def test_agent_files_are_stored_with_the_message_and_named_in_the_event(
    world: World, service: Any
) -> None:
    ticket = world.file()
    message = service(
        ticket=ticket,
        actor=_agent(world),
        body="See the attached guide",
        attachments=[SimpleUploadedFile("guide.pdf", PDF), SimpleUploadedFile("s.png", PNG)],
        now=timezone.now(),
    )
    files = list(message.attachments.order_by("pk"))
    assert [(f.original_name, f.content_type) for f in files] == [
        ("guide.pdf", "application/pdf"),
        ("s.png", "image/png"),
    ]
    assert all(
        f.uploaded_by == world.agent and f.organization == ticket.organization for f in files
    )
    event = ticket.events.order_by("-pk").first()
    assert event is not None and event.after["attachments"] == ["guide.pdf", "s.png"]


@pytest.mark.parametrize(
    "service",
    [
        services.ticket_agent_reply,
        services.ticket_internal_note,
        services.ticket_request_information,
    ],
)
def test_one_bad_agent_file_refuses_the_message_and_every_file(
    world: World, service: Any, tmp_path: Path
) -> None:
    ticket = world.file()
    events_before = ticket.events.count()
    with pytest.raises(services.TicketError) as refused:
        service(
            ticket=ticket,
            actor=_agent(world),
            body="Two files",
            attachments=[
                SimpleUploadedFile("a.pdf", PDF),
                SimpleUploadedFile("b.txt", b"\x7fELF\x02\x01\x01" + b"\x00" * 64),
            ],
            now=timezone.now(),
        )
    assert refused.value.field == "attachments"
    assert ticket.messages.count() == 0 and Attachment.objects.count() == 0
    assert ticket.events.count() == events_before
    assert _stored_files(tmp_path) == []


def test_files_written_before_a_failure_are_removed_with_the_rollback(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = world.file()

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database gone")

    monkeypatch.setattr(services, "refresh_clocks", fail)
    with pytest.raises(RuntimeError):
        services.ticket_agent_reply(
            ticket=ticket,
            actor=_agent(world),
            body="Guide",
            attachments=[SimpleUploadedFile("guide.pdf", PDF)],
            now=timezone.now(),
        )
    assert ticket.messages.count() == 0 and Attachment.objects.count() == 0
    assert _stored_files(tmp_path) == []


def test_a_refused_question_stores_no_file(world: World, tmp_path: Path) -> None:
    ticket = world.file()
    services.ticket_request_information(
        ticket=ticket, actor=_agent(world), body="Which user?", now=timezone.now()
    )
    with pytest.raises(services.TicketError):
        services.ticket_request_information(
            ticket=ticket,
            actor=_agent(world),
            body="And the headers?",
            attachments=[SimpleUploadedFile("form.pdf", PDF)],
            now=timezone.now(),
        )
    assert Attachment.objects.count() == 0 and _stored_files(tmp_path) == []


# --- The desk page and its download route ---------------------------------------------------


def test_the_desk_page_shows_every_file_with_thumbnails(world: World, client: Client) -> None:
    ticket = world.file()
    screenshot = _customer_screenshot(world, ticket)
    services.ticket_internal_note(
        ticket=ticket,
        actor=_agent(world),
        body="Vendor's answer",
        attachments=[SimpleUploadedFile("vendor.zip", ZIP)],
        now=timezone.now(),
    )
    note_file = Attachment.objects.get(original_name="vendor.zip")
    client.force_login(world.agent)
    page = client.get(reverse("desk:ticket", kwargs={"number": ticket.pk})).content.decode()
    screenshot_url = _desk_file(ticket, screenshot)
    assert f'<img src="{screenshot_url}?inline=1"' in page
    assert f'href="{screenshot_url}?inline=1"' in page
    # A zip is never opened by the browser: a download link only.
    assert f'href="{_desk_file(ticket, note_file)}" download' in page
    assert f"{_desk_file(ticket, note_file)}?inline=1" not in page


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("screen.png", PNG, "image/png"),
        ("report.pdf", PDF, "application/pdf"),
        ("trace.log", b"<script>alert(1)</script>\n", "text/plain; charset=utf-8"),
    ],
)
def test_images_pdfs_and_text_open_inline_under_a_sandbox(
    world: World, client: Client, name: str, content: bytes, content_type: str
) -> None:
    ticket = world.file()
    message = services.ticket_customer_reply(
        ticket=ticket,
        actor=Actor.for_member(world.admin_a),
        body="File",
        attachments=[SimpleUploadedFile(name, content, content_type="text/html")],
        now=timezone.now(),
    )
    attachment = message.attachments.get()
    client.force_login(world.agent)
    inline = client.get(_desk_file(ticket, attachment) + "?inline=1")
    assert inline.status_code == 200
    assert inline["Content-Type"] == content_type
    assert inline["Content-Disposition"].startswith("inline")
    assert inline["Content-Security-Policy"] == SANDBOX
    assert inline["X-Content-Type-Options"] == "nosniff"
    assert b"".join(inline.streaming_content) == content  # type: ignore[attr-defined]
    download = client.get(_desk_file(ticket, attachment))
    assert download["Content-Disposition"].startswith("attachment")
    assert download["Content-Security-Policy"] == SANDBOX


@pytest.mark.parametrize(("name", "content"), [("logs.zip", ZIP), ("users.csv", b"a,b\n1,2\n")])
def test_other_kinds_are_always_downloads(
    world: World, client: Client, name: str, content: bytes
) -> None:
    ticket = world.file()
    message = services.ticket_agent_reply(
        ticket=ticket,
        actor=_agent(world),
        body="File",
        attachments=[SimpleUploadedFile(name, content)],
        now=timezone.now(),
    )
    client.force_login(world.agent)
    response = client.get(_desk_file(ticket, message.attachments.get()) + "?inline=1")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == SANDBOX


def test_the_desk_route_is_for_staff_and_this_ticket_only(world: World, client: Client) -> None:
    ticket = world.file()
    other = world.file(world.admin_b)
    screenshot = _customer_screenshot(world, ticket)
    url = _desk_file(ticket, screenshot)
    client.force_login(world.admin_a.user)  # the uploader, but not staff
    assert client.get(url).status_code == 404
    client.force_login(world.supervisor)
    assert client.get(url).status_code == 200
    client.force_login(world.agent)
    assert client.get(url).status_code == 200
    wrong_ticket = reverse(
        "desk:ticket_attachment", kwargs={"number": other.pk, "attachment": screenshot.pk}
    )
    assert client.get(wrong_ticket).status_code == 404
    huge = reverse("desk:ticket_attachment", kwargs={"number": ticket.pk, "attachment": 2**63})
    assert client.get(huge).status_code == 404
    assert client.post(url).status_code == 405


def test_an_agent_replies_with_a_file_from_the_desk_and_the_customer_downloads_it(
    world: World, client: Client
) -> None:
    ticket = world.file()
    client.force_login(world.agent)
    response = client.post(
        reverse("desk:ticket_reply", kwargs={"number": ticket.pk}),
        {
            "reply-body": "The setup guide is attached.",
            "reply-action": "reply",
            "reply-attachments": [SimpleUploadedFile("guide.pdf", PDF)],
        },
    )
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.message is not None and attachment.message.kind == MessageKind.REPLY
    client.force_login(world.admin_a.user)
    detail = reverse("portal:request_detail", kwargs={"org": "alpha", "number": ticket.pk})
    assert _portal_file(ticket, attachment) in client.get(detail).content.decode()
    download = client.get(_portal_file(ticket, attachment))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert b"".join(download.streaming_content) == PDF  # type: ignore[attr-defined]
    # The other tenant's admin cannot reach it, not even with their own slug.
    client.force_login(world.admin_b.user)
    assert client.get(_portal_file(ticket, attachment, org="bravo")).status_code == 404
    assert client.get(_portal_file(ticket, attachment, org="alpha")).status_code == 404


def test_asking_for_information_with_a_file_waits_on_the_customer(
    world: World, client: Client
) -> None:
    ticket = world.file()
    client.force_login(world.agent)
    response = client.post(
        reverse("desk:ticket_reply", kwargs={"number": ticket.pk}),
        {
            "reply-body": "Fill in the form, please.",
            "reply-action": "request_information",
            "reply-attachments": [SimpleUploadedFile("form.pdf", PDF)],
        },
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.AWAITING_CUSTOMER
    assert Attachment.objects.get().original_name == "form.pdf"


def test_a_notes_file_stays_with_support(world: World, client: Client) -> None:
    ticket = world.file()
    client.force_login(world.agent)
    response = client.post(
        reverse("desk:ticket_note", kwargs={"number": ticket.pk}),
        {"note-body": "Vendor log", "note-attachments": [SimpleUploadedFile("vendor.log", b"x\n")]},
    )
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert ticket.events.filter(kind=EventKind.NOTED).get().after["attachments"] == ["vendor.log"]
    assert client.get(_desk_file(ticket, attachment)).status_code == 200
    client.force_login(world.admin_a.user)
    detail = reverse("portal:request_detail", kwargs={"org": "alpha", "number": ticket.pk})
    page = client.get(detail).content.decode()
    assert "vendor.log" not in page
    assert client.get(_portal_file(ticket, attachment)).status_code == 404


def test_a_refused_file_on_the_desk_is_shown_next_to_the_field(
    world: World, client: Client
) -> None:
    ticket = world.file()
    client.force_login(world.agent)
    response = client.post(
        reverse("desk:ticket_reply", kwargs={"number": ticket.pk}),
        {
            "reply-body": "Here",
            "reply-action": "reply",
            "reply-attachments": [SimpleUploadedFile("tool.exe", b"MZ" + b"\x00" * 30)],
        },
    )
    assert response.status_code == 400
    assert response.context["reply_form"].errors["attachments"]
    assert ticket.messages.count() == 0 and Attachment.objects.count() == 0


def test_the_desk_page_does_not_query_per_message_or_file(
    world: World, client: Client, django_assert_max_num_queries: Any
) -> None:
    ticket = world.file()
    client.force_login(world.agent)
    url = reverse("desk:ticket", kwargs={"number": ticket.pk})
    _customer_screenshot(world, ticket)
    client.get(url)  # warm the per-process caches (sessions, content types)
    with django_assert_max_num_queries(1000) as few:
        client.get(url)
    baseline = len(few.captured_queries)
    for i in range(5):
        services.ticket_internal_note(
            ticket=ticket,
            actor=_agent(world),
            body=f"Note {i}",
            attachments=[SimpleUploadedFile(f"n{i}.log", b"x\n"), SimpleUploadedFile("p.png", PNG)],
            now=timezone.now(),
        )
        services.ticket_customer_reply(
            ticket=ticket,
            actor=Actor.for_member(world.admin_a),
            body=f"Reply {i}",
            attachments=[SimpleUploadedFile(f"r{i}.pdf", PDF)],
            now=timezone.now(),
        )
    with django_assert_max_num_queries(baseline):
        client.get(url)


# --- The customer's e-mail -------------------------------------------------------------------


def test_the_customer_email_links_supports_files_to_the_portal(
    world: World, settings: Any, mailoutbox: list[Any]
) -> None:
    from django.core.mail import EmailMultiAlternatives

    from tickets import outbox

    settings.SITE_URL = "https://desk.example.test"
    ticket = world.file()
    now = timezone.now()
    reply = services.ticket_agent_reply(
        ticket=ticket,
        actor=_agent(world),
        body="The guide is attached.",
        attachments=[SimpleUploadedFile("guide.pdf", PDF)],
        now=now,
    )
    services.ticket_internal_note(
        ticket=ticket,
        actor=_agent(world),
        body="Vendor log",
        attachments=[SimpleUploadedFile("vendor.log", b"x\n")],
        now=now,
    )
    plain = services.ticket_request_information(
        ticket=ticket, actor=_agent(world), body="Which user?", now=now
    )
    events = [
        ticket.events.get(kind=kind)
        for kind in (EventKind.REPLIED, EventKind.NOTED, EventKind.INFORMATION_REQUESTED)
    ]
    outbox.deliver_events([e.pk for e in events], now=now)
    [replied, asked] = mailoutbox
    link = "https://desk.example.test" + _portal_file(ticket, reply.attachments.get())
    assert "- guide.pdf (" in replied.body and link in replied.body
    assert isinstance(replied, EmailMultiAlternatives)
    [(html, _mimetype)] = replied.alternatives
    assert f'<a href="{link}">guide.pdf</a>' in str(html)
    assert not replied.attachments  # links that need the customer's session, not the file
    assert "vendor.log" not in replied.body + asked.body
    assert "attached" not in asked.body and plain.attachments.count() == 0

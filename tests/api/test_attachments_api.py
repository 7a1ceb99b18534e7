"""Attachments through the API: multipart replies with files for customers and the desk,
file lists and downloads; another tenant's file and a note's file answer 404."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.api.conftest import Keys
from tests.conftest import World
from tickets import services
from tickets.actors import Actor
from tickets.models import Attachment, MessageKind, Status, Ticket

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)


def _bytes(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def _note_with_file(world: World, ticket: Ticket) -> Attachment:
    note = services.ticket_internal_note(
        ticket=ticket,
        actor=Actor.for_user(world.agent),
        body="Vendor log",
        attachments=[SimpleUploadedFile("vendor.log", b"internal only\n")],
        now=ticket.created_at,
    )
    return note.attachments.get()


def test_a_customer_replies_with_files_and_downloads_them(
    world: World, keys: Keys, client_a: APIClient
) -> None:
    ticket = world.file()
    response = client_a.post(
        f"/api/v1/tickets/{ticket.reference}/messages/",
        {"body": "Screenshot and report", "files": [
            SimpleUploadedFile("screen.png", PNG, content_type="text/html"),
            SimpleUploadedFile("report.pdf", PDF),
        ]},
        format="multipart",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    message = response.json()
    assert [(f["name"], f["content_type"]) for f in message["attachments"]] == [
        ("screen.png", "image/png"),
        ("report.pdf", "application/pdf"),
    ]
    listed = client_a.get(f"/api/v1/tickets/{ticket.reference}/attachments/").json()
    assert [f["id"] for f in listed] == [f["id"] for f in message["attachments"]]
    assert {f["message"] for f in listed} == {message["id"]}
    screen = message["attachments"][0]["id"]
    download = client_a.get(f"/api/v1/tickets/{ticket.reference}/attachments/{screen}/")
    assert download.status_code == 200
    assert download["Content-Type"] == "image/png"
    assert download["Content-Disposition"].startswith("attachment")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert _bytes(download) == PNG
    # A client that asks for the bytes only still gets them.
    raw = client_a.get(
        f"/api/v1/tickets/{ticket.reference}/attachments/{screen}/",
        HTTP_ACCEPT="application/octet-stream",
    )
    assert raw.status_code == 200 and _bytes(raw) == PNG
    missing = client_a.get(
        f"/api/v1/tickets/{ticket.reference}/attachments/999999/",
        HTTP_ACCEPT="application/octet-stream",
    )
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_a_json_reply_still_works_and_lists_no_files(
    world: World, keys: Keys, client_a: APIClient
) -> None:
    ticket = world.file()
    response = client_a.post(
        f"/api/v1/tickets/{ticket.reference}/messages/", {"body": "No files"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["attachments"] == []
    bad = client_a.post(
        f"/api/v1/tickets/{ticket.reference}/messages/",
        {"body": "Files in JSON", "files": ["x.png"]},
        format="json",
    )
    assert bad.status_code == 400 and "files" in bad.json()["fields"]


def test_one_refused_file_refuses_the_whole_api_reply(
    world: World, keys: Keys, client_a: APIClient, tmp_path: Path
) -> None:
    ticket = world.file()
    response = client_a.post(
        f"/api/v1/tickets/{ticket.reference}/messages/",
        {"body": "Two", "files": [
            SimpleUploadedFile("report.pdf", PDF),
            SimpleUploadedFile("tool.exe", b"MZ" + b"\x00" * 30),
        ]},
        format="multipart",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_attachment"
    assert "attachments" in response.json()["fields"]
    assert ticket.messages.count() == 0 and Attachment.objects.count() == 0
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_an_oversized_multipart_body_is_refused_before_it_is_read(
    world: World, keys: Keys, client_a: APIClient, settings: Any
) -> None:
    import dataclasses

    settings.SUPPORTDESK = dataclasses.replace(
        settings.SUPPORTDESK, ATTACHMENT_MAX_BYTES=1024, ATTACHMENT_MAX_FILES=1
    )
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    ticket = world.file()
    response = client_a.post(
        f"/api/v1/tickets/{ticket.reference}/messages/",
        {"body": "Big", "files": [SimpleUploadedFile("big.txt", b"a" * 4096)]},
        format="multipart",
    )
    assert response.status_code == 413
    assert ticket.messages.count() == 0


def test_customers_never_reach_a_notes_file_or_another_tenants(
    world: World, keys: Keys, client_a: APIClient, client_b: APIClient
) -> None:
    ticket = world.file()
    note_file = _note_with_file(world, ticket)
    reply = services.ticket_agent_reply(
        ticket=ticket,
        actor=Actor.for_user(world.agent),
        body="Guide attached",
        attachments=[SimpleUploadedFile("guide.pdf", PDF)],
        now=ticket.created_at,
    )
    guide = reply.attachments.get()
    base = f"/api/v1/tickets/{ticket.reference}"
    listed = client_a.get(f"{base}/attachments/").json()
    assert [f["name"] for f in listed] == ["guide.pdf"]
    messages = client_a.get(f"{base}/messages/").json()
    assert [[f["name"] for f in m["attachments"]] for m in messages] == [["guide.pdf"]]
    assert client_a.get(f"{base}/attachments/{note_file.pk}/").status_code == 404
    assert client_a.get(f"{base}/attachments/{guide.pk}/").status_code == 200
    # Organization B, with A's ticket number or its own ticket and A's file id.
    assert client_b.get(f"{base}/attachments/").status_code == 404
    assert client_b.get(f"{base}/attachments/{guide.pk}/").status_code == 404
    own = world.file(world.admin_b)
    assert (
        client_b.get(f"/api/v1/tickets/{own.reference}/attachments/{guide.pk}/").status_code == 404
    )
    assert client_b.get(f"/api/v1/tickets/{own.reference}/attachments/").json() == []


def test_an_agent_answers_with_files_through_the_desk_api(
    world: World, keys: Keys, agent_client: APIClient, client_a: APIClient
) -> None:
    ticket = world.file()
    base = f"/api/v1/desk/tickets/{ticket.reference}"
    asked = agent_client.post(
        f"{base}/replies/",
        {"kind": "request_information", "body": "Fill in the form",
         "files": [SimpleUploadedFile("form.pdf", PDF)]},
        format="multipart",
    )  # fmt: skip
    assert asked.status_code == 201, asked.content
    assert [f["name"] for f in asked.json()["attachments"]] == ["form.pdf"]
    ticket.refresh_from_db()
    assert ticket.status == Status.AWAITING_CUSTOMER
    noted = agent_client.post(
        f"{base}/replies/",
        {"kind": "note", "body": "Vendor log", "files": [SimpleUploadedFile("v.log", b"v\n")]},
        format="multipart",
    )
    assert noted.status_code == 201 and noted.json()["kind"] == MessageKind.NOTE
    listed = agent_client.get(f"{base}/attachments/").json()
    assert [f["name"] for f in listed] == ["form.pdf", "v.log"]
    note_file = listed[1]["id"]
    download = agent_client.get(f"{base}/attachments/{note_file}/")
    assert download.status_code == 200 and _bytes(download) == b"v\n"
    assert download["Content-Disposition"].startswith("attachment")
    # The customer gets the question's file, not the note's.
    customer = client_a.get(f"/api/v1/tickets/{ticket.reference}/attachments/").json()
    assert [f["name"] for f in customer] == ["form.pdf"]
    assert (
        client_a.get(f"/api/v1/tickets/{ticket.reference}/attachments/{note_file}/").status_code
        == 404
    )
    # Organization keys do not reach the desk's routes.
    assert client_a.get(f"{base}/attachments/").status_code == 404
    assert client_a.get(f"{base}/attachments/{note_file}/").status_code == 404
    other = world.file(world.admin_b)
    wrong = f"/api/v1/desk/tickets/{other.reference}/attachments/{note_file}/"
    assert agent_client.get(wrong).status_code == 404


def test_the_messages_list_does_not_query_per_file(
    world: World, keys: Keys, client_a: APIClient, django_assert_max_num_queries: Any
) -> None:
    ticket = world.file()
    url = f"/api/v1/tickets/{ticket.reference}/messages/"
    services.ticket_agent_reply(
        ticket=ticket, actor=Actor.for_user(world.agent), body="First", now=ticket.created_at
    )
    client_a.get(url)
    with django_assert_max_num_queries(1000) as few:
        client_a.get(url)
    baseline = len(few.captured_queries)
    for i in range(4):
        services.ticket_agent_reply(
            ticket=ticket,
            actor=Actor.for_user(world.agent),
            body=f"Reply {i}",
            attachments=[SimpleUploadedFile(f"g{i}.pdf", PDF)],
            now=ticket.created_at,
        )
    with django_assert_max_num_queries(baseline):
        assert len(client_a.get(url).json()) == 5

"""Attachments both ways in a real browser: an agent opens the customer's screenshot from
its thumbnail and answers with a file; the customer downloads it from the portal."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.conftest import World
from tests.e2e.conftest import sign_in
from tickets import services
from tickets.actors import Actor
from tickets.models import Attachment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GUIDE = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def _png(width: int = 48, height: int = 32) -> bytes:
    """A real (solid blue) PNG, so the browser draws the thumbnail."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    row = b"\x00" + b"\x1f\x5f\xbf" * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)


def test_the_agent_opens_the_screenshot_and_the_customer_downloads_the_answer(
    world: World, page: Any, tmp_path: Path
) -> None:
    ticket = world.file(now=timezone.now())
    screenshot = _png()
    services.ticket_customer_reply(
        ticket=ticket,
        actor=Actor.for_member(world.admin_a),
        body="The bounce, as a screenshot.",
        attachments=[SimpleUploadedFile("bounce.png", screenshot, content_type="image/png")],
        now=timezone.now(),
    )

    # The agent sees the screenshot as a thumbnail and opens it.
    sign_in(page, world.agent.email)
    page.goto(f"/desk/tickets/{ticket.pk}/")
    thumbnail = page.get_by_role("img", name="bounce.png")
    thumbnail.wait_for(state="visible")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 48", arg=thumbnail.element_handle()
    )
    with page.expect_popup() as opened:
        thumbnail.click()
    image = opened.value
    image.wait_for_load_state()
    assert "?inline=1" in image.url
    assert image.evaluate("document.contentType") == "image/png"
    image.close()

    # The agent answers with a file.
    page.get_by_label("Reply to the customer").fill("The setup guide is attached.")
    page.locator("#id_reply-attachments").set_input_files(
        files=[{"name": "setup-guide.pdf", "mimeType": "application/pdf", "buffer": GUIDE}]
    )
    page.get_by_role("button", name="Send reply").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("Your reply was sent to the customer.").is_visible()
    guide = Attachment.objects.get(original_name="setup-guide.pdf")
    assert guide.uploaded_by == world.agent and guide.message is not None
    # The agent's own file is listed on the page, opened in the browser.
    assert page.get_by_role("link", name="setup-guide.pdf").is_visible()

    # The customer downloads it from the portal, signed in.
    page.context.clear_cookies()
    sign_in(page, world.admin_a.user.email)
    page.goto(f"/portal/alpha/requests/{ticket.pk}/")
    link = page.get_by_role("link", name="setup-guide.pdf")
    assert link.is_visible()
    with page.expect_download() as downloading:
        link.click()
    download = downloading.value
    assert download.suggested_filename == "setup-guide.pdf"
    assert Path(download.path()).read_bytes() == GUIDE

"""The attachment allow-list: the extension and the content's magic bytes must agree;
the browser's content type plays no part. Pure: no database."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from typing import Any

import pytest

from tickets.attachments import (
    ERR_CONTENT_MISMATCH,
    ERR_EMPTY,
    ERR_TOO_LARGE,
    ERR_TYPE_NOT_ALLOWED,
    AttachmentRejected,
    allowed_extensions,
    check,
)

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 32


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "head", "content_type"),
    [
        ("screen.png", PNG, "image/png"),
        ("Photo.JPEG", JPEG, "image/jpeg"),
        ("report.pdf", PDF, "application/pdf"),
        (
            "spec.docx",
            _docx(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("trace.log", "Zażółć gęślą jaźń\nERROR 550\n".encode(), "text/plain; charset=utf-8"),
        ("users.csv", b"name,email\nAnna,anna@example.test\n", "text/csv; charset=utf-8"),
        (r"C:\Users\anna\Desktop\screen.png", PNG, "image/png"),
    ],
)
def test_allowed_files(name: str, head: bytes, content_type: str) -> None:
    checked = check(name=name, size=len(head), head=head)
    assert checked.content_type == content_type
    assert "\\" not in checked.name and "/" not in checked.name


@pytest.mark.parametrize(
    ("name", "head", "message"),
    [
        ("setup.exe", b"MZ" + b"\x00" * 30, ERR_TYPE_NOT_ALLOWED),
        ("page.html", b"<html><script>x</script>", ERR_TYPE_NOT_ALLOWED),
        ("image.svg", b"<svg onload=alert(1)>", ERR_TYPE_NOT_ALLOWED),
        ("noextension", PNG, ERR_TYPE_NOT_ALLOWED),
        ("invoice.pdf", b"MZ\x90\x00" + b"\x00" * 30, ERR_CONTENT_MISMATCH),
        ("screen.png", PDF, ERR_CONTENT_MISMATCH),
        ("notes.txt", ELF, ERR_CONTENT_MISMATCH),
        ("notes.txt", PNG, ERR_CONTENT_MISMATCH),
        ("latin1.txt", b"caf\xe9 " * 20, ERR_CONTENT_MISMATCH),
        ("spec.docx", PDF, ERR_CONTENT_MISMATCH),
    ],
)
def test_refused_files(name: str, head: bytes, message: Any) -> None:
    with pytest.raises(AttachmentRejected) as refused:
        check(name=name, size=len(head), head=head)
    if message is ERR_TYPE_NOT_ALLOWED:
        expected = message % {"name": name, "allowed": allowed_extensions()}
    else:
        expected = message % {"name": name, "extension": name.rsplit(".", 1)[1]}
    assert refused.value.message == str(expected)


def test_size_limits(settings: Any) -> None:
    settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, ATTACHMENT_MAX_BYTES=1024)
    with pytest.raises(AttachmentRejected) as too_large:
        check(name="screen.png", size=1025, head=PNG)
    assert too_large.value.message == str(
        ERR_TOO_LARGE % {"name": "screen.png", "limit": "1.0\xa0KB"}
    )
    with pytest.raises(AttachmentRejected) as empty:
        check(name="screen.png", size=0, head=b"")
    assert empty.value.message == str(ERR_EMPTY % {"name": "screen.png"})
    assert check(name="screen.png", size=1024, head=PNG).size == 1024


def test_a_text_sample_may_end_inside_a_character() -> None:
    """The sniffed head is cut at a fixed size, possibly inside a UTF-8 character."""
    head = ("a" * 10 + "ż").encode()[:-1]
    assert check(name="cut.txt", size=1000, head=head).content_type.startswith("text/plain")

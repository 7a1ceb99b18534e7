"""What a customer may attach, checked by the file's name *and* its content.

The browser's ``Content-Type`` is the uploader's word and is never trusted: the type is
read from the content's magic bytes (``filetype``) and must agree with the extension on
an allow-list. Plain-text kinds have no magic bytes, so they must decode as UTF-8, carry
no NUL byte and look like no binary type. The stored content type comes from the
allow-list, so a download is served as what it really is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO

import filetype
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from core.refusals import Refused

# How much of a file is read to judge it; every magic number filetype knows fits in it.
SNIFF_BYTES = 8192
NAME_MAX_LENGTH = 255


@dataclass(frozen=True, slots=True)
class AllowedType:
    content_type: str
    # What filetype may report for this content; empty: a text kind (no magic bytes).
    sniffed_as: frozenset[str]


_TEXT = frozenset[str]()

ALLOWED: Mapping[str, AllowedType] = {
    "pdf": AllowedType("application/pdf", frozenset({"pdf"})),
    "png": AllowedType("image/png", frozenset({"png"})),
    "jpg": AllowedType("image/jpeg", frozenset({"jpg"})),
    "jpeg": AllowedType("image/jpeg", frozenset({"jpg"})),
    "gif": AllowedType("image/gif", frozenset({"gif"})),
    "webp": AllowedType("image/webp", frozenset({"webp"})),
    "zip": AllowedType("application/zip", frozenset({"zip"})),
    "docx": AllowedType(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        frozenset({"docx", "zip"}),
    ),
    "xlsx": AllowedType(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        frozenset({"xlsx", "zip"}),
    ),
    "pptx": AllowedType(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        frozenset({"pptx", "zip"}),
    ),
    "txt": AllowedType("text/plain; charset=utf-8", _TEXT),
    "log": AllowedType("text/plain; charset=utf-8", _TEXT),
    "csv": AllowedType("text/csv; charset=utf-8", _TEXT),
}

ERR_TYPE_NOT_ALLOWED = _("%(name)s: this kind of file cannot be attached. Allowed: %(allowed)s.")
ERR_CONTENT_MISMATCH = _(
    "%(name)s: the file's content does not match its name (.%(extension)s). "
    "Attach the original file."
)
ERR_TOO_LARGE = _("%(name)s is larger than the limit of %(limit)s.")
ERR_EMPTY = _("%(name)s is empty.")
ERR_TOO_MANY = _("Attach at most %(count)d files at a time.")
ERR_NAME_TOO_LONG = _("A file name can be at most %(max)d characters long.")


class AttachmentRejected(Refused):
    """An upload that may not be stored; ``message`` is shown next to the field."""

    def __init__(self, message: object) -> None:
        super().__init__(message, code="invalid_attachment", field="attachments")


@dataclass(frozen=True, slots=True)
class CheckedUpload:
    name: str
    content_type: str
    size: int


def max_bytes() -> int:
    return settings.SUPPORTDESK.ATTACHMENT_MAX_BYTES


def max_files() -> int:
    return settings.SUPPORTDESK.ATTACHMENT_MAX_FILES


def allowed_extensions() -> str:
    return ", ".join(f".{ext}" for ext in ALLOWED)


def accept_attribute() -> str:
    """For ``<input type=file accept=…>``: a hint to the browser; the server decides."""
    return ",".join(f".{ext}" for ext in ALLOWED)


# Kinds a browser may show itself (sandboxed): images, PDFs and plain text. Everything
# else (office files, archives, CSV a spreadsheet would open) is only ever downloaded.
INLINE_TYPES = ("image/", "application/pdf", "text/plain")


def opens_in_browser(content_type: str) -> bool:
    return content_type.startswith(INLINE_TYPES)


def is_image(content_type: str) -> bool:
    return content_type.startswith("image/")


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # The sample may end in the middle of a multi-byte character: only that is fine.
        if error.start < len(head) - 3:
            return False
    return filetype.guess(head) is None


def check(*, name: str, size: int, head: bytes) -> CheckedUpload:
    """Judge an upload by its name, size and first bytes. Pure."""
    clean_name = PurePath(name.replace("\\", "/")).name.strip() or "attachment"
    if len(clean_name) > NAME_MAX_LENGTH:
        raise AttachmentRejected(str(ERR_NAME_TOO_LONG % {"max": NAME_MAX_LENGTH}))
    if size <= 0:
        raise AttachmentRejected(str(ERR_EMPTY % {"name": clean_name}))
    if size > max_bytes():
        raise AttachmentRejected(
            str(ERR_TOO_LARGE % {"name": clean_name, "limit": filesizeformat(max_bytes())})
        )
    extension = PurePath(clean_name).suffix.lower().lstrip(".")
    allowed = ALLOWED.get(extension)
    if allowed is None:
        raise AttachmentRejected(
            str(ERR_TYPE_NOT_ALLOWED % {"name": clean_name, "allowed": allowed_extensions()})
        )
    if allowed.sniffed_as:
        kind = filetype.guess(head)
        ok = kind is not None and kind.extension in allowed.sniffed_as
    else:
        ok = _looks_like_text(head)
    if not ok:
        raise AttachmentRejected(
            str(ERR_CONTENT_MISMATCH % {"name": clean_name, "extension": extension})
        )
    return CheckedUpload(name=clean_name, content_type=allowed.content_type, size=size)


def check_file(upload: IO[bytes], *, name: str, size: int) -> CheckedUpload:
    """Judge an uploaded file object; its position is put back at the start."""
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    return check(name=name, size=size, head=head)

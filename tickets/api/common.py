"""What the customer and desk APIs share: the request number and attachment id in the path,
the parsers of a reply with files, and how a file is answered. (A service's refusal
becomes the JSON error in ``core.api_errors.exception_handler``.)"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.http import FileResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from core.api_errors import LimitedJSONParser, PayloadTooLarge
from tickets import attachments as uploads
from tickets.models import Attachment

NUMBER = OpenApiParameter(
    "number",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description=_("The request's number, e.g. SR-000123 (or 123)."),
)

ATTACHMENT_ID = OpenApiParameter(
    "attachment_id",
    OpenApiTypes.INT,
    OpenApiParameter.PATH,
    description=_("The attachment's id, from the request's attachments or a message's."),
)


class LimitedMultiPartParser(MultiPartParser):
    """``multipart/form-data`` with files, refused with 413 when the declared length is more
    than the most files a message may carry: nothing that large is spooled to disk."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        request = (parser_context or {}).get("request")
        if request is not None:
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                declared = 0
            ceiling = (
                uploads.max_files() * uploads.max_bytes() + settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            )
            if declared > ceiling:
                raise PayloadTooLarge
        return super().parse(stream, media_type, parser_context)


# A reply takes JSON, or multipart with files.
REPLY_PARSERS = (LimitedJSONParser, LimitedMultiPartParser)


class DownloadNegotiation(DefaultContentNegotiation):
    """A download answers the file whatever the client accepts; only its errors are JSON,
    so an ``Accept: application/octet-stream`` client still reads why it got a 404."""

    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


def file_response(attachment: Attachment) -> FileResponse:
    """Always a download, never rendered by the client or sniffed into another type."""
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, no-store"
    return response


FILE_RESPONSE = OpenApiResponse(
    OpenApiTypes.BINARY,
    description=_(
        "The file's bytes, as a download (`Content-Disposition: attachment` with the original "
        "name); `Content-Type` is the type found from its content."
    ),
)

# Every type a stored file can have: uploads pass the allow-list (tickets.attachments),
# which gives each its type. The text types carry `; charset=utf-8`.
FILE_TYPES = sorted({allowed.content_type.split(";")[0] for allowed in uploads.ALLOWED.values()})
FILE_RESPONSES = {(200, media_type): FILE_RESPONSE for media_type in FILE_TYPES}

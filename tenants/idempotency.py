"""``Idempotency-Key`` for API POSTs: a retried request gets the first response back.

The record is inserted *first*, in the same transaction as the write it guards, under a
unique (organization, key) constraint. A concurrent request with the same key blocks on
that unique index (PostgreSQL) or on the write lock (SQLite, IMMEDIATE transactions)
until the first one commits, then finds the record and replays its response; if the
first one rolled back, the second simply goes ahead. So a retry storm files one ticket.

Only completed responses are stored (the write and its record commit together); a
request refused by validation leaves no record, and retrying it is refused the same way.

"The same request" is the method, the path, every field of the body and, for a multipart
body, every uploaded file's field, name and bytes: a retry with another file of the same
name is another request (422), not a replay.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from core.api_errors import ApiError
from tenants.credentials import IdempotencyRecord
from tenants.models import Organization

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# Visible ASCII, spaces only inside (the header's surrounding white space is dropped). The
# schema publishes this pattern for the header, so what it promises is what is accepted.
KEY_PATTERN = r"^ *[!-~](?:[ -~]{0,253}[!-~])? *$"
_KEY = re.compile(KEY_PATTERN)

ERR_KEY_REUSED = _(
    "This Idempotency-Key was used with a different request; use a new key for a new request."
)
ERR_KEY_INVALID = _(
    "The Idempotency-Key must be 1 to 255 visible ASCII characters (spaces only inside)."
)
ERR_KEY_BUSY = _("A request with this Idempotency-Key is still being handled; retry shortly.")


def ttl() -> timedelta:
    return timedelta(hours=settings.SUPPORTDESK.IDEMPOTENCY_TTL_HOURS)


def _request_hash(request: Request) -> str:
    data = request.data
    if isinstance(data, QueryDict):
        # A form or multipart body: every value of each field (json.dumps of a QueryDict
        # would keep only the last), the files apart, by their contents below.
        data = {
            key: [value for value in values if not isinstance(value, UploadedFile)]
            for key, values in data.lists()
        }
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256()
    for part in (request.method or "", request.path, canonical):
        digest.update(part.encode())
        digest.update(b"\0")
    # Appended only when there are files, so a JSON request hashes as it always has (a
    # record written before this still answers its retries).
    for field, uploads in sorted(request.FILES.lists()):
        for upload in uploads:
            for part in (field, upload.name or "", _content_hash(upload)):
                digest.update(part.encode())
                digest.update(b"\0")
    return digest.hexdigest()


def _content_hash(upload: UploadedFile) -> str:
    """The file's bytes hashed chunk by chunk: a large upload, spooled to disk by Django,
    is not read into memory whole. The file is left at its start for the service."""
    content = hashlib.sha256()
    for chunk in upload.chunks():
        content.update(chunk)
    upload.seek(0)
    return content.hexdigest()


def idempotent(
    request: Request,
    *,
    organization: Organization,
    now: datetime,
    handle: Callable[[], Response],
) -> Response:
    """Run ``handle`` once per (organization, Idempotency-Key); without the header, just
    run it."""
    key = request.headers.get(HEADER)
    if key is None:
        return handle()
    if not _KEY.fullmatch(key):
        raise ApiError(
            ERR_KEY_INVALID,
            code="invalid_idempotency_key",
            http_status=status.HTTP_400_BAD_REQUEST,
        )
    key = key.strip(" ")
    request_hash = _request_hash(request)  # parses the body: bad JSON fails here, unrecorded
    with transaction.atomic():
        IdempotencyRecord.objects.filter(
            organization=organization, key=key, created_at__lt=now - ttl()
        ).delete()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    organization=organization, key=key, request_hash=request_hash, created_at=now
                )
        except IntegrityError:
            record = None
        if record is not None:
            response = handle()
            record.response_status = response.status_code
            record.response_body = json.loads(JSONRenderer().render(response.data) or b"null")
            record.save(update_fields=["response_status", "response_body"])
            return response
    return _replay(organization, key, request_hash)


def _replay(organization: Organization, key: str, request_hash: str) -> Response:
    first = IdempotencyRecord.objects.filter(organization=organization, key=key).first()
    if first is None or first.response_status == 0:
        raise ApiError(ERR_KEY_BUSY, code="idempotency_key_busy", http_status=409)
    if first.request_hash != request_hash:
        raise ApiError(
            ERR_KEY_REUSED,
            code="idempotency_key_reused",
            http_status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    return Response(
        first.response_body, status=first.response_status, headers={REPLAY_HEADER: "true"}
    )


def purge_expired(*, now: datetime) -> int:
    deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lt=now - ttl()).delete()
    return deleted

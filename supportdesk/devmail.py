"""Development only: the e-mails the file backend wrote, newest first, readable in the
browser (``/dev/mail/``, routed only when ``DEBUG``): the customer's and staff's mail,
their reply addresses and the PIN codes, without a mail server.

Django's file backend writes one ``.log`` file per connection, each message as its RFC
822 bytes followed by a line of 79 dashes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
# Between two messages in a file: a line of exactly 79 dashes, then the next message's
# first header (or the end), so a line of dashes in a mail's text does not split it.
_SEPARATOR = re.compile(rb"\n-{79}\n(?=[A-Za-z][A-Za-z0-9-]*:|\Z)")
# The page shows this many, newest first; older files stay on disk.
SHOWN = 200


@dataclass(frozen=True, slots=True)
class SentMail:
    to: str
    subject: str
    sent_at: datetime | None
    message_id: str
    reply_to: str
    in_reply_to: str
    text: str
    file: str


def read_mail_folder(folder: Path, *, limit: int = SHOWN) -> list[SentMail]:
    """The messages of the folder's ``.log`` files, newest first."""
    if not folder.is_dir():
        return []
    found: list[SentMail] = []
    files = sorted(folder.glob("*.log"), key=lambda path: path.stat().st_mtime, reverse=True)
    for path in files:
        chunks = [chunk for chunk in _SEPARATOR.split(path.read_bytes()) if chunk.strip()]
        for chunk in reversed(chunks):
            found.append(_parse(chunk, path.name))
        if len(found) >= limit:
            break
    found.sort(key=lambda mail: mail.sent_at.timestamp() if mail.sent_at else 0, reverse=True)
    return found[:limit]


def _parse(raw: bytes, file: str) -> SentMail:
    message = BytesParser(policy=policy.default).parsebytes(raw.lstrip(b"\n"))
    try:
        sent_at = parsedate_to_datetime(str(message["Date"])) if message["Date"] else None
    except (TypeError, ValueError):
        sent_at = None
    body = message.get_body(preferencelist=("plain", "html"))
    text = body.get_content() if isinstance(body, EmailMessage) else ""
    return SentMail(
        to=str(message["To"] or ""),
        subject=str(message["Subject"] or ""),
        sent_at=sent_at,
        message_id=str(message["Message-ID"] or ""),
        reply_to=str(message["Reply-To"] or ""),
        in_reply_to=str(message["In-Reply-To"] or ""),
        text=str(text),
        file=file,
    )


def enabled() -> bool:
    """Only in development with DEBUG: production never shows mail, even with DEBUG on."""
    return bool(settings.DEBUG) and not settings.PRODUCTION


def sent_mail(request: HttpRequest) -> HttpResponse:
    # Routed only when enabled; checked again here so a stray route can never show mail.
    if not enabled():
        raise Http404
    backend = str(settings.EMAIL_BACKEND)
    folder = Path(str(getattr(settings, "EMAIL_FILE_PATH", "") or settings.DATA_DIR / "mail"))
    mails = read_mail_folder(folder) if backend == FILE_BACKEND else []
    return render(
        request,
        "dev/mail.html",
        {"mails": mails, "folder": folder, "file_backend": backend == FILE_BACKEND},
    )

"""Development only: the e-mails the file backend wrote, newest first, readable in the
browser (``/dev/mail/``, routed only when ``DEBUG``): the customer's and staff's mail,
their reply addresses and the PIN codes, without a mail server. The newest verification
codes lead the page, as plain digits: the e-mail itself is multipart, quoted-printable
and in the contact's language, so the code is hard to spot in the raw file.

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

from tenants.mail import KIND_HEADER

FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
# Between two messages in a file: a line of exactly 79 dashes, then the next message's
# first header (or the end), so a line of dashes in a mail's text does not split it.
_SEPARATOR = re.compile(rb"\n-{79}\n(?=[A-Za-z][A-Za-z0-9-]*:|\Z)")
# The page shows this many, newest first; older files stay on disk.
SHOWN = 200
# The codes panel at the top of the page: the newest verification codes, plainly.
CODES_SHOWN = 5
CODE_KIND = "verification-code"
# The code stands alone on its line of the e-mail's text (emails/pin_code.txt).
_CODE_LINE = re.compile(r"^[ \t]+(\d{6,12})[ \t]*$", re.MULTILINE)


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
    kind: str = ""
    # The verification code of a code e-mail, read from its decoded text; else "".
    code: str = ""


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
    kind = str(message[KIND_HEADER] or "")
    found = _CODE_LINE.search(str(text)) if kind == CODE_KIND else None
    return SentMail(
        to=str(message["To"] or ""),
        subject=str(message["Subject"] or ""),
        sent_at=sent_at,
        message_id=str(message["Message-ID"] or ""),
        reply_to=str(message["Reply-To"] or ""),
        in_reply_to=str(message["In-Reply-To"] or ""),
        text=str(text),
        file=file,
        kind=kind,
        code=found.group(1) if found else "",
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
    codes = [mail for mail in mails if mail.code][:CODES_SHOWN]
    return render(
        request,
        "dev/mail.html",
        {
            "mails": mails,
            "codes": codes,
            "folder": folder,
            "file_backend": backend == FILE_BACKEND,
        },
    )

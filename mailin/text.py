"""The new text of an answer: decoded, HTML made plain, quoted history and signature cut.

Pure: plain values in, plain values out (no models, no clock).
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from html.parser import HTMLParser

from mailparser_reply import EmailReplyParser

from tickets.mail import REPLY_ABOVE_MARKER

LANGUAGES = ["en", "pl"]

# Cuts the library does not make: the RFC 3676 signature separator ("-- " on its own line,
# which the library reads after trimming the space away) and Thunderbird's Polish quote
# header, which may be wrapped onto a second line.
_SIGNATURE = re.compile(r"^-- ?$", re.MULTILINE)
_THUNDERBIRD_PL = re.compile(r"^W dniu [^\n]*(?:\n[^\n]*)?pisze:[ \t]*$", re.MULTILINE)
_OUTLOOK_ORIGINAL = re.compile(
    r"^-{2,}\s*(?:Original Message|Oryginalna wiadomo\w*)\s*-{2,}\s*$", re.MULTILINE | re.IGNORECASE
)

_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "hr"}
)
_SKIPPED_TAGS = frozenset({"script", "style", "head", "title", "blockquote"})


_VOID_TAGS = frozenset({"br", "img", "hr", "meta", "link", "input", "wbr", "col", "area", "base"})


class _PlainText(HTMLParser):
    """The text a reader sees. Quoted history (``<blockquote>``, Gmail's
    ``<div class="gmail_quote">``) is left out: the open tags inside a skipped block are
    counted, so its own closing tag ends the skip."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipped: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skipped:
            if tag not in _VOID_TAGS:
                self.skipped.append(tag)
            return
        classes = dict(attrs).get("class") or ""
        if tag in _SKIPPED_TAGS or "gmail_quote" in classes.split():
            self.skipped = [tag]
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.skipped:
            if tag in self.skipped:
                while self.skipped and self.skipped.pop() != tag:
                    pass
            return
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipped:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _PlainText()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def decoded_text(part: EmailMessage) -> str:
    """A text part's content. Many mailers declare one charset and send another (most
    often ISO-8859-1 declared over UTF-8 bytes): valid UTF-8 is taken as UTF-8, since text
    in a legacy charset is almost never valid UTF-8 by chance."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(part.get_payload())
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        pass
    charset = part.get_content_charset() or "latin-1"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("latin-1", errors="replace")


def body_text(message: EmailMessage) -> str:
    """The message's text: its plain part, else its HTML part made plain."""
    part = message.get_body(preferencelist=("plain", "html"))
    if not isinstance(part, EmailMessage):
        return ""
    text = decoded_text(part)
    if part.get_content_type() == "text/html":
        text = html_to_text(text)
    return text


def _cut(text: str, pattern: re.Pattern[str]) -> str:
    match = pattern.search(text)
    return text[: match.start()] if match else text


def reply_text(text: str) -> str:
    """Only what the sender wrote now: everything from our reply-above marker, the quoted
    history (English and Polish headers: Gmail, Outlook, Thunderbird) and the signature is
    cut."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    marker = text.find(REPLY_ABOVE_MARKER)
    if marker >= 0:
        text = text[:marker]
        # The quoting mailer's "> " in front of the marker, if any.
        text = text.rstrip("> \t")
    for pattern in (_SIGNATURE, _THUNDERBIRD_PL, _OUTLOOK_ORIGINAL):
        text = _cut(text, pattern)
    latest = EmailReplyParser(languages=LANGUAGES).parse_reply(text=text) or ""
    # Quoted lines left at the end (a mailer that quotes without a header line).
    lines = latest.strip().splitlines()
    while lines and (lines[-1].startswith(">") or not lines[-1].strip()):
        lines.pop()
    return "\n".join(lines).strip()

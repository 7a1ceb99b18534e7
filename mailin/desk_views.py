"""The original e-mail behind a customer's reply, for agents (``/desk/mail/…``).

What a stranger sent is never rendered by the browser: the page shows its headers, its
text and its source as escaped text, under a sandboxing policy like the desk's file views.
"""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from mailin import text as mailtext
from mailin.models import IncomingMail
from tenants.access import AgentRequest, desk_view
from tickets.access import ticket_for_desk

# Shown up to this size; the stored file keeps all of it.
SHOWN_BYTES = 200_000
HEADERS = ("From", "To", "Cc", "Date", "Subject", "Message-ID")


@desk_view
@require_GET
def original(request: AgentRequest, number: str, mail: int) -> HttpResponse:
    ticket = ticket_for_desk(request.user, number)
    # Only a mail of this request: another request's id does not exist here.
    incoming = IncomingMail.objects.filter(pk=mail, ticket=ticket).first()
    if incoming is None or not incoming.raw:
        raise Http404
    with incoming.raw.open("rb") as stored:
        raw = stored.read(SHOWN_BYTES)
    message = BytesParser(policy=policy.default).parsebytes(raw)
    headers: list[tuple[str, str]] = []
    body = ""
    if isinstance(message, EmailMessage):
        headers = [(name, value) for name in HEADERS if (value := _header(message, name))]
        body = mailtext.body_text(message)
    response = render(
        request,
        "mailin/original.html",
        {
            "ticket": ticket,
            "incoming": incoming,
            "headers": headers,
            "body": body,
            "source": raw.decode("utf-8", errors="replace"),
        },
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _header(message: EmailMessage, name: str) -> str:
    """The header as parsed, or as sent when the parser cannot read it (``From: <``
    raises IndexError deep in ``policy.default``): the page shows it either way."""
    try:
        return str(message.get(name, ""))
    except Exception:
        sent = [value for key, value in message.raw_items() if key.lower() == name.lower()]
        return str(sent[0]) if sent else ""

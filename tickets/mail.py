"""Addresses and headers that let a customer answer a ticket's e-mail.

Each recipient of a ticket's mail gets their own reply address,
``<local>+SR-000123.<tag>@<domain>`` (local part and domain from ``MAILIN_ADDRESS``),
where the tag is an HMAC of the ticket and that recipient under a key derived from
``SECRET_KEY``: the address cannot be guessed for another ticket, nor reused by someone
else for this one. The incoming mail service checks it with :func:`reply_tag_valid`.

Pure functions: no models, no clock.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

# Everything below this line in a customer's answer is our own quoted mail: the incoming
# mail service drops it. Never translated, so one marker is found in every language.
REPLY_ABOVE_MARKER = "##- Please type your reply above this line -##"

TAG_LENGTH = 16
# References carry the ticket's first mail and its latest ones, not a chain without end.
REFERENCES_KEPT_LATEST = 10
_KEY_SALT = "supportdesk.tickets.mail.reply_address"
# <local>+<PREFIX>-<digits>.<tag>@<domain>; the prefix is the deployment's TICKET_PREFIX.
# Matched without regard to case: some mail systems change it on the way back.
_REPLY_LOCAL = re.compile(
    r"^(?P<local>[^+@\s]+)\+(?P<prefix>[a-z]+)-(?P<number>\d{1,12})\.(?P<tag>[a-z2-7]{16})$",
    re.IGNORECASE,
)


def mailin_local_and_domain() -> tuple[str, str]:
    local, _, domain = settings.SUPPORTDESK.MAILIN_ADDRESS.partition("@")
    return local, domain


def reply_tag(ticket_id: int, recipient: str) -> str:
    """The first 16 characters of the base32 HMAC-SHA256 of ticket and recipient."""
    digest = salted_hmac(
        _KEY_SALT, f"{int(ticket_id)}:{recipient.strip().lower()}", algorithm="sha256"
    ).digest()
    return base64.b32encode(digest).decode("ascii")[:TAG_LENGTH].lower()


def reply_address(ticket_id: int, recipient: str) -> str:
    """This recipient's address for answering this ticket by e-mail."""
    local, domain = mailin_local_and_domain()
    reference = f"{settings.SUPPORTDESK.TICKET_PREFIX}-{int(ticket_id):06d}"
    return f"{local}+{reference}.{reply_tag(ticket_id, recipient)}@{domain}"


def parse_reply_address(address: str) -> tuple[int, str] | None:
    """(ticket id, tag) when ``address`` is one of our reply addresses, else None.

    Only the form is checked (our local part and domain, the ticket prefix): whether the
    tag belongs to the sender is :func:`reply_tag_valid`'s question."""
    local_part, at, domain = address.strip().strip("<>").rpartition("@")
    if not at:
        return None
    our_local, our_domain = mailin_local_and_domain()
    match = _REPLY_LOCAL.match(local_part)
    if (
        match is None
        or domain.lower() != our_domain.lower()
        or match["local"].lower() != our_local.lower()
        or match["prefix"].upper() != settings.SUPPORTDESK.TICKET_PREFIX.upper()
    ):
        return None
    return int(match["number"]), match["tag"].lower()


def reply_tag_valid(ticket_id: int, recipient: str, tag: str) -> bool:
    """Whether ``tag`` is this recipient's tag for this ticket (constant-time compare)."""
    return constant_time_compare(reply_tag(ticket_id, recipient), tag.strip().lower())


def recipient_key(addresses: Iterable[str]) -> str:
    """The addresses of one e-mail as stored and compared: lowercased, sorted, joined."""
    return ", ".join(sorted({address.strip().lower() for address in addresses}))


def message_id(ticket_id: int, event_id: int, recipients: Iterable[str]) -> str:
    """The Message-ID of the e-mail this Event sends these recipients, with its angle
    brackets: the same every time it is written, so a retried delivery sends the same
    message again, not a second one."""
    _local, domain = mailin_local_and_domain()
    digest = hashlib.sha256(recipient_key(recipients).encode()).hexdigest()[:12]
    return f"<sd.{int(ticket_id)}.{int(event_id)}.{digest}@{domain}>"


def is_our_message_id(value: str) -> bool:
    """Whether a Message-ID has the form of those :func:`message_id` writes."""
    _local, domain = mailin_local_and_domain()
    value = value.strip().lower()
    return value.startswith("<sd.") and value.endswith(f"@{domain.lower()}>")


def thread_headers(earlier: Sequence[tuple[str, str]], recipient: str) -> dict[str, str]:
    """In-Reply-To and References of a ticket's next e-mail to ``recipient``.

    ``earlier``: the ticket's (recipient key, Message-ID) pairs already sent, oldest
    first. It answers the latest one sent to the same recipient, else the latest one;
    References (RFC 5322 3.6.4) are the first and the latest few, ending with the parent.
    """
    if not earlier:
        return {}
    parent = next((sent for key, sent in reversed(earlier) if key == recipient), earlier[-1][1])
    chain = list(dict.fromkeys(sent for _key, sent in earlier if sent != parent))
    if len(chain) > REFERENCES_KEPT_LATEST + 1:
        chain = [chain[0], *chain[-REFERENCES_KEPT_LATEST:]]
    return {"In-Reply-To": parent, "References": " ".join([*chain, parent])}

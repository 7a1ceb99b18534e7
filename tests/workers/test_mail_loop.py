"""Workers tier: the e-mail conversation loop with the real parts — a Celery worker and
beat on a private Redis, PostgreSQL, the file e-mail backend and a local Maildir.

An agent asks the customer for information; the outbox's worker sends the customer the
e-mail with its reply address; the customer's answer, delivered into the Maildir, is on
the request within a poll of the beat's fetch: the request is open again, the cooperation
clock stopped (POL-SEV-7), and the assignee has a notice in the desk's inbox.
"""

from __future__ import annotations

import os
import re
import time
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from django.utils import timezone

from mailin.models import Action, IncomingMail
from notices.models import NoticeKind, StaffNotice
from tests.conftest import World
from tests.workers.conftest import Cluster, wait_until
from tickets import services
from tickets.actors import Actor
from tickets.mail import parse_reply_address
from tickets.models import Message, OutgoingMail, Status, Ticket

pytestmark = [
    pytest.mark.workers,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

POLL_SECONDS = 1
# The beat's next tick, the task's trip through Redis and the ingest itself, on a machine
# other test runs share: a few polls of slack, far below the default 10 s poll.
WITHIN_SECONDS = 8


def _sent_mails(folder: Path) -> list[EmailMessage]:
    """Every message the file backend wrote (one file per connection, messages separated
    by a line of 79 dashes)."""
    found: list[EmailMessage] = []
    for path in sorted(folder.glob("*.log")):
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                message = BytesParser(policy=policy.default).parsebytes(chunk.lstrip())
                assert isinstance(message, EmailMessage)
                found.append(message)
    return found


def _deliver(maildir: Path, raw: bytes) -> None:
    """As a delivery agent does: written in tmp/, then renamed into new/."""
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns()}.{os.getpid()}.test"
    (maildir / "tmp" / name).write_bytes(raw)
    os.rename(maildir / "tmp" / name, maildir / "new" / name)


FETCHED = re.compile(r"mailin\.tasks\.fetch\[[^\]]+\] succeeded")


def _fetches(cluster: Cluster) -> int:
    """The fetch passes the worker finished, from its log."""
    return sum(
        len(FETCHED.findall(p.log.read_text(encoding="utf-8", errors="replace")))
        for p in cluster.processes
        if p.name.startswith("worker")
    )


def test_a_customer_answers_an_information_request_by_email(
    world: World, cluster: Cluster, tmp_path: Path
) -> None:
    maildir = tmp_path / "maildir"
    outgoing = tmp_path / "outgoing"
    outgoing.mkdir()
    env = {
        "MAILIN_MAILDIR": str(maildir),
        "MAILIN_POLL_SECONDS": str(POLL_SECONDS),
        "MAILIN_IMAP_URL": "",
        "EMAIL_URL": f"file://{outgoing}",
    }
    cluster.worker(**env)
    cluster.beat(sweep_interval=30.0, **env)

    now = timezone.now()
    ticket = world.file(now=now)
    supervisor = Actor.for_user(world.supervisor)
    agent = Actor.for_user(world.agent)
    services.ticket_assign(ticket=ticket, actor=supervisor, assignee=world.agent, now=now)
    services.ticket_request_information(
        ticket=ticket, actor=agent, body="Which client shows the error?", now=now
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.AWAITING_CUSTOMER
    assert ticket.customer_due_at is not None

    # The outbox's worker sends the information request to the customer.
    customer = world.admin_a.user.email

    def request_mail() -> EmailMessage | None:
        for message in _sent_mails(outgoing):
            body = message.get_body(("plain",))
            if body is not None and "Which client shows the error?" in body.get_content():
                return message
        return None

    sent = wait_until(request_mail, timeout=30, what="the request e-mail", logs=cluster.logs)
    assert sent["To"] == customer
    assert f"[{ticket.reference}]" in sent["Subject"]
    reply_to = str(sent["Reply-To"])
    assert parse_reply_address(reply_to) is not None
    assert parse_reply_address(reply_to)[0] == ticket.pk  # type: ignore[index]
    assert OutgoingMail.objects.filter(ticket=ticket, message_id=sent["Message-ID"]).exists()

    # The beat's fetch is running before the answer arrives.
    wait_until(lambda: _fetches(cluster) >= 1, timeout=30, what="a fetch", logs=cluster.logs)

    answer = EmailMessage()
    answer["From"] = customer
    answer["To"] = reply_to
    answer["Subject"] = f"Re: {sent['Subject']}"
    answer["Message-ID"] = "<answer-1@alpha.example>"
    answer["In-Reply-To"] = sent["Message-ID"]
    answer["References"] = sent["Message-ID"]
    answer.set_content(
        "Outlook on every laptop.\n\nOn Monday Support wrote:\n> Which client shows the error?\n"
    )
    started = time.monotonic()
    _deliver(maildir, answer.as_bytes())

    def replied() -> Message | None:
        return Message.objects.filter(ticket=ticket, author_role="customer").first()

    message = wait_until(
        replied, timeout=WITHIN_SECONDS, what="the answer on the request", logs=cluster.logs
    )
    took = time.monotonic() - started
    print(f"answer on the request {took:.2f} s after delivery into the Maildir")
    assert message.body == "Outlook on every laptop."
    assert message.author == world.admin_a.user

    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.status == Status.OPEN
    assert ticket.customer_due_at is None
    incoming = IncomingMail.objects.get(message_id="<answer-1@alpha.example>")
    assert (incoming.action, incoming.ticket_id, incoming.source) == (
        Action.REPLIED,
        ticket.pk,
        "maildir",
    )
    assert incoming.ticket_message == message

    # The reply's Event reaches the assignee's inbox through the outbox.
    notice = wait_until(
        lambda: StaffNotice.objects.filter(
            recipient=world.agent, ticket=ticket, kind=NoticeKind.CUSTOMER_REPLIED
        ).first(),
        timeout=30,
        what="the assignee's notice",
        logs=cluster.logs,
    )
    assert notice.read_at is None
    # Delivered once: the Maildir file moved to cur/, and a second pass changes nothing.
    assert not list((maildir / "new").iterdir())
    assert len(list((maildir / "cur").iterdir())) == 1
    passes = _fetches(cluster)
    wait_until(
        lambda: _fetches(cluster) >= passes + 2,
        timeout=30,
        what="two more fetches",
        logs=cluster.logs,
    )
    assert Message.objects.filter(ticket=ticket, author_role="customer").count() == 1

"""Benchmark incoming mail (``mailin.services.ingest``) against the customer-reply floor.

Run from the project root with a PostgreSQL server (the URL's own database is not
touched; ``supportdesk_mailinbench``, or ``--database``, on the same server is dropped,
created and migrated):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/mailin.py

Prints exactly one JSON line (progress goes to stderr):

    {"messages": N, "ingest_per_s": ..., "floor_per_s": ..., "ratio": ..., "p99_ms": ...,
     "duplicates": 0, "lost": 0}

Method: ``--tickets`` requests of one organization (filed through ``ticket_create``) and a
Maildir in a temporary folder holding ``--messages`` answers to them from the
organization's admin: each sent to the admin's signed reply address, with a quoted
history and a signature, and every third one with a PNG attachment. One process reads
the Maildir and hands every message to ``ingest`` (parse, loop guards, the unique
Message-ID, the stored original, finding the request, the sender check, quote stripping,
attachment checks and the reply service). The floor is the same replies (the same text
and attachments) made by calling ``tickets.services.ticket_customer_reply`` directly, in
the same run, on the same requests, in ``--rounds`` alternating slices. Both sides run with the task
publishing off (``OUTBOX_TASKS=0``, ``DEADLINE_TASKS=0``): neither side waits for a
broker. ``p99_ms`` is the 99th percentile of one ``ingest`` call. Afterwards a tenth of
the Maildir is ingested a second time: ``duplicates`` counts replies more than one per
message, ``lost`` the messages that made no reply. ``ratio`` = ingest_per_s /
floor_per_s; target ≥ 0.5, 0 lost, 0 duplicates.
"""

from __future__ import annotations

import argparse
import json
import mailbox
import os
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DATABASE = "supportdesk_mailinbench"
# A PNG's magic bytes and header, then filler: the attachment checks read the magic bytes.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489") + (
    b"\0" * 20_000
)
REPLY = "Thanks, the restart helped for {n} of our mailboxes.\nThe rest still queue."
QUOTE = (
    "\n\n-- \nAnna Admin | IT\n\nOn Wed, Jun 10, 2026 at 12:00 PM Support wrote:\n"
    "> ##- Please type your reply above this line -##\n> Could you restart the service?\n"
)


def log(message: str) -> None:
    print(f"[bench/mailin] {message}", file=sys.stderr, flush=True)


def recreate_database(url: str, name: str) -> str:
    import psycopg2

    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise SystemExit("bench/mailin.py needs a PostgreSQL DATABASE_URL")
    admin = psycopg2.connect(
        dbname="postgres",
        user=unquote(parts.username or "") or None,
        password=unquote(parts.password or "") or None,
        host=parts.hostname,
        port=parts.port,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return urlunsplit(parts._replace(path=f"/{name}"))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--tickets", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=10, help="alternating slices per side")
    parser.add_argument(
        "--database", default=BENCH_DATABASE, help="dropped and created on the URL's server"
    )
    options = parser.parse_args()

    source = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if urlsplit(source).path.lstrip("/") == options.database:
        raise SystemExit("point DATABASE_URL at another database; the bench drops its own")
    database = recreate_database(source, options.database)
    scratch = Path(tempfile.mkdtemp(prefix="mailinbench-"))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "supportdesk.settings",
            "DATABASE_URL": database,
            "SUPPORTDESK_DATA_DIR": str(scratch / "data"),
            "MEDIA_ROOT": str(scratch / "media"),
            "OUTBOX_TASKS": "0",
            "DEADLINE_TASKS": "0",
            "DEBUG": "0",  # DEBUG keeps every query in memory
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.utils import timezone

    from helpcenter.models import Service
    from mailin.models import IncomingMail
    from mailin.services import ingest
    from tenants.models import Contract, Membership, Organization, Role, User
    from tickets.actors import Actor
    from tickets.intake import TicketDraft
    from tickets.mail import reply_address
    from tickets.models import Message, Ticket
    from tickets.services import ticket_create, ticket_customer_reply

    log(f"migrating {options.database}")
    call_command("migrate", verbosity=0)
    organization = Organization.objects.create(
        name="Bench Corp", slug="bench", country="PL", contract=Contract.ADVANCED
    )
    user = User.objects.create_user("anna@bench.example", "x")
    membership = Membership.objects.create(
        user=user, organization=organization, role=Role.GLOBAL_ADMIN
    )
    actor = Actor.for_member(membership)
    product = Service.objects.get(slug="exchange-online")
    now = timezone.now()
    log(f"filing {options.tickets} requests")
    tickets = [
        ticket_create(
            organization=organization,
            actor=actor,
            draft=TicketDraft(
                title=f"Mail queue {n}",
                description="Outbound mail is stuck.",
                category="technical",
                product=product,
                impact="degraded",
                scope="one",
                contact_email=user.email,
            ),
            now=now,
        )
        for n in range(options.tickets)
    ]

    log(f"writing {options.messages} answers to a Maildir")
    box = mailbox.Maildir(scratch / "maildir", create=True)
    plan: list[tuple[Ticket, str, bool, str]] = []
    for n in range(options.messages):
        ticket = tickets[n % len(tickets)]
        text, attached = REPLY.format(n=n), n % 3 == 0
        mail = EmailMessage()
        mail["From"] = f"Anna Admin <{user.email}>"
        mail["To"] = reply_address(ticket.pk, user.email)
        mail["Subject"] = f"Re: [{ticket.reference}] {ticket.title}"
        mail["Message-ID"] = f"<bench-{n}@bench.example>"
        mail.set_content(text + QUOTE)
        if attached:
            mail.add_attachment(PNG, maintype="image", subtype="png", filename=f"shot-{n}.png")
        plan.append((ticket, text, attached, box.add(mail.as_bytes())))

    # In alternating slices, so a change of load on a shared machine affects both sides.
    rounds = max(1, min(options.rounds, options.messages))
    floor_seconds = ingest_seconds = 0.0
    floor_replies = 0
    latencies: list[float] = []
    actions: dict[str, int] = {}
    for round_number in range(rounds):
        part = range(round_number, options.messages, rounds)
        started = time.perf_counter()
        for n in part:
            ticket, text, attached, _key = plan[n]
            files = [SimpleUploadedFile(f"shot-{n}.png", PNG, "image/png")] if attached else []
            ticket_customer_reply(
                ticket=ticket, actor=actor, body=text, now=timezone.now(), attachments=files
            )
        floor_seconds += time.perf_counter() - started
        floor_replies += len(part)
        started = time.perf_counter()
        for n in part:
            raw = box.get_bytes(plan[n][3])
            one = time.perf_counter()
            outcome = ingest(raw, now=timezone.now(), source="maildir")
            latencies.append(time.perf_counter() - one)
            actions[outcome.action] = actions.get(outcome.action, 0) + 1
        ingest_seconds += time.perf_counter() - started
        log(f"round {round_number + 1}/{rounds}: {actions}")

    log("ingesting a tenth of the Maildir again")
    again = [
        ingest(box.get_bytes(step[3]), now=timezone.now(), source="maildir") for step in plan[::10]
    ]
    log(f"second ingest: {sum(o.action == 'duplicate' for o in again)} of {len(again)} duplicates")
    made = Message.objects.count() - floor_replies
    replied = IncomingMail.objects.filter(action="replied").count()
    result = {
        "messages": options.messages,
        "ingest_per_s": round(options.messages / ingest_seconds, 1),
        "floor_per_s": round(options.messages / floor_seconds, 1),
        "ratio": round(floor_seconds / ingest_seconds, 3),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "duplicates": max(0, made - replied),
        "lost": options.messages - replied,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""Benchmark the search across every request (issue 16) at scale on PostgreSQL.

Run from the project root with a PostgreSQL server (the URL's own database is not
touched; ``supportdesk_searchbench``, or ``--database``, on the same server is created,
migrated and filled once, later runs reuse it):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/search.py

Prints exactly one JSON line (progress goes to stderr):

    {"benchmark": "search", "tickets": 1000000, "messages": 3000000,
     "search_median_ms": ..., "search_p99_ms": ..., "queries": 200, ...}

Data: the desk benchmark's tickets (``manage.py generate_tickets``, as bench/desk.py) and
three messages each (a customer's reply, an agent's reply, and a third that is an internal
note one time in three), their words drawn from a vocabulary of English and Polish support
words with a skewed frequency, as real conversations have: a few words everywhere, most
words rare. The tickets and messages are bulk-loaded with the search triggers off and the
documents then built in one set-based pass (what the migration does for existing data),
because three million trigger UPDATEs would take far longer than the load itself.

Method: Django's test Client in this process, an agent signed in, DEBUG off; each
request's wall time from ``client.get("/desk/requests/?q=…")`` to the rendered page: the
ranked ids, the page's tickets, the highlighted snippets and the template. 200 queries
(seeded): single words and pairs from titles, words from messages, references
(``SR-000123``), and organization names, after one warm-up round of all of them. The line
also carries the service alone (``tickets.search.ranked_ids``) and the machine's load.
Target (issue 16): median ≤ 50 ms and p99 ≤ 200 ms at 1,000,000 tickets.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.desk import ensure_database, percentile, sign_in_staff  # noqa: E402

BENCH_DATABASE = "supportdesk_searchbench"

# Message words, most frequent first: the draw below favours the head of the list.
VOCABULARY = (  # noqa: SIM905 - one string reads better than 300 list items
    "the please thanks we you is to and of it for on this that with have can not our "
    "hello dziękuję proszę nie jest się na do że w z to mamy problem error issue still "
    "again today yesterday morning users user account mailbox outlook teams sharepoint "
    "onedrive calendar invite meeting license licence invoice payment refund renewal "
    "password reset login sign-in mfa authenticator phone token expired certificate "
    "domain dns mx record spf dkim dmarc forwarding rule quota storage archive retention "
    "backup restore deleted folder permissions guest external sharing link access denied "
    "timeout slow sync conflict printer vpn firewall proxy browser chrome edge firefox "
    "android iphone ipad windows macos update patch version migration tenant admin centre "
    "portal report export csv screenshot attached log trace correlation request id ticket "
    "escalate urgent outage degraded resolved workaround reboot cache cleared reinstalled "
    "profile recreated group distribution alias shared delegated calendar konto hasło "
    "skrzynka poczta faktura płatność licencja logowanie błąd awaria spotkanie kalendarz "
    "drukarka zamówienie użytkownik uprawnienia dostęp udostępnianie kopia zapasowa "
    "przywracanie folder usunięty synchronizacja aktualizacja wersja certyfikat domena "
    "rekord przekierowanie reguła limit archiwum zrzut ekranu dziennik autodiscover "
    "exchange smtp imap pop3 relay connector transport queue bounce ndr spam quarantine "
    "phishing malware defender intune compliance conditional policy azure entra directory "
    "sso saml oidc federation adfs provisioning scim graph api powershell script "
    "throttling webhook callback integration connector flow automate kerberos ntlm ldap "
    "radius wifi bluetooth headset webcam microphone audio video latency jitter packet "
    "loss bandwidth region datacenter frankfurt amsterdam dublin "
).split()

MESSAGES_SQL = """
INSERT INTO tickets_message (ticket_id, kind, author_role, body, created_at)
SELECT t.id,
       CASE WHEN n = 3 AND t.id %% 3 = 0 THEN 'note' ELSE 'reply' END,
       CASE WHEN n = 1 OR (n = 3 AND t.id %% 3 <> 0) THEN 'customer' ELSE 'agent' END,
       (SELECT string_agg(w.words[1 + floor(w.size * power(random(), 2.2))::int], ' ')
          FROM generate_series(1, 12 + ((t.id + n) %% 24)) AS g
          CROSS JOIN (SELECT %(words)s::text[] AS words, %(size)s AS size) AS w
          WHERE g > 0 AND t.id > 0),
       t.created_at + make_interval(hours => n * 3)
FROM tickets_ticket t CROSS JOIN generate_series(1, 3) AS n
WHERE t.id > %(after)s AND t.id <= %(upto)s
"""

# One pass over every ticket: the document as the triggers would have built it.
DOCUMENTS_SQL = """
INSERT INTO tickets_ticketsearch (ticket_id, organization_id, public, internal)
SELECT t.id, t.organization_id,
    setweight(to_tsvector('sd_search', lpad(t.id::text, 6, '0') || ' ' || t.id::text || ' '
        || t.title), 'A')
    || setweight(to_tsvector('sd_search', coalesce(o.name, '')), 'B')
    || setweight(to_tsvector('sd_search', t.description), 'B')
    || setweight(to_tsvector('sd_search', coalesce(m.replies, '')), 'C'),
    setweight(to_tsvector('sd_search', coalesce(m.notes, '')), 'D')
FROM tickets_ticket t
JOIN tenants_organization o ON o.id = t.organization_id
LEFT JOIN (
    SELECT ticket_id,
        string_agg(body, ' ' ORDER BY created_at, id) FILTER (WHERE kind = 'reply') AS replies,
        string_agg(body, ' ' ORDER BY created_at, id) FILTER (WHERE kind = 'note') AS notes
    FROM tickets_message WHERE ticket_id > %(after)s AND ticket_id <= %(upto)s
    GROUP BY ticket_id
) m ON m.ticket_id = t.id
WHERE t.id > %(after)s AND t.id <= %(upto)s
"""

TRIGGERS = (
    ("tickets_ticket", "tickets_search_ticket_inserted"),
    ("tickets_message", "tickets_search_message_inserted"),
)
CHUNK = 100_000


def log(message: str) -> None:
    print(f"[bench/search] {message}", file=sys.stderr, flush=True)


def build(args: argparse.Namespace) -> None:
    """Tickets, messages and documents, loaded in bulk with the search triggers off."""
    from django.core.management import call_command
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        for table, trigger in TRIGGERS:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        cursor.execute("DROP INDEX IF EXISTS tickets_search_words")
    try:
        started = time.monotonic()
        log(f"generating {args.tickets:,} tickets")
        call_command(
            "generate_tickets",
            args.tickets,
            organizations=args.organizations,
            open_share=args.open_share,
            stdout=sys.stderr,
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM tickets_ticket")
            (top,) = cursor.fetchone()
            cursor.execute("TRUNCATE tickets_ticketsearch")
            for after in range(0, top, CHUNK):
                window = {"after": after, "upto": after + CHUNK}
                cursor.execute(
                    MESSAGES_SQL, {**window, "words": VOCABULARY, "size": len(VOCABULARY)}
                )
                cursor.execute(DOCUMENTS_SQL, window)
                log(
                    f"messages and documents to id {after + CHUNK:,} "
                    f"({time.monotonic() - started:.0f} s)"
                )
            log("indexing the words")
            cursor.execute(
                "CREATE INDEX tickets_search_words ON tickets_ticketsearch "
                "USING gin ((public || internal))"
            )
        log(f"built in {time.monotonic() - started:.0f} s")
    finally:
        with connection.cursor() as cursor:
            for table, trigger in TRIGGERS:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
            cursor.execute(
                "CREATE INDEX IF NOT EXISTS tickets_search_words ON tickets_ticketsearch "
                "USING gin ((public || internal))"
            )
    with connection.cursor() as cursor:
        for table in ("tickets_ticket", "tickets_message", "tickets_ticketsearch"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def queries(rng: random.Random, count: int) -> list[str]:
    """Realistic searches: what agents type."""
    from django.db import connection

    from tickets.management.commands.generate_tickets import WORDS

    with connection.cursor() as cursor:
        cursor.execute("SELECT max(id) FROM tickets_ticket")
        (top,) = cursor.fetchone()
        cursor.execute("SELECT name FROM tenants_organization ORDER BY id")
        organizations = [name for (name,) in cursor.fetchall()]
        # Bodies of random messages: words people remember from a conversation.
        cursor.execute(
            "SELECT body FROM tickets_message WHERE id IN "
            "(SELECT (random() * (SELECT max(id) FROM tickets_message))::bigint "
            " FROM generate_series(1, 200))"
        )
        bodies = [body.split() for (body,) in cursor.fetchall() if body]
    found: list[str] = []
    kinds = ["title", "title_pair", "message", "message_pair", "reference", "organization"]
    weights = [25, 15, 25, 10, 15, 10]
    while len(found) < count:
        kind = rng.choices(kinds, weights)[0]
        if kind == "title":
            found.append(rng.choice(WORDS))
        elif kind == "title_pair":
            found.append(" ".join(rng.sample(WORDS, 2)))
        elif kind == "message" and bodies:
            found.append(rng.choice(rng.choice(bodies)))
        elif kind == "message_pair" and bodies:
            body = rng.choice(bodies)
            start = rng.randrange(max(1, len(body) - 1))
            found.append(" ".join(body[start : start + 2]))
        elif kind == "reference":
            number = rng.randint(1, top)
            found.append(f"SR-{number:06d}" if rng.random() < 0.7 else str(number))
        elif kind == "organization":
            name = rng.choice(organizations)
            found.append(name if rng.random() < 0.5 else f"{name} {rng.choice(WORDS)}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--organizations", type=int, default=100)
    parser.add_argument("--open-share", type=float, default=0.02)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--database", default=BENCH_DATABASE, help="created and filled if missing")
    parser.add_argument("--build-only", action="store_true", help="fill the database, time nothing")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url:
        raise SystemExit("set DATABASE_URL to a PostgreSQL server")
    os.environ["DATABASE_URL"] = ensure_database(url, args.database)
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    if "testserver" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    log("migrating")
    call_command("migrate", verbosity=0, interactive=False)

    from tenants.models import StaffRole, User
    from tickets.models import Message, Ticket

    have = Ticket.objects.count()
    if have < args.tickets:
        if have:
            raise SystemExit(
                f"{args.database} holds {have:,} tickets, fewer than {args.tickets:,}: "
                "drop it to start over"
            )
        build(args)
        have = Ticket.objects.count()
    if args.build_only:
        log(f"{have:,} tickets ready")
        return
    from tickets import search

    messages = Message.objects.count()

    agent, _created = User.objects.get_or_create(
        email="bench-agent@provider.example.test",
        defaults={"full_name": "Bench Agent", "staff_role": StaffRole.AGENT},
    )
    client = Client()
    sign_in_staff(client, agent)
    rng = random.Random(args.seed)
    wanted = queries(rng, args.queries)

    def page(query: str) -> float:
        started = time.perf_counter()
        response = client.get("/desk/requests/", {"q": query})
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"?q={query} answered {response.status_code}")
        return elapsed

    log(f"{have:,} tickets, {messages:,} messages; warming up")
    for query in wanted:
        page(query)
    load_before = os.getloadavg()[0]
    log(f"timing {len(wanted)} searches")
    timings = [page(query) for query in wanted]
    service: list[float] = []
    for query in wanted:
        started = time.perf_counter()
        search.ranked_ids(query, staff=True)
        service.append((time.perf_counter() - started) * 1000)
    load_after = os.getloadavg()[0]
    slowest = sorted(zip(timings, wanted, strict=True), reverse=True)[:3]
    print(
        json.dumps(
            {
                "benchmark": "search",
                "tickets": have,
                "messages": messages,
                "queries": len(wanted),
                "search_median_ms": round(statistics.median(timings), 2),
                "search_p99_ms": round(percentile(timings, 0.99), 2),
                "service_median_ms": round(statistics.median(service), 2),
                "service_p99_ms": round(percentile(service, 0.99), 2),
                "slowest": [[round(ms, 1), query] for ms, query in slowest],
                "load_average_1m": round(max(load_before, load_after), 2),
                "cpus": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()

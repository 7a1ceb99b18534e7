"""Benchmark the desk queue page and its live-refresh fragment at scale on PostgreSQL.

Run from the project root with a PostgreSQL server (the URL's own database is not
touched; ``supportdesk_deskbench``, or ``--database``, on the same server is created and
migrated if missing, and filled once by ``manage.py generate_tickets``; later runs reuse
it):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/supportdesk .venv/bin/python bench/desk.py

Prints exactly one JSON line (progress goes to stderr):

    {"benchmark": "desk", "tickets": 1000000, "active": ..., "queue_median_ms": ...,
     "queue_p99_ms": ..., "refresh_median_ms": ..., "refresh_p99_ms": ..., "requests": ...,
     "floor_median_ms": ..., "floor_p99_ms": ..., "queue_floor_ratio": ...,
     "queue_cpu_ms": ..., "refresh_cpu_ms": ..., "floor_cpu_ms": ...,
     "load_average_1m": ..., "cpus": ...}

Method: Django's test Client in this process, an agent signed in, DEBUG off, persistent
connection; each request's wall time from ``client.get`` to the rendered response, so the
figures are server-side (middleware, session and user lookup, queries, template). The
requests cycle through filter variants (none, a severity, mine, unassigned, breached,
waiting on customer, one organization, a category and status, a search, page 2), after
three warm-up rounds of every variant. Wall times include waiting for a CPU, so the line
also carries the machine's load average during the run, and the CPU time a request costs
(``*_cpu_ms``: this process's CPU time plus that of its PostgreSQL backend, read from
/proc, as a mean over the timed requests): on a busy machine the wall times grow with the
load, the CPU times do not.

The floor, measured in the same run and the same way: ``/desk/bench/floor/``
(``bench/floor_urls.py``, served under ``bench.settings`` only), a desk page with nothing
on it: the middleware, the session, user and second-factor reads, the layout and the
desk's navigation with its bell and sweep banner. ``queue_floor_ratio`` is the queue's
median over the floor's: what the queue itself costs, in units of the machine's cheapest
desk page, which moves less than absolute figures on shared cores.

Target (issue 16): queue median ≤ 25 ms and p99 ≤ 75 ms at 1,000,000 tickets.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DATABASE = "supportdesk_deskbench"


def log(message: str) -> None:
    print(f"[bench/desk] {message}", file=sys.stderr, flush=True)


def ensure_database(url: str, name: str) -> str:
    """Create ``name`` on the server of ``url`` if it does not exist; return its URL."""
    import psycopg2

    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise SystemExit(f"bench/desk.py needs a PostgreSQL DATABASE_URL, not {parts.scheme}://")
    if parts.path.lstrip("/") == name:
        raise SystemExit("point DATABASE_URL at another database; the bench uses its own")
    admin = psycopg2.connect(
        dbname="postgres",
        user=unquote(parts.username or "") or None,
        password=unquote(parts.password or "") or None,
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
            log(f"created database {name}")
    admin.close()
    return urlunsplit(parts._replace(path=f"/{name}"))


def backend_cpu_seconds(pid: int | None) -> float:
    """User plus system CPU time of a local process (the PostgreSQL backend), or 0.0 when
    it cannot be read (another host, another OS)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # Fields 14 and 15 of stat(5) (utime, stime), counted after the command's ")".
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sign_in_staff(client: object, user: object) -> None:
    """Sign ``user`` (an agent) in on a test client as the desk requires: the password step
    and a second factor passed in this session (mfa.middleware), with an authenticator app
    the bench gives them."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(user)  # type: ignore[attr-defined]
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Bench", confirmed=True)
    session = client.session  # type: ignore[attr-defined]
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--organizations", type=int, default=100)
    parser.add_argument("--open-share", type=float, default=0.02)
    parser.add_argument("--requests", type=int, default=300, help="per endpoint")
    parser.add_argument("--database", default=BENCH_DATABASE, help="created and filled if missing")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url:
        raise SystemExit("set DATABASE_URL to a PostgreSQL server")
    os.environ["DATABASE_URL"] = ensure_database(url, args.database)
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    # The production settings plus the floor's route (bench/floor_urls.py).
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    if "testserver" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    log("migrating")
    call_command("migrate", verbosity=0, interactive=False)

    from tenants.models import Organization, StaffRole, User
    from tickets.models import Ticket

    have = Ticket.objects.count()
    if have < args.tickets:
        if have:
            raise SystemExit(
                f"{args.database} holds {have:,} tickets, fewer than {args.tickets:,}: "
                "drop it to start over"
            )
        log(f"generating {args.tickets:,} tickets (once)")
        started = time.monotonic()
        call_command(
            "generate_tickets",
            args.tickets,
            organizations=args.organizations,
            open_share=args.open_share,
            stdout=sys.stderr,
        )
        log(f"generated in {time.monotonic() - started:.0f} s")
        have = Ticket.objects.count()
    active = Ticket.objects.active().count()

    agent, _created = User.objects.get_or_create(
        email="bench-agent@provider.example.test",
        defaults={"full_name": "Bench Agent", "staff_role": StaffRole.AGENT},
    )
    organization = Organization.objects.filter(slug="gen-org-007").values_list("pk", flat=True)
    org_id = organization.first() or Organization.objects.values_list("pk", flat=True).first()
    variants = [
        "",
        "severity=A",
        "assignee=me",
        "assignee=none",
        "breached=1",
        "waiting=1",
        f"organization={org_id}",
        "category=billing&status=open",
        "q=mailbox",
        "page=2",
    ]
    client = Client()
    sign_in_staff(client, agent)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = int(cursor.fetchone()[0])
    cpu: dict[str, float] = {}

    def run(path: str, count: int) -> list[float]:
        # Warm-up, three rounds of every variant: templates, the connection, and the index
        # and heap pages the variants read (the first run after generating is cold).
        for variant in variants * 3:
            response = client.get(f"{path}?{variant}")
            if response.status_code != 200:
                raise SystemExit(f"{path}?{variant} answered {response.status_code}")
        timings: list[float] = []
        cpu_before = time.process_time() + backend_cpu_seconds(backend)
        for index in range(count):
            variant = variants[index % len(variants)]
            started = time.perf_counter()
            response = client.get(f"{path}?{variant}")
            timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{path}?{variant} answered {response.status_code}")
        cpu_after = time.process_time() + backend_cpu_seconds(backend)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            if int(cursor.fetchone()[0]) != backend:
                raise SystemExit("the database connection was reopened: CPU times unreliable")
        cpu[path] = (cpu_after - cpu_before) * 1000 / count
        return timings

    log(f"{have:,} tickets, {active:,} active; timing {args.requests} requests per endpoint")
    load_before = os.getloadavg()[0]
    queue = run("/desk/", args.requests)
    refresh = run("/desk/queue/rows/", args.requests)
    floor = run("/desk/bench/floor/", args.requests)
    # Wall times include waiting for a CPU: the load average says how busy the machine was.
    load_after = os.getloadavg()[0]
    print(
        json.dumps(
            {
                "benchmark": "desk",
                "tickets": have,
                "active": active,
                "organizations": Organization.objects.count(),
                "requests": args.requests,
                "queue_median_ms": round(statistics.median(queue), 2),
                "queue_p99_ms": round(percentile(queue, 0.99), 2),
                "refresh_median_ms": round(statistics.median(refresh), 2),
                "refresh_p99_ms": round(percentile(refresh, 0.99), 2),
                "floor_median_ms": round(statistics.median(floor), 2),
                "floor_p99_ms": round(percentile(floor, 0.99), 2),
                "queue_floor_ratio": round(statistics.median(queue) / statistics.median(floor), 2),
                "queue_cpu_ms": round(cpu["/desk/"], 2),
                "refresh_cpu_ms": round(cpu["/desk/queue/rows/"], 2),
                "floor_cpu_ms": round(cpu["/desk/bench/floor/"], 2),
                "load_average_1m": round(max(load_before, load_after), 2),
                "cpus": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()

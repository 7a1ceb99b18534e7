"""Whole-system load test: portal admins, API integrations and agents at once on the desk
data set, with the worker and beat acting on deadlines underneath.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/supportdesk \\
        .venv/bin/python bench/load.py [--tickets 1000000] [--duration 600]

The server's database is not touched: the data set lives in its own database,
``supportdesk_load`` on the same server, generated once by ``manage.py generate_tickets``
(100 organizations, about 2 % of the tickets active) and reused by later runs of the same
size. Redis is private (bench/stack.py). gunicorn (3 workers), a Celery worker and beat
run as in production; the load comes from this separate process over loopback:

- API integrations (``--api-users``): create a request, list their organization's
  requests, reply on one of them — with their organization's API key;
- portal admins (``--portal-users``): open "My requests", file a request through the
  contact form (CSRF, session), open it;
- agents (``--agents``): refresh the queue fragment as the desk's htmx poll does (the
  whole queue and the "unassigned" view in turn), and claim the most urgent unassigned
  ticket they see.

Each virtual user waits ``--think`` seconds (±50 %) between operations; the first
``--warmup`` seconds are load without timings (imports, caches, connections). Underneath,
``--lapses`` Severity A tickets' response deadlines fall due evenly over the run; at the
end every lapse must have been acted on exactly once.

Prints one JSON line: per operation ``count``, ``rps``, ``p50_ms``, ``p99_ms``; ``errors``
(any 5xx, any unexpected 4xx, any transport error), ``lapses_due``, ``lapses_acted``,
``duplicates`` and ``desk_refresh_p99_ms``. Targets: 0 errors, lapses acted = lapses
due, no duplicates, desk refresh p99 ≤ 250 ms.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack import (
    PrivateRedis,
    Processes,
    free_port,
    lapsing_tickets,
    log,
    wait_for,
    wait_http,
)

DATABASE = "supportdesk_load"
PASSWORD = "load-test-pass-2026"
# The agents' authenticator app key (hex): the desk asks staff for a second factor
# (mfa.middleware), so each agent signs in with a code computed from it.
APP_KEY = "6c6f61642d746573742d6170702d6b65792d3230"


@dataclass
class Stats:
    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    # Timings before this moment are the warm-up (imports, caches, connections): not kept.
    measure_from: float = 0.0

    def record(self, operation: str, seconds: float) -> None:
        if time.monotonic() < self.measure_from:
            return
        with self.lock:
            self.timings[operation].append(seconds)

    def error(self, what: str) -> None:
        with self.lock:
            self.errors[what] += 1


class Browser:
    """A cookie-keeping HTTP client (session and CSRF cookies, like a browser)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies),
            _NoRedirect(),
        )

    def csrf(self) -> str:
        return next((c.value for c in self.cookies if c.name == "csrftoken"), "")

    def request(
        self,
        method: str,
        path: str,
        *,
        form: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str, dict[str, str]]:
        data = None
        all_headers = {"Referer": self.base + path, **(headers or {})}
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        if method == "POST" and form is not None:
            all_headers["X-CSRFToken"] = self.csrf()
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers=all_headers
        )
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode(), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace"), dict(error.headers)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def timed(
    stats: Stats,
    operation: str,
    client: Browser,
    method: str,
    path: str,
    ok: tuple[int, ...],
    **options: Any,
) -> tuple[int, str, dict[str, str]]:
    """One request, timed; a transport error or an unexpected status is counted as an error."""
    started = time.perf_counter()
    try:
        status, text, headers = client.request(method, path, **options)
    except OSError as error:
        stats.error(f"{operation}: {error.__class__.__name__}")
        return 0, "", {}
    stats.record(operation, time.perf_counter() - started)
    if status not in ok:
        stats.error(f"{operation}: HTTP {status}")
    return status, text, headers


def think(seconds: float) -> None:
    time.sleep(seconds * random.uniform(0.5, 1.5))


def api_user(base: str, key: str, stats: Stats, stop: threading.Event, pause: float) -> None:
    client = Browser(base)
    auth = {"Authorization": f"Bearer {key}"}
    mine: list[str] = []
    while not stop.is_set():
        status, text, _ = timed(
            stats, "api_create", client, "POST", "/api/v1/tickets/", (201,),
            body=_payload("api"), headers=auth,
        )  # fmt: skip
        if status == 201:
            mine.append(json.loads(text)["number"])
        think(pause)
        timed(stats, "api_list", client, "GET", "/api/v1/tickets/", (200,), headers=auth)
        think(pause)
        if mine:
            number = random.choice(mine[-20:])
            timed(
                stats, "api_reply", client, "POST", f"/api/v1/tickets/{number}/messages/", (201,),
                body={"body": "More detail: it happens for every user in the branch office."},
                headers=auth,
            )  # fmt: skip
        think(pause)


def portal_user(
    base: str, slug: str, email: str, stats: Stats, stop: threading.Event, pause: float
) -> None:
    client = Browser(base)
    _sign_in(client, email)
    product = ""
    while not stop.is_set():
        timed(stats, "portal_list", client, "GET", f"/portal/{slug}/requests/", (200,))
        think(pause)
        _, page, _ = timed(
            stats, "portal_form", client, "GET", f"/portal/{slug}/requests/new/", (200,)
        )
        if not product:
            found = re.search(r'<option value="(\d+)"[^>]*>Exchange Online', page)
            product = found.group(1) if found else ""
        form = {**_payload("portal"), "product": product, "preferred_contact": "email"}
        form["contact_email"] = email
        status, _, headers = timed(
            stats, "portal_create", client, "POST", f"/portal/{slug}/requests/new/", (302,),
            form=form,
        )  # fmt: skip
        if status == 302:
            location = headers.get("Location", "")
            timed(stats, "portal_detail", client, "GET", location, (200,))
        think(pause)


def agent(
    base: str, email: str, user_id: int, stats: Stats, stop: threading.Event, pause: float
) -> None:
    client = Browser(base)
    _sign_in(client, email)
    _second_step(client, email)
    # The whole queue, then the "unassigned" view, as an agent flips between the two.
    views = ("/desk/queue/rows/", "/desk/queue/rows/?assignee=none")
    turn = 0
    while not stop.is_set():
        turn += 1
        _, fragment, _ = timed(
            stats, "desk_refresh", client, "GET", views[turn % 2], (200,),
            headers={"HX-Request": "true"},
        )  # fmt: skip
        think(pause)
        unassigned = _unassigned_numbers(fragment)
        if unassigned:
            timed(
                stats, "desk_claim", client, "POST", f"/desk/tickets/{unassigned[0]}/assign/",
                (302,), form={"assignee": str(user_id), "next": "/desk/"},
            )  # fmt: skip
        think(pause)


def _unassigned_numbers(fragment: str) -> list[str]:
    """The queue rows (most urgent first) that nobody has claimed yet."""
    rows = fragment.split('<tr class="queue-row')[1:]
    return [
        found.group(1)
        for row in rows
        if ">Unassigned<" in row and (found := re.search(r'data-ticket="(\d+)"', row))
    ]


def _sign_in(client: Browser, email: str) -> None:
    client.request("GET", "/accounts/login/")
    status, _, _ = client.request(
        "POST",
        "/accounts/login/",
        form={"username": email, "password": PASSWORD, "csrfmiddlewaretoken": client.csrf()},
    )
    if status != 302:
        raise SystemExit(f"could not sign in as {email}: HTTP {status}")


def _second_step(client: Browser, email: str) -> None:
    """The agent's authenticator-app code on the second sign-in step."""
    from django_otp.oath import totp

    client.request("GET", "/accounts/verify/")
    code = f"{totp(bytes.fromhex(APP_KEY)):06d}"
    status, _, _ = client.request(
        "POST",
        "/accounts/verify/",
        form={"code": code, "csrfmiddlewaretoken": client.csrf()},
    )
    if status != 302:
        raise SystemExit(f"{email} did not pass the second step: HTTP {status}")


def _payload(channel: str) -> dict[str, str]:
    return {
        "title": f"Shared mailbox not updating ({channel} {random.randrange(10**6)})",
        "description": "New messages appear on the web but not in the desktop app.",
        "category": "technical",
        "impact": "degraded",
        "scope": random.choice(["one", "many"]),
        "language": "en",
        "contact_email": "it-desk@load.test",
    }


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("set DATABASE_URL=postgres://… (the load test runs on PostgreSQL)")
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{DATABASE}"))


def _prepare(processes: Processes, tickets: int) -> None:
    url = processes.environment["DATABASE_URL"]
    admin_url = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    exists = subprocess.run(
        ["psql", admin_url, "-tAc", f"SELECT 1 FROM pg_database WHERE datname='{DATABASE}'"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    if not exists:
        subprocess.run(["psql", admin_url, "-qc", f"CREATE DATABASE {DATABASE}"], check=True)
    processes.manage("migrate", "--no-input")
    import django

    django.setup()
    from tickets.models import Ticket

    have = Ticket.objects.count()
    if have < tickets:
        log(f"generating {tickets - have} tickets (have {have})")
        started = time.monotonic()
        processes.manage(
            "generate_tickets",
            str(tickets - have),
            "--organizations",
            "100",
            "--open-share",
            "0.02",
        )
        log(f"generated in {time.monotonic() - started:.0f} s")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE tickets_ticket")


def _actors(api_users: int, portal_users: int, agents: int) -> dict[str, list[Any]]:
    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tenants.api_keys import api_key_create
    from tenants.models import Membership, Organization, User

    organizations = list(Organization.objects.filter(slug__startswith="gen-org-").order_by("slug"))
    if len(organizations) < max(api_users, portal_users):
        raise SystemExit("the data set has too few organizations")
    keys = [
        api_key_create(
            organization=organization, name="load test", role="global_admin",
            created_by=None, now=timezone.now(),
        ).secret
        for organization in organizations[:api_users]
    ]  # fmt: skip
    portal = []
    for organization in organizations[-portal_users:]:
        membership = Membership.objects.filter(organization=organization).select_related("user")[0]
        membership.user.set_password(PASSWORD)
        membership.user.save(update_fields=["password"])
        portal.append((organization.slug, membership.user.email))
    desk = []
    for user in User.objects.filter(staff_role__isnull=False).exclude(staff_role="")[:agents]:
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
        TOTPDevice.objects.filter(user=user).delete()
        TOTPDevice.objects.create(user=user, name="Load test", key=APP_KEY, confirmed=True)
        desk.append((user.email, user.pk))
    return {"keys": keys, "portal": portal, "agents": desk}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--duration", type=float, default=600)
    parser.add_argument("--api-users", type=int, default=8)
    parser.add_argument("--portal-users", type=int, default=6)
    parser.add_argument("--agents", type=int, default=6)
    parser.add_argument("--think", type=float, default=1.0, help="seconds between operations")
    parser.add_argument("--lapses", type=int, default=2000)
    parser.add_argument(
        "--warmup", type=float, default=20, help="seconds of load not counted in the timings"
    )
    arguments = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="supportdesk-load-"))
    redis = PrivateRedis(workdir)
    redis.start()
    environment = {
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis.url,
        "DJANGO_ENV": "development",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SUPPORTDESK_DATA_DIR": str(workdir / "data"),
        "ACCESS_LOG_LEVEL": "WARNING",
        "API_THROTTLE_RATE": "100000/minute",
        "AXES_FAILURE_LIMIT": "1000",
        "EMAIL_URL": "console://",
        "SWEEP_INTERVAL_SECONDS": "30",
    }
    os.environ.update(environment)
    os.environ["DJANGO_SETTINGS_MODULE"] = "supportdesk.settings"
    processes = Processes(workdir, environment)
    try:
        _prepare(processes, arguments.tickets)
        actors = _actors(arguments.api_users, arguments.portal_users, arguments.agents)
        from tenants.models import Organization

        lapse_ids = lapsing_tickets(
            Organization.objects.filter(slug__startswith="gen-org-").order_by("slug")[0],
            arguments.lapses,
            start_in=10,
            spread=max(arguments.warmup + arguments.duration - 40, 10),
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        processes.web(port, workers=3)
        processes.worker()
        processes.beat()
        wait_http(f"{base}/healthz")
        log(f"stack up; {arguments.duration:.0f} s of load")

        stats, stop = Stats(), threading.Event()
        stats.measure_from = time.monotonic() + arguments.warmup
        threads = [
            threading.Thread(target=api_user, args=(base, key, stats, stop, arguments.think))
            for key in actors["keys"]
        ]
        threads += [
            threading.Thread(
                target=portal_user, args=(base, slug, email, stats, stop, arguments.think)
            )
            for slug, email in actors["portal"]
        ]
        threads += [
            threading.Thread(target=agent, args=(base, email, pk, stats, stop, arguments.think))
            for email, pk in actors["agents"]
        ]
        started = time.monotonic()
        for thread in threads:
            thread.daemon = True
            thread.start()
        time.sleep(arguments.warmup + arguments.duration)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        elapsed = time.monotonic() - started - arguments.warmup
        result = _result(stats, elapsed, lapse_ids)
    finally:
        processes.stop_all()
        redis.stop()
    print(json.dumps(result))


def _result(stats: Stats, elapsed: float, lapse_ids: list[int]) -> dict[str, Any]:
    from django.db import connections
    from django.db.models import Count
    from django.utils import timezone

    from tickets.models import Event, Ticket

    connections.close_all()
    due = list(
        Ticket.objects.filter(pk__in=lapse_ids, response_due_at__lte=timezone.now()).values_list(
            "pk", flat=True
        )
    )
    steps = Event.objects.escalations(1).filter(ticket_id__in=due)
    wait_for(
        lambda: steps.values("ticket_id").distinct().count() >= len(due),
        timeout=90,
        what="the last lapses",
    )
    per_ticket = dict(
        steps.values_list("ticket_id").annotate(n=Count("id")).values_list("ticket_id", "n")
    )
    operations = {
        name: {
            "count": len(values),
            "rps": round(len(values) / elapsed, 1),
            "p50_ms": round(statistics.median(values) * 1000, 1),
            "p99_ms": round(percentile(values, 0.99) * 1000, 1),
        }
        for name, values in sorted(stats.timings.items())
    }
    return {
        "benchmark": "load",
        "duration_s": round(elapsed),
        "tickets": Ticket.objects.count(),
        "operations": operations,
        "requests_per_s": round(sum(len(v) for v in stats.timings.values()) / elapsed, 1),
        "errors": sum(stats.errors.values()),
        "error_kinds": dict(stats.errors),
        "lapses_due": len(due),
        "lapses_acted": sum(1 for pk in due if per_ticket.get(pk, 0) >= 1),
        "duplicates": sum(n - 1 for n in per_ticket.values() if n > 1),
        "desk_refresh_p99_ms": operations.get("desk_refresh", {}).get("p99_ms"),
    }


if __name__ == "__main__":
    main()

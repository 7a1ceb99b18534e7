"""Fault drill: the running stack survives a PostgreSQL restart, a 60-second Redis outage
and SIGKILLed worker and beat, losing nothing and doubling nothing.

    .venv/bin/python bench/faults.py [--lapses 3000] [--clients 4] [--redis-outage 60]

Everything runs privately (bench/stack.py): a PostgreSQL cluster of its own, Redis,
gunicorn, a Celery worker and beat. While API clients keep filing requests (each with an
``Idempotency-Key``, retried with the same key until answered, as an integration would),
and ``--lapses`` tickets' response deadlines fall due one after another underneath:

1. PostgreSQL is restarted (``pg_ctl restart -m fast``);
2. Redis is killed, and started again after ``--redis-outage`` seconds (no persistence:
   every queued task is lost);
3. the worker and beat are SIGKILLed and started again.

Afterwards, once the sweep has caught up: every lapse acted on exactly once (one level-1
escalation Event per ticket), every request the API accepted (201) present in the
database, and no request filed twice. Prints one JSON line; exits non-zero if any of
those fails.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack import (
    PrivatePostgres,
    PrivateRedis,
    Processes,
    free_port,
    lapsing_tickets,
    log,
    wait_for,
    wait_http,
)

SWEEP_INTERVAL = 5


class Client(threading.Thread):
    """Files requests until told to stop; a request counts as accepted only on a 201."""

    def __init__(self, index: int, base: str, key: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.index, self.base, self.key, self.stop = index, base, key, stop
        self.accepted: list[str] = []
        self.tags: list[str] = []
        self.outcomes: Counter[str] = Counter()

    def run(self) -> None:
        serial = 0
        while not self.stop.is_set():
            serial += 1
            tag = f"drill-{self.index}-{serial}"
            number = self._file(tag)
            if number:
                self.accepted.append(number)
                self.tags.append(tag)

    def _file(self, tag: str) -> str | None:
        body = json.dumps(
            {
                "title": f"Mail delayed ({tag})",
                "description": "Messages to external recipients wait in the queue.",
                "category": "technical",
                "impact": "degraded",
                "scope": "one",
                "contact_email": "ops@drill.test",
            }
        ).encode()
        idempotency_key = uuid.uuid4().hex
        give_up = time.monotonic() + 180
        while time.monotonic() < give_up:
            request = urllib.request.Request(
                f"{self.base}/api/v1/tickets/",
                data=body,
                method="POST",
                headers={
                    "Authorization": f"Bearer {self.key}",
                    "Content-Type": "application/json",
                    "Idempotency-Key": idempotency_key,
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    self.outcomes[str(response.status)] += 1
                    return str(json.load(response)["number"])
            except urllib.error.HTTPError as error:
                self.outcomes[str(error.code)] += 1
                if error.code == 429:
                    time.sleep(float(error.headers.get("Retry-After", "1")))
                    continue
                if error.code < 500 and error.code != 409:
                    return None  # refused for good: not accepted
            except OSError:
                self.outcomes["connection"] += 1
            time.sleep(0.5)  # the same key again: never a second request
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lapses", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--redis-outage", type=float, default=60.0)
    arguments = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="supportdesk-faults-"))
    workdir.chmod(0o755)  # the postgres user reads its data directory inside
    postgres, redis = PrivatePostgres(workdir), PrivateRedis(workdir)
    postgres.init()
    redis.start()
    environment = {
        "DATABASE_URL": postgres.url,
        "REDIS_URL": redis.url,
        "DJANGO_ENV": "development",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SUPPORTDESK_DATA_DIR": str(workdir / "data"),
        "SWEEP_INTERVAL_SECONDS": str(SWEEP_INTERVAL),
        "OUTBOX_RETRY_AFTER_SECONDS": "5",
        "ACCESS_LOG_LEVEL": "WARNING",
        "API_THROTTLE_RATE": "100000/minute",
        "EMAIL_URL": "console://",
    }
    os.environ.update(environment)
    os.environ["DJANGO_SETTINGS_MODULE"] = "supportdesk.settings"
    processes = Processes(workdir, environment)
    try:
        processes.manage("migrate", "--no-input")
        import django

        django.setup()
        key = _tenant()
        from tenants.models import Organization

        lapse_ids = lapsing_tickets(
            Organization.objects.get(slug="drill"), arguments.lapses, start_in=5, spread=120
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        processes.web(port)
        processes.worker()
        processes.beat()
        wait_http(f"{base}/healthz")
        log(f"stack up in {workdir}; {len(lapse_ids)} deadlines fall due over 120 s")

        stop = threading.Event()
        clients = [Client(i, base, key, stop) for i in range(arguments.clients)]
        for client in clients:
            client.start()
        figures = _drill(postgres, redis, processes, arguments.redis_outage)
        stop.set()
        for client in clients:
            client.join(timeout=200)
        log("clients stopped; waiting for the sweep to catch up")
        result = _verify(lapse_ids, clients, figures)
    finally:
        processes.stop_all()
        redis.stop()
        postgres.stop()
    print(json.dumps(result))
    if not result["passed"]:
        raise SystemExit(1)


def _tenant() -> str:
    from django.utils import timezone

    from tenants.api_keys import api_key_create
    from tenants.models import Contract, Organization

    organization = Organization.objects.create(
        name="Drill Org", slug="drill", contract=Contract.ADVANCED, time_zone="Europe/Warsaw"
    )
    issued = api_key_create(
        organization=organization,
        name="fault drill",
        role="global_admin",
        created_by=None,
        now=timezone.now(),
    )
    return str(issued.secret)


def _drill(
    postgres: PrivatePostgres, redis: PrivateRedis, processes: Processes, outage: float
) -> dict[str, float]:
    figures: dict[str, float] = {}
    time.sleep(10)
    started = time.monotonic()
    postgres.restart()
    figures["postgres_restart_s"] = round(time.monotonic() - started, 2)
    log(f"PostgreSQL restarted in {figures['postgres_restart_s']} s")
    time.sleep(10)

    redis.stop()
    log(f"Redis stopped for {outage:.0f} s")
    time.sleep(outage)
    redis.start()
    figures["redis_outage_s"] = outage
    log("Redis back")
    time.sleep(5)

    processes.kill("worker")
    processes.kill("beat")
    log("worker and beat SIGKILLed")
    time.sleep(5)
    processes.worker()
    processes.beat()
    log("worker and beat started again")
    time.sleep(15)
    return figures


def _verify(
    lapse_ids: list[int], clients: list[Client], figures: dict[str, float]
) -> dict[str, Any]:
    from django.db import connections
    from django.db.models import Count
    from django.utils import timezone

    from tickets.models import Event, Ticket

    connections.close_all()  # the connection from before the restart is gone
    steps = Event.objects.escalations(1).filter(ticket_id__in=lapse_ids)

    def caught_up() -> bool:
        return steps.values("ticket_id").distinct().count() >= len(lapse_ids)

    try:
        wait_for(caught_up, timeout=180, what="every lapse to be acted on")
    except SystemExit as timeout:
        log(str(timeout))
    per_ticket = dict(
        steps.values_list("ticket_id").annotate(n=Count("id")).values_list("ticket_id", "n")
    )
    delays = sorted(
        (created - lapse).total_seconds()
        for created, lapse in steps.values_list("created_at", "step_lapse_at")
    )
    accepted = [number for client in clients for number in client.accepted]
    numbers = [int(number.rsplit("-", 1)[-1]) for number in accepted]
    present = Ticket.objects.filter(pk__in=numbers).count()
    tags = [tag for client in clients for tag in client.tags]
    filed = Counter(
        title.rsplit("(", 1)[-1].rstrip(")")
        for title in Ticket.objects.filter(title__startswith="Mail delayed (").values_list(
            "title", flat=True
        )
    )
    outcomes: Counter[str] = Counter()
    for client in clients:
        outcomes.update(client.outcomes)
    lapses_acted = sum(1 for pk in lapse_ids if per_ticket.get(pk, 0) >= 1)
    duplicates = sum(n - 1 for n in per_ticket.values() if n > 1)
    requests_doubled = sum(n - 1 for n in filed.values() if n > 1)
    result = {
        "benchmark": "faults",
        "at": timezone.now().isoformat(timespec="seconds"),
        **figures,
        "lapses_due": len(lapse_ids),
        "lapses_acted": lapses_acted,
        "duplicates": duplicates,
        "lapse_delay_p50_s": round(delays[len(delays) // 2], 2) if delays else None,
        "lapse_delay_max_s": round(delays[-1], 2) if delays else None,
        "requests_accepted": len(accepted),
        "accepted_missing": len(accepted) - present,
        "requests_filed_twice": requests_doubled,
        "requests_unanswered_tags": len(set(filed) - set(tags)),
        "responses": dict(sorted(outcomes.items())),
    }
    result["passed"] = (
        lapses_acted == len(lapse_ids)
        and duplicates == 0
        and result["accepted_missing"] == 0
        and requests_doubled == 0
    )
    return result


if __name__ == "__main__":
    main()

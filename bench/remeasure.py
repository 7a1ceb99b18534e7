"""Benchmark re-measuring open tickets after an SLA policy change (tickets/remeasure.py).

Run from the project root with a PostgreSQL server (the URL's database is not touched;
``supportdesk_bench_remeasure``, or ``--database``, on the same server is dropped and
created):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/supportdesk .venv/bin/python bench/remeasure.py

Prints exactly one JSON line (progress goes to stderr):

    {"benchmark": "remeasure", "tickets": 100000, "remeasured_per_s": ...,
     "floor_rows_per_s": ..., "ratio": ..., "preview_per_s": ..., "events": ...}

Method:

(a) N open Severity B technical requests, filed two hours ago on version 1 of the default
    policy, each with its "filed" Event (as ``ticket_create`` writes them), are written
    set-based with their stored deadlines as the clocks compute them.
(b) ``preview_per_s``: ``tickets.remeasure.preview`` of a new version whose B technical
    first response is 8 h instead of 15 h (every deadline moves earlier).
(c) ``remeasured_per_s``: the version is published and the re-measure job runs with the
    production batch size in ``--workers`` processes (default 2: the worker's
    concurrency; the job's task asks the other worker processes to help on a large job,
    as the sweep does on a backlog) — per batch, the tickets and their Events read under
    row locks, the clocks computed, one UPDATE of the tickets, one INSERT of the "SLA
    re-measured" Events. Checked afterwards: every ticket is on the new version, and
    there are exactly N such Events.
(d) ``floor_rows_per_s``: the same N rows put back, then ONE set-based UPDATE of the same
    columns (version, deadlines, next action, clock version) for all of them: what the
    database alone can do. ``ratio`` = (c) / (d).

Target (issue 15): ratio ≥ 0.2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.sweep import recreate_database, vacuum  # noqa: E402

BENCH_DATABASE = "supportdesk_bench_remeasure"


def log(message: str) -> None:
    print(f"[bench/remeasure] {message}", file=sys.stderr, flush=True)


def open_tickets(organization: Any, count: int, *, batch: int) -> int:
    """``count`` open B technical requests filed two hours ago, with their Events."""
    from django.utils import timezone

    from severity.models import SlaPolicy
    from tickets.actors import Actor
    from tickets.bulk import insert_rows
    from tickets.clocks import opening_clocks
    from tickets.events import event_values
    from tickets.models import Event, EventKind, Ticket

    version_id = SlaPolicy.objects.default().current_version_id
    filed = timezone.now() - timedelta(hours=2)
    model = Ticket(
        organization=organization,
        category="technical",
        severity="B",
        created_at=filed,
        sla_version_id=version_id,
    )
    opening_clocks(model)
    for start in range(0, count, batch):
        tickets = Ticket.objects.bulk_create(
            [
                Ticket(
                    organization=organization,
                    title=f"Mail slow {i}",
                    description="Outbound mail takes an hour to leave.",
                    category="technical",
                    impact="degraded",
                    scope="many",
                    severity="B",
                    original_severity="B",
                    status="new",
                    contact_email="admin@bench.test",
                    created_at=filed,
                    updated_at=filed,
                    sla_version_id=version_id,
                    response_due_at=model.response_due_at,
                    response_warning_at=model.response_warning_at,
                    second_escalation_at=model.second_escalation_at,
                    next_action_at=model.next_action_at,
                    clock_version=1,
                )
                for i in range(start, min(start + batch, count))
            ],
            batch_size=batch,
        )
        insert_rows(
            Event,
            [
                {
                    **event_values(
                        organization_id=organization.pk,
                        ticket_id=t.pk,
                        kind=EventKind.CREATED,
                        actor=Actor.system("bench"),
                        now=filed,
                        after={"status": "new", "severity": "B"},
                    ),
                    "delivered_at": filed,
                }
                for t in tickets
            ],
            returning=("id",),
        )
    return int(version_id or 0)


def new_version(*, now: Any) -> Any:
    from severity.models import SlaPolicy, SlaPolicyVersion, SlaTarget

    policy = SlaPolicy.objects.default()
    current = policy.current_version
    version = SlaPolicyVersion.objects.create(policy=policy, number=current.number + 1)
    for target in SlaTarget.objects.filter(version=current):
        target.pk = None
        target.version = version
        if (target.severity, target.category) == ("B", "technical"):
            target.first_response = timedelta(hours=8)
        target.save()
    return version


def publish(version: Any, *, now: Any) -> None:
    version.published_at = now
    version.save(update_fields=["published_at"])
    policy = version.policy
    policy.current_version = version
    policy.save(update_fields=["current_version"])


def measure_floor(count: int, *, old_version: int, new_version: int) -> float:
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tickets_ticket SET sla_version_id = %s, "
            "response_due_at = response_due_at + interval '7 hours', "
            "next_action_at = next_action_at + interval '7 hours', "
            "response_warning_at = response_warning_at + interval '5 hours', "
            "second_escalation_at = second_escalation_at + interval '14 hours'",
            [old_version],
        )
    vacuum("tickets_ticket")
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tickets_ticket SET sla_version_id = %s, "
            "response_due_at = response_due_at - interval '7 hours', "
            "next_action_at = next_action_at - interval '7 hours', "
            "response_warning_at = response_warning_at - interval '5 hours', "
            "second_escalation_at = second_escalation_at - interval '14 hours', "
            "clock_version = clock_version + 1 "
            "WHERE status IN ('new', 'open', 'awaiting_customer')",
            [new_version],
        )
        rows = cursor.rowcount
    seconds = time.perf_counter() - started
    log(f"floor: {rows} rows in one UPDATE in {seconds:.3f} s")
    if rows != count:
        raise SystemExit(f"the floor UPDATE touched {rows} rows, not {count}")
    return rows / seconds


def _run_job(job_id: int, helper: bool) -> int:
    """One worker process's share of the job (forked: its own connection)."""
    from django.db import connections

    from tickets.models import RemeasureJob, RemeasureStatus
    from tickets.remeasure import remeasure_run

    connections.close_all()  # never share the parent's socket
    if helper:  # joins once the runner has claimed the job, as a queued helper task would
        while not RemeasureJob.objects.filter(pk=job_id, status=RemeasureStatus.RUNNING).exists():
            time.sleep(0.01)
    job = remeasure_run(job_id, helper=helper)
    connections.close_all()
    return job.done


def run_shared(job_id: int, workers: int) -> Any:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from django.db import connections

    from tickets.models import RemeasureJob

    connections.close_all()
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        list(pool.map(_run_job, [job_id] * workers, [i > 0 for i in range(workers)]))
    return RemeasureJob.objects.get(pk=job_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5000, help="rows per insert while seeding")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the re-measure into FILE")
    parser.add_argument("--workers", type=int, default=2, help="processes sharing the job")
    parser.add_argument(
        "--database", default=BENCH_DATABASE, help="dropped and created on the URL's server"
    )
    args = parser.parse_args()

    source = os.environ.get("DATABASE_URL")
    if not source:
        raise SystemExit("bench/remeasure.py needs DATABASE_URL=postgres://… (PostgreSQL)")
    if urlsplit(source).path.lstrip("/") == args.database:
        raise SystemExit("point DATABASE_URL at another database; the bench drops its own")
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "supportdesk.settings",
            "DATABASE_URL": recreate_database(source, args.database),
            "DEADLINE_TASKS": "0",  # no broker here: deadlines are hours away anyway
            "OUTBOX_TASKS": "0",
            "EMAIL_URL": "locmem://",
            "DEBUG": "0",  # DEBUG keeps every query in memory
        }
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from tenants.models import Contract, Organization
    from tickets.models import Event, EventKind, RemeasureKind, Ticket
    from tickets.remeasure import preview, remeasure_run, remeasure_start

    call_command("migrate", verbosity=0)
    organization = Organization.objects.create(
        name="Bench Corp", slug="bench", country="PL", contract=Contract.ADVANCED
    )
    started = time.perf_counter()
    old_version = open_tickets(organization, args.tickets, batch=args.batch)
    log(f"{args.tickets} open tickets written in {time.perf_counter() - started:.1f} s")
    vacuum("tickets_ticket")
    vacuum("tickets_event")

    now = timezone.now()
    version = new_version(now=now)
    started = time.perf_counter()
    impact = preview(kind=RemeasureKind.POLICY, version=version, now=now)
    preview_seconds = time.perf_counter() - started
    log(f"preview: {impact} in {preview_seconds:.2f} s")
    if impact.moved_earlier != args.tickets:
        raise SystemExit(f"the preview moved {impact.moved_earlier} of {args.tickets} earlier")

    publish(version, now=now)
    with transaction.atomic():
        job = remeasure_start(kind=RemeasureKind.POLICY, version=version, now=now)
    started = time.perf_counter()
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
        job = remeasure_run(job.pk)
        profiler.disable()
        profiler.dump_stats(args.profile)
    else:
        job = run_shared(job.pk, args.workers)
    seconds = time.perf_counter() - started
    log(f"re-measure: {job.done} tickets in {seconds:.2f} s ({job.status})")
    moved = Ticket.objects.filter(sla_version=version).count()
    events = Event.objects.filter(kind=EventKind.SLA_REMEASURED).count()
    sample = Ticket.objects.filter(sla_version=version).first()
    expected = preview(kind=RemeasureKind.POLICY, version=version, now=now)
    if moved != args.tickets or events != args.tickets or expected.total != 0:
        raise SystemExit(f"{moved} tickets moved and {events} Events for {args.tickets}")
    assert sample is not None and sample.response_due_at is not None
    floor = measure_floor(args.tickets, old_version=old_version, new_version=version.pk)
    remeasured_per_s = args.tickets / seconds
    print(
        json.dumps(
            {
                "benchmark": "remeasure",
                "tickets": args.tickets,
                "remeasured_per_s": round(remeasured_per_s),
                "floor_rows_per_s": round(floor),
                "ratio": round(remeasured_per_s / floor, 3),
                "preview_per_s": round(args.tickets / preview_seconds),
                "events": events,
            }
        )
    )


if __name__ == "__main__":
    main()

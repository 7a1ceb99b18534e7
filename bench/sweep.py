"""Benchmark the sweep (tickets/sweep.py) and the deadline tasks on PostgreSQL and Redis.

Run from the project root with a PostgreSQL server (the URL's database is not touched;
``supportdesk_bench``, or ``--database``, on the same server is dropped and created):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/supportdesk .venv/bin/python bench/sweep.py

Prints exactly one JSON line (progress goes to stderr):

    {"benchmark": "sweep", "tickets": 100000, "escalations_per_s": ..., "floor_rows_per_s":
     ..., "delay_p50_s": ..., "delay_p99_s": ..., "delay_samples": ...}

Method:

(a) ``escalations_per_s``: N Severity A tickets whose level-1 escalation is due (written
    with ``bulk_create``; second escalation an hour ahead, so exactly one step each) are
    swept in-process by ``tickets.sweep.sweep`` with the production batch size and the
    production side effects (delivery tasks published to a private Redis nobody consumes).
    N / wall seconds; exactly N level-1 escalation Events are checked afterwards.
(b) ``floor_rows_per_s``: the same N rows reset to level 0, then ONE set-based
    ``UPDATE … SET escalation_level = 1 WHERE next_action_at <= now AND escalation_level
    = 0``: what the database alone can do, the floor the sweep is compared with.
(c) ``delay_p50_s`` / ``delay_p99_s``: a real Celery worker and beat (SWEEP_INTERVAL_SECONDS
    = 30, DEADLINE_TASKS=1) on a private redis-server; ``--delay-tickets`` A tickets are
    filed through ``ticket_create`` with ``now`` chosen so their response deadlines fall
    evenly over the next ``--spread`` seconds; the deadline tasks are published on commit
    as in production. Delay = ``Event.created_at - step_lapse_at`` of each level-1 step.
    Tickets are filed up to an hour in the past, so the in-process deadline-task horizon
    (measured from the service's ``now``) is raised to two hours for this phase.

Targets (DESIGN.md "Workers"): ``escalations_per_s`` ≥ 10,000; ``delay_p99_s`` ≤ 5.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DATABASE = "supportdesk_bench"


def log(message: str) -> None:
    print(f"[bench/sweep] {message}", file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def recreate_database(url: str, name: str) -> str:
    """Drop and create ``name`` on the server of ``url``; return its URL."""
    import psycopg2

    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql", "postgis"}:
        raise SystemExit(f"bench/sweep.py needs a PostgreSQL DATABASE_URL, not {parts.scheme}://")
    admin = psycopg2.connect(
        dbname="postgres",
        user=unquote(parts.username or "") or None,
        password=unquote(parts.password or "") or None,
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return urlunsplit(parts._replace(path=f"/{name}"))


class PrivateRedis:
    """A throw-away redis-server on a free port (never the shared one)."""

    def __init__(self, workdir: Path) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        import redis

        if shutil.which("redis-server") is None:
            raise SystemExit("bench/sweep.py needs the redis-server binary on PATH")
        with (self.workdir / "redis.log").open("ab") as out:
            self.process = subprocess.Popen(
                [
                    *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                    *("--save", "", "--appendonly", "no", "--dir", str(self.workdir)),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client().ping():
                    return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.05)

    def client(self) -> Any:
        import redis

        return redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=5)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


class Processes:
    """Celery worker and beat processes, each in its own process group."""

    def __init__(self, root: Path, environment: dict[str, str]) -> None:
        self.root = root
        self.environment = environment
        self.started: list[tuple[str, subprocess.Popen[bytes], Path]] = []

    def spawn(self, name: str, *arguments: str) -> Path:
        data_dir = self.root / name
        data_dir.mkdir(parents=True, exist_ok=True)
        log_file = self.root / f"{name}.log"
        env = {**self.environment, "SUPPORTDESK_DATA_DIR": str(data_dir)}
        argv = [sys.executable, "-m", "celery", "--app", "supportdesk", *arguments]
        if arguments[0] == "beat":
            argv += ["--schedule", str(data_dir / "celerybeat-schedule")]
        with log_file.open("ab") as out:
            process = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.started.append((name, process, log_file))
        return log_file

    def wait_ready(self, log_file: Path, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while " ready." not in log_file.read_text(encoding="utf-8", errors="replace"):
            if time.monotonic() > deadline:
                raise SystemExit(f"worker not ready after {timeout} s:\n{self.tails()}")
            time.sleep(0.1)

    def stop(self) -> None:
        for _name, process, _log in self.started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def tails(self) -> str:
        out = []
        for name, _process, log_file in self.started:
            lines = log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
            out.append(f"--- {name} ---\n" + "\n".join(lines))
        return "\n".join(out)


def due_tickets(organization: Any, count: int, *, now: datetime, batch: int) -> None:
    """``count`` A tickets, level 1 due a minute ago, level 2 an hour ahead."""
    from tickets.models import Ticket

    opened = now - timedelta(hours=1, minutes=1)
    due = now - timedelta(minutes=1)
    second = now + timedelta(hours=1)
    for start in range(0, count, batch):
        Ticket.objects.bulk_create(
            [
                Ticket(
                    organization=organization,
                    title=f"Mail down {i}",
                    description="Outbound mail is stuck in the outbox for everyone.",
                    category="technical",
                    impact="service_down",
                    scope="many",
                    severity="A",
                    original_severity="A",
                    status="new",
                    contact_email="admin@bench.test",
                    created_at=opened,
                    updated_at=opened,
                    escalation_level=0,
                    response_due_at=due,
                    second_escalation_at=second,
                    next_action_at=due,
                )
                for i in range(start, min(start + batch, count))
            ],
            batch_size=batch,
        )


def vacuum(table: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {table}")


def _one_sweeper(index: int, now_iso: str) -> dict[str, int]:
    """A sweeper process (forked): its own connection, the same due rows as the others."""
    from django.db import connections

    from tickets.sweep import sweep

    connections.close_all()  # never share the parent's socket
    result = sweep(now=datetime.fromisoformat(now_iso), worker=f"bench-{index}", heartbeat=False)
    connections.close_all()
    return result.as_dict()


def measure_sweep(organization: Any, count: int, batch: int, sweepers: int) -> float:
    """Escalations per second of ``sweepers`` concurrent sweeps (as the sweep task fans out
    to the worker's processes on a backlog); SKIP LOCKED partitions the rows between them."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from django.db import connections
    from django.utils import timezone

    from tickets.models import Event

    now = timezone.now()
    started = time.perf_counter()
    due_tickets(organization, count, now=now, batch=batch)
    log(f"{count} due tickets written in {time.perf_counter() - started:.1f} s")
    vacuum("tickets_ticket")

    now = timezone.now()
    connections.close_all()
    started = time.perf_counter()
    with ProcessPoolExecutor(sweepers, mp_context=multiprocessing.get_context("fork")) as pool:
        results = list(pool.map(_one_sweeper, range(sweepers), [now.isoformat()] * sweepers))
    seconds = time.perf_counter() - started
    escalations = sum(r["escalations"] for r in results)
    steps = Event.objects.escalations(1).count()
    log(f"{sweepers} sweepers: {results} in {seconds:.2f} s; {steps} level-1 steps")
    if steps != count or escalations != count:
        raise SystemExit(f"the sweeps took {steps} level-1 steps for {count} due tickets")
    return count / seconds


def measure_floor(count: int) -> float:
    from django.db import connection, transaction
    from django.utils import timezone

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tickets_ticket SET escalation_level = 0, next_action_at = response_due_at"
        )
    vacuum("tickets_ticket")
    now = timezone.now()
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tickets_ticket SET escalation_level = 1 "
            "WHERE next_action_at <= %s AND escalation_level = 0",
            [now],
        )
        rows = cursor.rowcount
    seconds = time.perf_counter() - started
    log(f"floor: {rows} rows in one UPDATE in {seconds:.3f} s")
    if rows != count:
        raise SystemExit(f"the floor UPDATE touched {rows} rows, not {count}")
    return rows / seconds


def measure_delays(
    organization: Any, redis: PrivateRedis, processes: Processes, *, tickets: int, spread: float
) -> list[float]:
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from helpcenter.models import Service
    from tickets.actors import Actor
    from tickets.intake import TicketDraft
    from tickets.models import Event
    from tickets.services import ticket_create

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE tickets_ticket CASCADE")
    vacuum("tickets_ticket")
    # Phase (a) left delivery tasks for 100,000 Events queued: not this phase's work.
    redis.client().flushall()

    worker_log = processes.spawn(
        *("worker", "worker", "--loglevel", "INFO", "--concurrency", "2"),
        *("--without-gossip", "--without-mingle", "--hostname", "bench@%h"),
    )
    processes.spawn("beat", "beat", "--loglevel", "INFO")
    processes.wait_ready(worker_log)
    log("worker and beat running")

    settings.SUPPORTDESK = dataclasses.replace(
        settings.SUPPORTDESK, DEADLINE_TASK_HORIZON_SECONDS=7200
    )
    actor = Actor.system("bench")
    # A technical request names its product (POL-REQ-3); seeded by the migrations.
    product = Service.objects.get(slug="exchange-online")
    first_due = timezone.now() + timedelta(seconds=3)
    step = timedelta(seconds=spread / tickets)
    late = 0
    for i in range(tickets):
        due = first_due + i * step
        ticket = ticket_create(
            organization=organization,
            actor=actor,
            draft=TicketDraft(
                title=f"Mail down {i}",
                description="Outbound mail is stuck in the outbox for everyone.",
                category="technical",
                product=product,
                impact="service_down",
                scope="many",
                business_impact="Mail is down for the whole company.",
                contact_24x7="Duty IT +48 601 234 567",
                contact_email="admin@bench.test",
            ),
            now=due - timedelta(hours=1),
        )
        if ticket.severity != "A" or ticket.response_due_at != due:
            raise SystemExit(
                f"ticket {i}: {ticket.severity} due {ticket.response_due_at}, not A {due}"
            )
        late += timezone.now() > due
    log(f"{tickets} tickets filed, {late} after their own deadline")

    escalations = Event.objects.escalations(1)
    deadline = time.monotonic() + spread + 90
    while escalations.count() < tickets:
        if time.monotonic() > deadline:
            raise SystemExit(
                f"only {escalations.count()} of {tickets} escalated:\n{processes.tails()}"
            )
        time.sleep(0.5)
    rows = list(escalations.values_list("created_at", "step_lapse_at", "actor_label"))
    by_worker: dict[str, int] = {}
    for _acted, _lapse, worker in rows:
        by_worker[worker] = by_worker.get(worker, 0) + 1
    log(f"level-1 steps by worker label: {by_worker}")
    return sorted((acted - lapse).total_seconds() for acted, lapse, _ in rows)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted ``values``."""
    rank = max(1, math.ceil(fraction * len(values)))
    return values[rank - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5_000, help="bulk_create batch size")
    parser.add_argument("--delay-tickets", type=int, default=300)
    parser.add_argument("--spread", type=float, default=30.0, help="seconds the deadlines span")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the sweep into FILE")
    parser.add_argument(
        "--database", default=BENCH_DATABASE, help="dropped and created on the URL's server"
    )
    parser.add_argument(
        "--sweepers",
        type=int,
        default=2,
        help="concurrent sweeps (the sweep task fans out to this many on a backlog)",
    )
    args = parser.parse_args()

    source = os.environ.get("DATABASE_URL")
    if not source:
        raise SystemExit("bench/sweep.py needs DATABASE_URL=postgres://… (PostgreSQL)")
    if urlsplit(source).path.lstrip("/") == args.database:
        raise SystemExit("point DATABASE_URL at another database; the bench drops its own")
    bench_url = recreate_database(source, args.database)
    scratch = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    redis = PrivateRedis(scratch)
    redis.start()
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "supportdesk.settings",
        "DATABASE_URL": bench_url,
        "REDIS_URL": redis.url,
        "SUPPORTDESK_DATA_DIR": str(scratch / "bench"),
        "SWEEP_INTERVAL_SECONDS": "30",
        "DEADLINE_TASKS": "1",
        "OUTBOX_TASKS": "1",
        "EMAIL_URL": "locmem://",
        "DEBUG": "0",  # DEBUG keeps every query in memory
    }
    os.environ.update(environment)
    processes = Processes(scratch / "processes", environment)
    try:
        import django

        django.setup()
        from django.core.management import call_command

        from tenants.models import Contract, Organization

        call_command("migrate", verbosity=0)
        organization = Organization.objects.create(
            name="Bench Corp", slug="bench", country="PL", contract=Contract.ADVANCED
        )
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
            escalations_per_s = measure_sweep(organization, args.tickets, args.batch, 1)
            profiler.disable()
            profiler.dump_stats(args.profile)
        else:
            escalations_per_s = measure_sweep(organization, args.tickets, args.batch, args.sweepers)
        floor_rows_per_s = measure_floor(args.tickets)
        delays = measure_delays(
            organization, redis, processes, tickets=args.delay_tickets, spread=args.spread
        )
    finally:
        processes.stop()
        redis.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    print(
        json.dumps(
            {
                "benchmark": "sweep",
                "tickets": args.tickets,
                "sweepers": 1 if args.profile else args.sweepers,
                "escalations_per_s": round(escalations_per_s),
                "floor_rows_per_s": round(floor_rows_per_s),
                "delay_p50_s": round(statistics.median(delays), 3),
                "delay_p99_s": round(percentile(delays, 0.99), 3),
                "delay_samples": len(delays),
            }
        )
    )


if __name__ == "__main__":
    main()

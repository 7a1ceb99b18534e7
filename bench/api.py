"""Benchmark ``POST /api/v1/tickets/`` against a bare DRF validate+INSERT floor.

Run from the project root with a PostgreSQL server (the URL's own database is not
touched; ``supportdesk_apibench``, or ``--database``, on the same server is dropped, created
and migrated):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/api.py

Prints exactly one JSON line (progress goes to stderr):

    {"benchmark": "api", "ours_rps": ..., "ours_p50_ms": ..., "ours_p99_ms": ...,
     "floor_rps": ..., "floor_p50_ms": ..., "floor_p99_ms": ..., "ratio": ...}

Method: gunicorn serves the app (2 sync workers, as DESIGN.md's floors were measured,
DEBUG off, persistent connections) on the benchmark database, with a private
redis-server as the cache (throttle buckets) and the Celery broker (the create path
publishes its deadline and delivery tasks there, as in production; nobody consumes them).
A separate process drives the server with ``--concurrency`` clients (asyncio + httpx)
for ``--seconds`` per side after a short warm-up — in ``--rounds`` alternating slices, so
a change of load on a shared machine affects both sides alike — ``POST /api/v1/tickets/`` with an
organization API key (authentication, throttling, validation, severity assessment, the
ticket, its Event and its SLA clocks) and, in the same run, the floor: a DRF view that
validates the same payload with the same serializer and inserts one ticket row
(``bench/floor_urls.py``, mounted only by ``bench.settings``, which the server runs with).
``ratio`` = ours_rps / floor_rps; target ≥ 0.5.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "supportdesk_apibench"
PAYLOAD = {
    "title": "Cannot send mail",
    "description": "Outbound mail is stuck in the outbox for everyone since 09:10.",
    "category": "technical",
    # A technical request names its product (POL-REQ-3); seeded by the migrations.
    "product": "exchange-online",
    "impact": "degraded",
    "scope": "many",
    "contact_email": "it@bench.example",
    "contact_phone": "+48600100200",
}


def log(message: str) -> None:
    print(f"[bench/api] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def recreate_database(url: str, name: str) -> str:
    import psycopg2

    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise SystemExit("bench/api.py needs a PostgreSQL DATABASE_URL")
    if parts.path.lstrip("/") == "supportdesk":
        log("the URL names the shared 'supportdesk' database; it is left untouched")
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


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str], name: str) -> Iterator[subprocess.Popen]:
    # stderr to a file, not a pipe: a chatty server must never block on a full pipe.
    errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed when the process stops
    proc = subprocess.Popen(
        args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=errors,
        start_new_session=True,
    )  # fmt: skip
    proc.errors = errors  # type: ignore[attr-defined]
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        errors.close()
        log(f"{name} stopped")


def wait_for_port(port: int, proc: subprocess.Popen, name: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            proc.errors.seek(0)  # type: ignore[attr-defined]
            stderr = proc.errors.read().decode()  # type: ignore[attr-defined]
            raise SystemExit(f"{name} exited: {stderr[-2000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"{name} did not listen on {port}")


def seed(env: dict[str, str]) -> tuple[str, int]:
    """Migrate, then one organization and its API key; returns (key, organization id)."""
    python = sys.executable
    subprocess.run(
        [python, "manage.py", "migrate", "--noinput", "-v", "0"], env=env, cwd=ROOT, check=True
    )
    script = (
        "from django.utils import timezone\n"
        "from tenants.api_keys import api_key_create\n"
        "from tenants.models import Organization\n"
        "org = Organization.objects.create(name='Bench', slug='bench', country='PL',"
        " contract='advanced')\n"
        "key = api_key_create(organization=org, name='bench', role='global_admin',"
        " created_by=None, now=timezone.now())\n"
        "print(key.secret, org.pk)\n"
    )
    out = subprocess.run(
        [python, "manage.py", "shell", "-c", script],
        env=env, cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    return out[-2], int(out[-1])


async def drive(url: str, headers: dict[str, str], seconds: float, concurrency: int) -> dict:
    """``concurrency`` clients POST the payload back to back for ``seconds``."""
    import httpx

    body = json.dumps(PAYLOAD).encode()
    latencies: list[float] = []
    failures = 0
    stop_at = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal failures
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                response = await client.post(url, content=body, headers=headers)
                if response.status_code == 201:
                    latencies.append(time.perf_counter() - started)
                else:
                    failures += 1

        begun = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.monotonic() - begun
    return {"latencies": latencies, "elapsed": elapsed, "failures": failures}


def summary(runs: list[dict]) -> dict:
    latencies = sorted(value for run in runs for value in run["latencies"])
    if not latencies:
        raise SystemExit(f"no successful request ({sum(r['failures'] for r in runs)} failures)")
    return {
        "rps": len(latencies) / sum(run["elapsed"] for run in runs),
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "requests": len(latencies),
        "failures": sum(run["failures"] for run in runs),
    }


def run_driver(url: str, headers: dict[str, str], seconds: float, concurrency: int) -> dict:
    """The load comes from a separate process, so it does not share the server's cores'
    scheduling with this one's bookkeeping."""
    args = [
        sys.executable, __file__, "--drive", url, "--seconds", str(seconds),
        "--concurrency", str(concurrency), "--headers", json.dumps(headers),
    ]  # fmt: skip
    out = subprocess.run(args, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=4, help="alternating slices per side")
    parser.add_argument(
        "--database", default=BENCH_DATABASE, help="dropped and created on the URL's server"
    )
    parser.add_argument("--drive")
    parser.add_argument("--headers", default="{}")
    options = parser.parse_args()
    if options.drive:
        result = asyncio.run(
            drive(options.drive, json.loads(options.headers), options.seconds, options.concurrency)
        )
        print(json.dumps(result))
        return

    source = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if urlsplit(source).path.lstrip("/") == options.database:
        raise SystemExit("point DATABASE_URL at another database; the bench drops its own")
    database = recreate_database(source, options.database)
    if shutil.which("redis-server") is None:
        raise SystemExit("bench/api.py needs the redis-server binary on PATH")
    redis_port, http_port = free_port(), free_port()
    data_dir = tempfile.mkdtemp(prefix="apibench-")
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "DEBUG": "0",
        "SUPPORTDESK_DATA_DIR": data_dir,
        # The production settings plus the floor route; production has no such route.
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        # One key sends every request: the throttle still runs, but never refuses.
        "API_THROTTLE_RATE": "100000000/min",
        "LOG_LEVEL": "WARNING",
    }
    redis_args = ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", ""]
    with process(redis_args, env, "redis") as redis:
        wait_for_port(redis_port, redis, "redis")
        log(f"migrating {options.database}")
        secret, organization_id = seed(env)
        gunicorn = [
            str(Path(sys.executable).with_name("gunicorn")), "supportdesk.wsgi:application",
            "--workers", str(options.workers), "--bind", f"127.0.0.1:{http_port}",
            "--worker-class", "sync", "--backlog", "2048", "--log-level", "warning",
        ]  # fmt: skip
        with process(gunicorn, env, "gunicorn") as server:
            wait_for_port(http_port, server, "gunicorn")
            base = f"http://127.0.0.1:{http_port}/api/v1"
            ours_headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
            floor_headers = {
                "X-Bench-Organization": str(organization_id),
                "Content-Type": "application/json",
            }
            log("warming up")
            run_driver(f"{base}/tickets/", ours_headers, options.warmup, options.concurrency)
            run_driver(f"{base}/bench/floor/", floor_headers, options.warmup, options.concurrency)
            # Alternating slices: a load change on the machine during the run shows in
            # both figures instead of biasing the ratio.
            ours_runs, floor_runs = [], []
            slice_seconds = options.seconds / options.rounds
            for round_number in range(options.rounds):
                log(f"round {round_number + 1}/{options.rounds}: {slice_seconds:.1f} s each")
                ours_runs.append(
                    run_driver(f"{base}/tickets/", ours_headers, slice_seconds, options.concurrency)
                )
                floor_runs.append(
                    run_driver(
                        f"{base}/bench/floor/", floor_headers, slice_seconds, options.concurrency
                    )
                )
            ours, floor = summary(ours_runs), summary(floor_runs)
    shutil.rmtree(data_dir, ignore_errors=True)
    log(f"ours {ours}; floor {floor}")
    print(
        json.dumps(
            {
                "benchmark": "api",
                "ours_rps": round(ours["rps"], 1),
                "ours_p50_ms": round(ours["p50_ms"], 1),
                "ours_p99_ms": round(ours["p99_ms"], 1),
                "floor_rps": round(floor["rps"], 1),
                "floor_p50_ms": round(floor["p50_ms"], 1),
                "floor_p99_ms": round(floor["p99_ms"], 1),
                "ratio": round(ours["rps"] / floor["rps"], 3),
            }
        )
    )


if __name__ == "__main__":
    main()

"""A private copy of the production stack for the whole-system benchmarks.

PostgreSQL (its own cluster made by ``initdb``, run as the ``postgres`` user), Redis,
gunicorn, a Celery worker and beat, each on a free loopback port under one temporary
directory, so a drill may restart or kill any of them without touching the machine's
shared services. Used by ``bench/faults.py`` and ``bench/load.py``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def log(message: str) -> None:
    print(f"[{Path(sys.argv[0]).stem}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition: Callable[[], Any], *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise SystemExit("PostgreSQL server binaries not found (apt-get install postgresql)")
    return Path(found[-1]).parent


class PrivatePostgres:
    """A throw-away cluster: trust auth on loopback, fsync on (a restart must be real)."""

    def __init__(self, workdir: Path) -> None:
        self.bin = _postgres_bin()
        self.data = workdir / "pgdata"
        self.log = workdir / "postgres.log"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/supportdesk"
        self._user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self.data.parent.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.data.parent, "postgres")
            self.log.touch()
            shutil.chown(self.log, "postgres")
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "--no-sync", "-E", "UTF8",
        )  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                "unix_socket_directories = ''\nmax_connections = 200\n"
                "shared_buffers = 512MB\nsynchronous_commit = on\n"
            )
        self.start()
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-qc",
             "CREATE DATABASE supportdesk"],
            check=True, capture_output=True,
        )  # fmt: skip

    def start(self) -> None:
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "start"
        )

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-m", "fast",
            "-w", "restart",
        )  # fmt: skip


class PrivateRedis:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log = workdir / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.workdir)],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        wait_for(self.ping, timeout=10, what="redis")

    def ping(self) -> bool:
        result = subprocess.run(
            ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
        )
        return result.stdout.strip() == "PONG"

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


class Processes:
    """The app's processes (gunicorn, worker, beat, manage.py) with one environment."""

    def __init__(self, workdir: Path, environment: dict[str, str]) -> None:
        self.workdir = workdir
        self.environment = {**os.environ, **environment}
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def manage(self, *arguments: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PYTHON, "manage.py", *arguments],
            cwd=ROOT, env=self.environment, capture_output=True, text=True, check=check,
        )  # fmt: skip

    def spawn(self, name: str, *command: str) -> subprocess.Popen[bytes]:
        log_file = self.workdir / f"{name}.log"
        with log_file.open("ab") as out:
            process = subprocess.Popen(
                list(command), cwd=ROOT, env=self.environment, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.running[name] = process
        return process

    def web(self, port: int, workers: int = 2) -> subprocess.Popen[bytes]:
        return self.spawn(
            "web", PYTHON, "-m", "gunicorn", "supportdesk.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "60",
        )  # fmt: skip

    def worker(self, name: str = "worker", concurrency: int = 2) -> subprocess.Popen[bytes]:
        return self.spawn(
            name, PYTHON, "-m", "celery", "--app", "supportdesk", "worker", "--loglevel",
            "INFO", "--concurrency", str(concurrency), "--hostname", f"{name}@%h",
            "--without-gossip", "--without-mingle",
        )  # fmt: skip

    def beat(self, name: str = "beat") -> subprocess.Popen[bytes]:
        return self.spawn(
            name, PYTHON, "-m", "celery", "--app", "supportdesk", "beat", "--loglevel", "INFO",
            "--schedule", str(self.workdir / f"{name}-schedule"),
        )  # fmt: skip

    def kill(self, name: str) -> None:
        """SIGKILL the process group: a worker's pool children die with it."""
        process = self.running.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.running):
            process = self.running.pop(name)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)

    def tails(self) -> str:
        return "\n".join(
            f"--- {path.name} ---\n{tail(path)}" for path in sorted(self.workdir.glob("*.log"))
        )


def wait_http(url: str, *, timeout: float = 60) -> None:
    import urllib.error
    import urllib.request

    def answers() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status < 500
        except urllib.error.HTTPError as error:
            return error.code < 500
        except OSError:
            return False

    wait_for(answers, timeout=timeout, what=url)


def lapsing_tickets(organization: Any, count: int, *, start_in: float, spread: float) -> list[int]:
    """``count`` Severity A tickets whose level-1 deadlines fall evenly from ``start_in``
    to ``start_in + spread`` seconds from now (second escalation an hour later, so one
    step each). Written with ``bulk_create``: the sweep finds them by ``next_action_at``."""
    from datetime import timedelta

    from django.utils import timezone

    from tickets.models import Ticket

    now = timezone.now()
    rows = []
    for i in range(count):
        due = now + timedelta(seconds=start_in + spread * i / max(count, 1))
        rows.append(
            Ticket(
                organization=organization, title=f"Lapse {i}", description="Mail is down.",
                category="technical", impact="service_down", scope="many", severity="A",
                original_severity="A", status="new", contact_email="ops@bench.test",
                created_at=due - timedelta(hours=1), updated_at=due - timedelta(hours=1),
                response_due_at=due, second_escalation_at=due + timedelta(hours=1),
                next_action_at=due,
            )
        )  # fmt: skip
    return [ticket.pk for ticket in Ticket.objects.bulk_create(rows, batch_size=1000)]

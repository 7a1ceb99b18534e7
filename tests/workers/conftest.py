"""The workers tier (STYLE.md "Tests"): real Celery workers and beats on a private Redis,
against the PostgreSQL test database, so what is tested is what runs in production.

Every test here needs PostgreSQL (marked ``postgres``) and the ``redis-server`` binary.
Without them the tests skip with the reason; with ``SUPPORTDESK_CI=1`` they fail instead,
as CI must run them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import quote

import pytest
from django.db import connection
from django.utils import timezone

from tests.conftest import World
from tickets.models import Ticket

PROJECT = Path(__file__).resolve().parents[2]


def _skip_or_fail(reason: str) -> None:
    """Skip locally; under CI (SUPPORTDESK_CI=1) the workers tier must run, so fail."""
    if os.environ.get("SUPPORTDESK_CI") == "1":
        pytest.fail(f"SUPPORTDESK_CI=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    # Lets fixtures see at teardown whether the test failed (to print the logs' tails).
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def wait_until[T](
    condition: Callable[[], T],
    *,
    timeout: float,
    what: str,
    interval: float = 0.1,
    logs: Callable[[], str] | None = None,
) -> T:
    """Poll ``condition`` until it returns something truthy; fail with the logs after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f"\n{logs()}" if logs else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(interval)


class PrivateRedis:
    """A throw-away redis-server on a free port: never the shared one on 6379."""

    def __init__(self, workdir: Path) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.log = workdir / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.process is None, "already running"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                    *("--save", "", "--appendonly", "no", "--dir", str(self.workdir)),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(
            self.ping, timeout=10, interval=0.05, what=f"redis on {self.port}", logs=self.tail
        )

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None

    def client(self) -> Any:
        import redis

        return redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=2)

    def ping(self) -> bool:
        import redis

        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"redis-server exited:\n{self.tail()}")
        try:
            with self.client() as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    def tail(self) -> str:
        return f"--- redis ---\n{_tail(self.log, 20)}"


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        _skip_or_fail("the workers tier needs the redis-server binary on PATH")
    workdir = tmp_path / "redis"
    workdir.mkdir()
    server = PrivateRedis(workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _broker_settings_for(redis_url: str) -> tuple[str, dict[str, Any]]:
    """The broker URL and options settings.py gives a deployment whose REDIS_URL is this
    one (the test process itself runs without REDIS_URL, on the filesystem broker)."""
    with mock.patch.dict(os.environ, {"REDIS_URL": redis_url}):
        values = runpy.run_path(str(PROJECT / "supportdesk" / "settings.py"))
    return values["CELERY_BROKER_URL"], dict(values["CELERY_BROKER_TRANSPORT_OPTIONS"])


def _reset_broker_pools(app: Any) -> None:
    # Connections pooled for the previous broker must not be reused for the next one.
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None


@pytest.fixture
def publishing(private_redis: PrivateRedis, settings: Any) -> Iterator[PrivateRedis]:
    """The test process publishes deadline and delivery tasks to the private Redis, as the
    web process does in production (on commit, from the services)."""
    from supportdesk.celery import app

    saved = (app.conf.broker_url, app.conf.broker_transport_options)
    _reset_broker_pools(app)
    app.conf.broker_url, app.conf.broker_transport_options = _broker_settings_for(private_redis.url)
    settings.SUPPORTDESK = dataclasses.replace(
        settings.SUPPORTDESK,
        DEADLINE_TASKS=True,
        OUTBOX_TASKS=True,
        # The horizon is measured from the service's ``now``; tests file tickets with
        # ``now`` up to an hour in the past so that their deadlines fall seconds from now.
        DEADLINE_TASK_HORIZON_SECONDS=2 * 3600,
    )
    try:
        yield private_redis
    finally:
        _reset_broker_pools(app)
        app.conf.broker_url, app.conf.broker_transport_options = saved


def workers_database_url() -> str:
    """The test database as a URL, for the worker processes."""
    db = connection.settings_dict
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{credentials}{host}:{port}/{quote(str(db['NAME']), safe='')}"


@dataclass
class ManagedProcess:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group: the main process and its pool children."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def tail(self, lines: int = 40) -> str:
        return f"--- {self.name} ({self.log.name}) ---\n{_tail(self.log, lines)}"


@dataclass
class Cluster:
    """Celery workers and beats started as real processes against the test database."""

    root: Path
    redis: PrivateRedis
    database_url: str
    processes: list[ManagedProcess] = field(default_factory=list)
    _count: int = 0

    def environment(self, name: str, sweep_interval: float, **extra: str) -> dict[str, str]:
        data_dir = self.root / name
        data_dir.mkdir(parents=True, exist_ok=True)
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "supportdesk.settings",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis.url,
            "SUPPORTDESK_DATA_DIR": str(data_dir),
            "SWEEP_INTERVAL_SECONDS": str(sweep_interval),
            "DEADLINE_TASKS": "1",
            "OUTBOX_TASKS": "1",
            "EMAIL_URL": "locmem://",
            # Django's DEBUG keeps every query in memory: a worker must not run with it.
            "DEBUG": "0",
            **extra,
        }

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> ManagedProcess:
        log = self.root / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                argv,
                cwd=PROJECT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        process = ManagedProcess(name, popen, log)
        self.processes.append(process)
        return process

    def worker(
        self, *, sweep_interval: float = 30.0, ready: bool = True, **extra: str
    ) -> ManagedProcess:
        """The default worker (Procfile ``worker``): the sweep, deadlines, e-mail."""
        self._count += 1
        name = f"worker{self._count}"
        argv = [
            *(sys.executable, "-m", "celery", "--app", "supportdesk", "worker", "-Q", "celery"),
            *("--loglevel", "INFO", "--concurrency", "2", "--without-gossip", "--without-mingle"),
            *("--hostname", f"w{self._count}@%h"),
        ]
        return self._started(name, argv, sweep_interval, ready=ready, **extra)

    def webhooks_worker(
        self, *, sweep_interval: float = 30.0, ready: bool = True, **extra: str
    ) -> ManagedProcess:
        """The webhooks worker (Procfile ``webhooks``): only the sends, on threads."""
        self._count += 1
        name = f"webhooks{self._count}"
        argv = [
            *(sys.executable, "-m", "celery", "--app", "supportdesk", "worker", "-Q", "webhooks"),
            *("--pool", "threads", "--concurrency", "8", "--loglevel", "INFO"),
            *("--without-gossip", "--without-mingle", "--hostname", f"h{self._count}@%h"),
        ]
        return self._started(name, argv, sweep_interval, ready=ready, **extra)

    def _started(
        self, name: str, argv: list[str], sweep_interval: float, *, ready: bool, **extra: str
    ) -> ManagedProcess:
        process = self._spawn(name, argv, self.environment(name, sweep_interval, **extra))
        if ready:
            wait_until(
                lambda: self._ready(process),
                timeout=60,
                interval=0.1,
                what=f"{name} to be ready",
                logs=self.logs,
            )
        return process

    def _ready(self, process: ManagedProcess) -> bool:
        if not process.alive():
            raise AssertionError(f"{process.name} exited early\n{process.tail()}")
        return " ready." in process.log.read_text(encoding="utf-8", errors="replace")

    def beat(self, *, sweep_interval: float, **extra: str) -> ManagedProcess:
        self._count += 1
        name = f"beat{self._count}"
        env = self.environment(name, sweep_interval, **extra)
        schedule = Path(env["SUPPORTDESK_DATA_DIR"]) / "celerybeat-schedule"
        argv = [
            *(sys.executable, "-m", "celery", "--app", "supportdesk", "beat"),
            *("--loglevel", "INFO", "--schedule", str(schedule)),
        ]
        return self._spawn(name, argv, env)

    def manage(
        self, *args: str, timeout: float = 120, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        self._count += 1
        env = self.environment(f"manage{self._count}", 30.0, **extra)
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=PROJECT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def stop_all(self) -> None:
        for process in self.processes:
            process.kill()

    def logs(self) -> str:
        return "\n".join(p.tail() for p in self.processes) + "\n" + self.redis.tail()


@pytest.fixture
def cluster(
    request: pytest.FixtureRequest,
    transactional_db: None,
    publishing: PrivateRedis,
    tmp_path: Path,
) -> Iterator[Cluster]:
    # Depends on transactional_db so every process is dead before the tables are flushed.
    started = Cluster(tmp_path / "processes", publishing, workers_database_url())
    started.root.mkdir()
    try:
        yield started
    finally:
        started.stop_all()
        if request.node.stash.get(_FAILED, False):
            print(started.logs())


def due_tickets(world: World, count: int, *, now: datetime | None = None) -> list[int]:
    """``count`` Severity A tickets whose level-1 escalation is due, written in bulk.

    The first response lapsed a minute ago; the second escalation lies an hour ahead, so
    exactly one step (level 1) is due for each."""
    now = now or timezone.now()
    opened = now - timedelta(hours=1, minutes=1)
    due = now - timedelta(minutes=1)
    tickets = [
        Ticket(
            organization=world.org_a,
            title=f"Mail down {i}",
            description="Outbound mail is stuck in the outbox for everyone.",
            category="technical",
            impact="service_down",
            scope="many",
            severity="A",
            original_severity="A",
            status="new",
            contact_email="admin@alpha.test",
            created_at=opened,
            updated_at=opened,
            escalation_level=0,
            response_due_at=due,
            response_warning_at=None,
            second_escalation_at=now + timedelta(hours=1),
            next_action_at=due,
        )
        for i in range(count)
    ]
    created = Ticket.objects.bulk_create(tickets, batch_size=2000)
    return [t.pk for t in created]

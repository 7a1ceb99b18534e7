"""Where the time of one ``POST /api/v1/tickets/`` goes, next to the floor's.

Run from the project root with a PostgreSQL server (``sd_createprofile``, or
``--database``, on the URL's server is dropped, created and migrated; the URL's own
database is not touched):

    DATABASE_URL=postgres://postgres@127.0.0.1/postgres .venv/bin/python bench/create_profile.py

The same setup as ``bench/api.py`` (``bench.settings``, DEBUG off, a private redis-server
as cache and broker, one organization and its API key, the same payload), but one
process calls the WSGI application directly, one request at a time, so the figures are
the server's own work without the HTTP server or a competing client. It prints:

1. the median and mean wall time of the create and of the floor over ``--requests``
   requests each (alternating), and their ratio: the ceiling of ``bench/api.py``'s
   ratio on an idle machine;
2. the SQL statements of one create and of one floor request, with their times;
3. the create split into parts (authentication, throttle, parsing, validation, the
   service and its steps, commit, response, each middleware's own share): mean
   milliseconds per request, measured by wrapping those functions with a clock, so the
   parts carry a few microseconds of overhead each; ``self`` is the time of a part not
   spent in the parts listed under it;
4. with ``--cprofile FILE``, a cProfile of ``--requests`` creates into FILE.create and
   of as many floor requests into FILE.floor.
"""

from __future__ import annotations

import argparse
import functools
import gc
import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api import PAYLOAD, free_port, process, recreate_database, seed, wait_for_port  # noqa: E402

BODY = json.dumps(PAYLOAD).encode()


def log(message: str) -> None:
    print(f"[bench/create_profile] {message}", file=sys.stderr, flush=True)


class Clock:
    """Inclusive and own time of wrapped callables, per call path (a part called from two
    places is two rows)."""

    def __init__(self) -> None:
        self.enabled = False
        self.thread = threading.get_ident()
        self.reset()

    def reset(self) -> None:
        self.inclusive: dict[tuple[str, ...], float] = defaultdict(float)
        self.children: dict[tuple[str, ...], float] = defaultdict(float)
        self.calls: dict[tuple[str, ...], int] = defaultdict(int)
        self._stack: list[tuple[str, ...]] = [()]

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            # The outbox's publisher thread runs beside the request: its calls are not
            # the request's parts (its share shows as the request's waits).
            if not self.enabled or threading.get_ident() != self.thread:
                return function(*args, **kwargs)
            outer = self._stack[-1]
            path = (*outer, name)
            self._stack.append(path)
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                self._stack.pop()
                self.inclusive[path] += elapsed
                self.calls[path] += 1
                self.children[outer] += elapsed

        timed.__wrapped_by_clock__ = True  # type: ignore[attr-defined]
        return timed

    def patch(self, owner: Any, attribute: str, name: str | None = None) -> None:
        original = getattr(owner, attribute, None)
        if original is None:  # the code moved: say so rather than stop
            log(f"not timed: {getattr(owner, '__name__', owner)}.{attribute}")
            return
        if getattr(original, "__wrapped_by_clock__", False):
            return
        label = name or f"{getattr(owner, '__name__', owner)}.{attribute}"
        declared = vars(owner).get(attribute) if isinstance(owner, type) else None
        if isinstance(declared, classmethod):
            setattr(owner, attribute, classmethod(self.wrap(label, declared.__func__)))
        else:
            setattr(owner, attribute, self.wrap(label, original))

    def report(self, requests: int, total_ms: float) -> str:
        lines = [f"{'part':<66} {'ms/req':>7} {'self':>7} {'%':>5} {'calls':>5}"]

        def walk(parent: tuple[str, ...]) -> None:
            paths = [p for p in self.inclusive if p[:-1] == parent]
            for path in sorted(paths, key=lambda p: -self.inclusive[p]):
                inclusive = self.inclusive[path] * 1000 / requests
                own = (self.inclusive[path] - self.children[path]) * 1000 / requests
                label = "  " * (len(path) - 1) + path[-1]
                lines.append(
                    f"{label:<66} {inclusive:7.3f} {own:7.3f} "
                    f"{100 * inclusive / total_ms:5.1f} {self.calls[path] / requests:5.2f}"
                )
                walk(path)

        walk(())
        return "\n".join(lines)


class GarbageCollections:
    """Time spent in the cyclic garbage collector, by generation (part of the parts
    above, wherever a collection happened to start)."""

    def __init__(self) -> None:
        self.started = 0.0
        self.seconds: dict[int, float] = defaultdict(float)
        self.count: dict[int, int] = defaultdict(int)

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
        else:
            self.seconds[info["generation"]] += time.perf_counter() - self.started
            self.count[info["generation"]] += 1

    def report(self, requests: int) -> str:
        return "garbage collector: " + ", ".join(
            f"gen{g} {self.count[g] / requests:.3f}/req {self.seconds[g] * 1000 / requests:.3f} "
            f"ms/req ({self.seconds[g] * 1000 / max(self.count[g], 1):.2f} ms each)"
            for g in sorted(self.count)
        )


class CpuMeter:
    """CPU seconds of this process (the application and its publisher thread), of its
    PostgreSQL backend and of the redis-server: less sensitive than wall time to other
    work on the machine. The backend's figure has the kernel's tick resolution (10 ms);
    it adds up over many blocks."""

    def __init__(self, redis_port: int) -> None:
        import redis
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.backend = int(cursor.fetchone()[0])
        self.redis = redis.Redis(port=redis_port)
        self.tick = os.sysconf("SC_CLK_TCK")

    def read(self) -> dict[str, float]:
        stat = Path(f"/proc/{self.backend}/stat").read_text().rsplit(")", 1)[1].split()
        info = self.redis.info("cpu")
        return {
            "app": time.process_time(),
            "postgres": (int(stat[11]) + int(stat[12])) / self.tick,
            "redis": float(info["used_cpu_sys"]) + float(info["used_cpu_user"]),
        }

    def since(self, before: dict[str, float]) -> dict[str, float]:
        now = self.read()
        return {part: now[part] - before[part] for part in now}


def instrument(clock: Clock) -> None:
    """Wrap the parts of the create path (and each middleware) with the clock."""
    from django.conf import settings
    from django.core.handlers.base import BaseHandler
    from django.db import connections, transaction
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.utils import CursorWrapper
    from django.db.models import Model
    from django.db.models.sql.compiler import SQLCompiler, SQLInsertCompiler
    from django.utils.module_loading import import_string
    from phonenumber_field import serializerfields as phone_fields
    from rest_framework import relations, renderers, views
    from rest_framework.fields import EmailField
    from rest_framework.negotiation import DefaultContentNegotiation
    from rest_framework.permissions import IsAuthenticated

    from bench import floor_urls
    from core import api_errors, metrics, observability
    from tenants import api_keys, api_tenancy, credentials
    from tickets import clocks, events, intake, outbox, scheduling, services
    from tickets import serializers as io
    from tickets.api import customer

    for dotted in settings.MIDDLEWARE:
        middleware = import_string(dotted)
        clock.patch(middleware, "__call__", f"middleware {middleware.__name__}")
    clock.patch(BaseHandler, "_get_response", "handler (resolve URL, call view)")
    clock.patch(views.APIView, "initialize_request", "DRF Request")
    clock.patch(views.APIView, "initial", "DRF initial (auth, permissions, throttle)")
    clock.patch(DefaultContentNegotiation, "select_renderer", "content negotiation")
    clock.patch(api_keys.BearerAuthentication, "authenticate", "auth: API key")
    clock.patch(credentials.ApiKey, "matches", "auth: hash compare")
    clock.patch(credentials.ApiKey, "touch", "auth: touch last_used_at")
    clock.patch(IsAuthenticated, "has_permission", "permission: IsAuthenticated")
    clock.patch(api_tenancy.IsTenantAdmin, "has_permission", "permission: IsTenantAdmin")
    clock.patch(api_keys.CredentialRateThrottle, "allow_request", "throttle (Redis INCR)")
    clock.patch(customer.TicketListCreate, "post", "view post")
    clock.patch(customer, "idempotent", "idempotency (no header: pass-through)")
    clock.patch(customer.TicketListCreate, "_create", "create")
    clock.patch(api_errors.LimitedJSONParser, "parse", "parse JSON body")
    clock.patch(io.TicketCreateIn, "is_valid", "serializer validation")
    clock.patch(relations.SlugRelatedField, "to_internal_value", "product slug (SELECT)")
    clock.patch(phone_fields.PhoneNumberField, "to_internal_value", "phone parsing")
    clock.patch(EmailField, "to_internal_value", "e-mail field")
    clock.patch(customer, "tenant_actor", "actor")
    clock.patch(services, "ticket_create", "service ticket_create")
    clock.patch(intake.TicketDraft, "cleaned", "draft.cleaned")
    clock.patch(intake, "draft_problems", "intake.draft_problems")
    clock.patch(intake, "assess_draft", "intake.assess_draft")
    clock.patch(Model, "full_clean", "Ticket.full_clean (field limits)")
    clock.patch(services, "opening_clocks", "opening_clocks")
    clock.patch(clocks, "target_for", "SLA target lookup")
    clock.patch(clocks, "ticket_calendar", "business calendar lookup")
    clock.patch(clocks, "compute_clocks", "clock arithmetic")
    clock.patch(Model, "save", "INSERT (Model.save)")
    clock.patch(events, "record", "Event INSERT + queue delivery")
    clock.patch(events, "queue_delivery", "queue delivery (on_commit)")
    clock.patch(services, "schedule_deadline", "schedule deadline (on_commit)")
    clock.patch(transaction.Atomic, "__enter__", "transaction BEGIN/savepoint")
    clock.patch(transaction.Atomic, "__exit__", "transaction COMMIT + on_commit callbacks")
    clock.patch(outbox, "_publish", "publish delivery task (Celery)")
    clock.patch(outbox._BatchPublisher, "submit", "hand ids to the publisher thread")
    clock.patch(scheduling, "_publish", "publish deadline task (Celery)")
    clock.patch(customer.io, "ticket_data", "response data (ticket_data)")
    clock.patch(views.APIView, "finalize_response", "DRF finalize_response")
    clock.patch(renderers.JSONRenderer, "render", "JSON render")
    clock.patch(metrics, "observe_request", "metrics: observe_request")
    clock.patch(observability.access_log, "info", "access log line")
    clock.patch(floor_urls.BenchFloorView, "post", "floor view post")
    # Each statement's share: compiling it, the round trip, building the model instances.
    clock.patch(SQLCompiler, "as_sql", "SQL compile (SELECT)")
    clock.patch(SQLInsertCompiler, "as_sql", "SQL compile (INSERT)")
    clock.patch(CursorWrapper, "execute", "database round trip")
    clock.patch(BaseDatabaseWrapper, "commit", "database round trip (COMMIT)")
    clock.patch(Model, "from_db", "model instances from rows")
    # Once per request, before its first query (CONN_HEALTH_CHECKS): a SELECT 1.
    clock.patch(type(connections["default"]), "is_usable", "database health check")


def environ(path: str, headers: dict[str, str]) -> dict[str, Any]:
    env = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(BODY)),
        "HTTP_HOST": "127.0.0.1",
        "wsgi.input": io.BytesIO(BODY),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    for name, value in headers.items():
        env[f"HTTP_{name.upper().replace('-', '_')}"] = value
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="sd_createprofile")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--cprofile", metavar="FILE")
    parser.add_argument(
        "--gc-freeze", action="store_true", help="gc.freeze() after the warm-up, as a server might"
    )
    options = parser.parse_args()

    source = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if urlsplit(source).path.lstrip("/") == options.database:
        raise SystemExit("point DATABASE_URL at another database; the bench drops its own")
    database = recreate_database(source, options.database)
    redis_port = free_port()
    data_dir = tempfile.mkdtemp(prefix="createprofile-")
    env = {
        "DATABASE_URL": database,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "DEBUG": "0",
        "SUPPORTDESK_DATA_DIR": data_dir,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "API_THROTTLE_RATE": "100000000/min",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    redis_args = ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", ""]
    with process(redis_args, {**os.environ, **env}, "redis") as redis:
        wait_for_port(redis_port, redis, "redis")
        secret, organization_id = seed({**os.environ, **env})
        os.environ.update(env)
        import django

        django.setup()
        from django.core.wsgi import get_wsgi_application
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        # Wrapped before the handler is built: it keeps a bound _get_response. Until the
        # clock is enabled a wrapper costs one attribute test.
        clock = Clock()
        instrument(clock)
        application = get_wsgi_application()
        ours = ("/api/v1/tickets/", {"Authorization": f"Bearer {secret}"})
        floor = ("/api/v1/bench/floor/", {"X-Bench-Organization": str(organization_id)})

        def call(target: tuple[str, dict[str, str]]) -> float:
            statuses: list[str] = []
            started = time.perf_counter()
            chunks = application(environ(*target), lambda s, h, e=None: statuses.append(s))
            b"".join(chunks)
            getattr(chunks, "close", lambda: None)()
            elapsed = time.perf_counter() - started
            if not statuses[0].startswith("201"):
                raise SystemExit(f"{target[0]} answered {statuses[0]}")
            return elapsed * 1000

        log("warming up")
        for _ in range(100):
            call(ours)
            call(floor)
        if options.gc_freeze:
            gc.freeze()
        times: dict[str, list[float]] = {"ours": [], "floor": []}
        cpu: dict[str, dict[str, float]] = {side: defaultdict(float) for side in ("ours", "floor")}
        meter = CpuMeter(redis_port)
        block = 20  # alternating blocks: a change of load on the machine meets both sides
        for _ in range(max(1, options.requests // block)):
            for side, target in (("ours", ours), ("floor", floor)):
                before = meter.read()
                times[side].extend(call(target) for _ in range(block))
                for part, seconds in meter.since(before).items():
                    cpu[side][part] += seconds
        ours_median = statistics.median(times["ours"])
        floor_median = statistics.median(times["floor"])
        print("== wall time per request, one at a time (ms)")
        for side in ("ours", "floor"):
            print(
                f"{side:>6}: median {statistics.median(times[side]):.2f}  "
                f"mean {statistics.mean(times[side]):.2f}"
            )
        print(f" ratio (floor median / ours median): {floor_median / ours_median:.3f}")
        print("== CPU time per request (ms): what the machine spends, whoever waits")
        total = {}
        for side in ("ours", "floor"):
            count = len(times[side])
            total[side] = sum(cpu[side].values()) * 1000 / count
            parts = "  ".join(f"{k} {v * 1000 / count:.2f}" for k, v in cpu[side].items())
            print(f"{side:>6}: {total[side]:.2f}  ({parts})")
        print(f" ratio (floor CPU / ours CPU): {total['floor'] / total['ours']:.3f}")

        for side, target in (("create", ours), ("floor", floor)):
            with CaptureQueriesContext(connection) as captured:
                call(target)
            print(f"\n== SQL of one {side} request ({len(captured.captured_queries)} statements)")
            for query in captured.captured_queries:
                print(f"  {float(query['time']) * 1000:6.2f} ms  {query['sql'][:160]}")

        for side, target in (("create", ours), ("floor", floor)):
            clock.reset()
            collections = GarbageCollections()
            clock.enabled = True
            gc.callbacks.append(collections)
            totals = [call(target) for _ in range(options.requests)]
            gc.callbacks.remove(collections)
            clock.enabled = False
            mean = statistics.mean(totals)
            print(f"\n== the {side} in parts (mean of {options.requests}; {mean:.2f} ms/request)")
            print(clock.report(options.requests, mean))
            print(collections.report(options.requests))

        if options.cprofile:
            import cProfile

            for side, target in (("create", ours), ("floor", floor)):
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(options.requests):
                    call(target)
                profiler.disable()
                profiler.dump_stats(f"{options.cprofile}.{side}")
                log(f"cProfile written to {options.cprofile}.{side}")
        connection.close()


if __name__ == "__main__":
    main()

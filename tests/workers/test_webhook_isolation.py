"""Workers tier, the webhook fault drill (issue 17, probe finding 6): one tenant's slow
endpoints must not delay another tenant's webhooks, the sweep or the e-mail.

Organization A registers ten endpoints that each answer after 4 s and floods them with
requests; organization B has one endpoint that answers at once. With the production
shape (the default worker for the sweep and e-mail, the ``webhooks`` worker for the
sends) B's webhook, B's e-mail and a sweep queued during the flood each take well under
3 s, while every A endpoint is sent to one delivery at a time and A holds at most its
share of the webhooks worker. The figures are printed as one JSON line.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from supportdesk.celery import SWEEP_TASK, app
from tests.conftest import World
from tests.workers.conftest import Cluster, wait_until
from tickets.models import OutgoingMail, WorkerHeartbeat
from webhooks import services
from webhooks.models import WebhookEventType

pytestmark = [
    pytest.mark.workers,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

SLOW_SECONDS = 4.0
SLOW_ENDPOINTS = 10
# Requests A files before B's, one commit each (each its own outbox task).
FLOOD = 8
# What "not delayed" means on a machine other test runs share: B's request answered
# at once takes about 0.1 s on an idle machine.
WITHIN_SECONDS = 3.0
# How long the drill waits for each figure before calling it lost.
GIVE_UP_SECONDS = 90.0


@dataclass
class Hooks:
    """A local HTTP server: ``/slow/<n>`` answers after SLOW_SECONDS, ``/fast`` at once.
    It records when each request arrived and how many were in flight per path."""

    base: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrivals: list[tuple[float, str, str]] = field(default_factory=list)  # (t, path, org)
    in_flight: Counter[str] = field(default_factory=Counter)
    max_in_flight: Counter[str] = field(default_factory=Counter)
    slow_now: int = 0
    max_slow_at_once: int = 0

    def arrived(self, path: str, organization: str) -> float | None:
        with self.lock:
            return next((t for t, p, o in self.arrivals if p == path and o == organization), None)

    def count(self, prefix: str) -> int:
        with self.lock:
            return sum(1 for _t, p, _o in self.arrivals if p.startswith(prefix))


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    state = Hooks()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            organization = json.loads(body).get("organization", "")
            slow = self.path.startswith("/slow/")
            with state.lock:
                state.arrivals.append((time.monotonic(), self.path, organization))
                state.in_flight[self.path] += 1
                state.max_in_flight[self.path] = max(
                    state.max_in_flight[self.path], state.in_flight[self.path]
                )
                if slow:
                    state.slow_now += 1
                    state.max_slow_at_once = max(state.max_slow_at_once, state.slow_now)
            try:
                if slow:
                    time.sleep(SLOW_SECONDS)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
            finally:
                with state.lock:
                    state.in_flight[self.path] -= 1
                    if slow:
                        state.slow_now -= 1

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128

    server = Server(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def _timings(
    conditions: dict[str, Callable[[], object]], started: float
) -> dict[str, float | None]:
    """Seconds from ``started`` until each condition first held (polled together), or
    None for one that did not within GIVE_UP_SECONDS."""
    seen: dict[str, float | None] = dict.fromkeys(conditions)
    while time.monotonic() - started < GIVE_UP_SECONDS:
        for name, condition in conditions.items():
            if seen[name] is None and condition():
                seen[name] = round(time.monotonic() - started, 2)
        if all(value is not None for value in seen.values()):
            break
        time.sleep(0.05)
    return seen


def test_slow_endpoints_of_one_tenant_delay_nobody_else(
    world: World, cluster: Cluster, hooks: Hooks
) -> None:
    everything = list(WebhookEventType.values)
    now = timezone.now()
    for n in range(SLOW_ENDPOINTS):
        services.endpoint_create(
            organization=world.org_a, url=f"{hooks.base}/slow/{n}", event_types=everything,
            description=f"slow {n}", created_by=None, now=now,
        )  # fmt: skip
    services.endpoint_create(
        organization=world.org_b, url=f"{hooks.base}/fast", event_types=everything,
        description="fast", created_by=None, now=now,
    )  # fmt: skip
    cluster.worker()
    cluster.webhooks_worker()

    # The flood: A's requests one commit at a time, each its own outbox task.
    for i in range(FLOOD):
        world.file(world.admin_a, now=timezone.now(), title=f"Flood {i}")
        time.sleep(0.1)
    wait_until(
        lambda: hooks.count("/slow/") >= 2, timeout=60, what="A's first sends", logs=cluster.logs
    )
    time.sleep(1.0)  # the flood is under way

    started = time.monotonic()
    since = timezone.now()
    ticket_b = world.file(world.admin_b, now=since, title="Tenant B's request")
    app.send_task(SWEEP_TASK, retry=False)

    def b_webhook() -> float | None:
        return hooks.arrived("/fast", world.org_b.slug)

    def b_email() -> bool:
        return OutgoingMail.objects.filter(ticket=ticket_b).exists()

    def swept() -> bool:
        return WorkerHeartbeat.objects.filter(name="sweep", last_run_at__gte=since).exists()

    took = _timings({"webhook": b_webhook, "email": b_email, "sweep": swept}, started)
    webhook_s, email_s, sweep_s = took["webhook"], took["email"], took["sweep"]
    # A is served all along, WEBHOOK_ORGANIZATION_CONCURRENCY sends at a time: each send
    # that finishes queues A's next.
    a_rounds_s = _timings({"a": lambda: hooks.count("/slow/") >= 3 * 4}, started)["a"]
    figures = {
        "drill": "webhooks",
        "slow_endpoints": SLOW_ENDPOINTS,
        "slow_seconds": SLOW_SECONDS,
        "flood_requests": FLOOD,
        "b_webhook_s": webhook_s,
        "b_email_s": email_s,
        "sweep_s": sweep_s,
        "a_12_sends_s": a_rounds_s,
        "a_sends_so_far": hooks.count("/slow/"),
        "max_in_flight_per_endpoint": max(
            (n for p, n in hooks.max_in_flight.items() if p.startswith("/slow/")), default=0
        ),
        "max_a_sends_at_once": hooks.max_slow_at_once,
    }
    print(json.dumps(figures))
    if None in took.values():
        print(cluster.logs())

    assert webhook_s is not None and webhook_s < WITHIN_SECONDS, figures
    assert email_s is not None and email_s < WITHIN_SECONDS, figures
    assert sweep_s is not None and sweep_s < WITHIN_SECONDS, figures
    # One delivery at a time per endpoint, and A never holds the whole webhooks worker.
    assert figures["max_in_flight_per_endpoint"] == 1, figures
    assert hooks.max_slow_at_once <= 4, figures
    assert a_rounds_s is not None, figures

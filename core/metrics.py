"""Prometheus metrics: ``/metrics`` for the operator's scraper, restricted.

Two kinds of figures:

- **Events counted where they happen** (request latency, SLA steps taken, PIN outcomes,
  webhook failures): prometheus_client counters and histograms. Web and worker run in
  several processes; with ``PROMETHEUS_MULTIPROC_DIR`` set (one directory shared by the
  processes of a host, emptied at start — the Procfile and docker-compose do it) the
  endpoint adds them up across processes. Without it each process reports its own.
- **State read from the database at scrape time** (open tickets per severity, breached
  tickets, sweep lag, failed webhook deliveries): the database is the truth, so these are
  right whichever process answers, and cost a few indexed counts per scrape.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.registry import Collector

REQUEST_LATENCY = Histogram(
    "supportdesk_http_request_duration_seconds",
    "Time to answer an HTTP request, by route name and status class.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SLA_STEPS = Counter(
    "supportdesk_sla_steps_total",
    "SLA steps the workers took: warning, escalation (breach), downgrade, reminder.",
    ["kind"],
)
PIN_OUTCOMES = Counter(
    "supportdesk_pin_events_total",
    "Phone verification events by kind (code sent, accepted, rejected, locked...).",
    ["kind"],
)
WEBHOOK_FAILURES = Counter(
    "supportdesk_webhook_failures_total",
    "Webhook delivery attempts that did not get a 2xx answer.",
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUEST_LATENCY.labels(method, route, f"{status // 100}xx").observe(seconds)


def count_sla_steps(*, warnings: int, escalations: int, downgrades: int, reminders: int) -> None:
    for kind, amount in (
        ("warning", warnings),
        ("escalation", escalations),
        ("downgrade", downgrades),
        ("reminder", reminders),
    ):
        if amount:
            SLA_STEPS.labels(kind).inc(amount)


# Collectors of state read from the database at scrape time, registered by the apps that
# own the state (``AppConfig.ready``): this module imports no app.
_state_collectors: list[Callable[[], Collector]] = []


def register_state(factory: Callable[[], Collector]) -> None:
    if factory not in _state_collectors:
        _state_collectors.append(factory)


def _allowed(request: HttpRequest) -> bool:
    """A bearer token (constant-time compare) or an allowed address; staff may look too."""
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header.removeprefix("Bearer ").encode(), token.encode())
    if request.META.get("REMOTE_ADDR") in settings.METRICS_ALLOWED_IPS:
        return True
    user = getattr(request, "user", None)
    return bool(user and user.is_authenticated and user.is_staff)


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    # 404, not 403: the endpoint's existence is nobody else's business.
    if not _allowed(request):
        return HttpResponseNotFound()
    state = CollectorRegistry(auto_describe=True)
    for factory in _state_collectors:
        state.register(factory())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        events = CollectorRegistry()
        multiprocess.MultiProcessCollector(events)
    else:
        events = REGISTRY
    body = generate_latest(events) + generate_latest(state)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)

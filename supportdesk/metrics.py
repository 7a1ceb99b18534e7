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
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
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


class DatabaseState(Collector):
    """Gauges read from the database when scraped."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.db.models import Count

        from severity.models import WorkerHeartbeat
        from severity.sweep import SWEEP
        from tickets.models import Status, Ticket

        now = timezone.now()
        open_tickets = GaugeMetricFamily(
            "supportdesk_open_tickets",
            "Active tickets (new, open, waiting on the customer) by severity and status.",
            labels=["severity", "status"],
        )
        counts = (
            Ticket.objects.active()
            .values("severity", "status")
            .annotate(n=Count("*"))
            .order_by("severity", "status")
        )
        for row in counts:
            open_tickets.add_metric([row["severity"], row["status"]], row["n"])
        yield open_tickets

        breached = GaugeMetricFamily(
            "supportdesk_breached_tickets",
            "Tickets waiting on support whose response deadline has passed, by severity.",
            labels=["severity"],
        )
        late = (
            Ticket.objects.filter(status__in=(Status.NEW, Status.OPEN), response_due_at__lt=now)
            .values("severity")
            .annotate(n=Count("*"))
            .order_by("severity")
        )
        for row in late:
            breached.add_metric([row["severity"]], row["n"])
        yield breached

        heartbeat = WorkerHeartbeat.objects.filter(name=SWEEP).first()
        lag = GaugeMetricFamily(
            "supportdesk_sweep_lag_seconds",
            "Seconds since the SLA sweep last finished (-1: it never ran).",
        )
        lag.add_metric([], (now - heartbeat.last_run_at).total_seconds() if heartbeat else -1)
        yield lag

        failed = _failed_webhook_deliveries()
        if failed is not None:
            gauge = GaugeMetricFamily(
                "supportdesk_webhook_deliveries_failed",
                "Webhook deliveries that gave up after their retries.",
            )
            gauge.add_metric([], failed)
            yield gauge


def _failed_webhook_deliveries() -> int | None:
    from django.apps import apps

    try:
        delivery = apps.get_model("webhooks", "WebhookDelivery")
    except LookupError:
        return None
    return delivery.objects.filter(status="failed").count()


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
    state.register(DatabaseState())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        events = CollectorRegistry()
        multiprocess.MultiProcessCollector(events)
    else:
        events = REGISTRY
    body = generate_latest(events) + generate_latest(state)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)

"""Is the sweep alive, and how do the tickets stand? Read by /healthz, the desk's banner
and /metrics (``TicketState``, registered in ``TicketsConfig.ready``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from tickets.models import Ticket, WorkerHeartbeat

# The heartbeat's name of the periodic sweep.
SWEEP = "sweep"
# The sweep is stale when it has missed this many intervals in a row.
STALE_AFTER_INTERVALS = 3


@dataclass(frozen=True, slots=True)
class SweepStatus:
    last_run_at: datetime | None
    age: timedelta | None
    stale: bool
    interval: timedelta


def sweep_status(*, now: datetime) -> SweepStatus:
    interval = timedelta(seconds=settings.SUPPORTDESK.SWEEP_INTERVAL_SECONDS)
    last = WorkerHeartbeat.objects.filter(name=SWEEP).values_list("last_run_at", flat=True).first()
    if last is None:
        return SweepStatus(None, None, True, interval)
    age = max(now - last, timedelta(0))
    return SweepStatus(last, age, age > STALE_AFTER_INTERVALS * interval, interval)


# The desk's banner asks on every page; the heartbeat moves once a sweep interval. The
# banner's reading is cached this long, and dropped when a heartbeat is written
# (tickets.receivers); /healthz always reads the row.
BANNER_KEY = "desk:sweep-status"
BANNER_SECONDS = 5


def banner_sweep_status(*, now: datetime) -> SweepStatus:
    """sweep_status for the desk's banner: at most BANNER_SECONDS old."""
    cached: SweepStatus | None = cache.get(BANNER_KEY)
    if cached is not None:
        return cached
    status = sweep_status(now=now)
    cache.set(BANNER_KEY, status, BANNER_SECONDS)
    return status


def forget_banner_sweep_status() -> None:
    """Drop the banner's reading: now, and once the heartbeat's write is committed."""
    cache.delete(BANNER_KEY)
    transaction.on_commit(lambda: cache.delete(BANNER_KEY))


class TicketState(Collector):
    """Gauges read from the database when scraped: open and breached tickets, sweep lag."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
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
            Ticket.objects.response_due_before(now)
            .exclude(response_due_at=now)
            .values("severity")
            .annotate(n=Count("*"))
            .order_by("severity")
        )
        for late_row in late:
            breached.add_metric([late_row["severity"]], late_row["n"])
        yield breached

        heartbeat = WorkerHeartbeat.objects.filter(name=SWEEP).first()
        lag = GaugeMetricFamily(
            "supportdesk_sweep_lag_seconds",
            "Seconds since the SLA sweep last finished (-1: it never ran).",
        )
        lag.add_metric([], (now - heartbeat.last_run_at).total_seconds() if heartbeat else -1)
        yield lag

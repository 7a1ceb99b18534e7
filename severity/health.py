"""Is the sweep alive? Read by /healthz and the desk's banner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from severity.models import WorkerHeartbeat

# The sweep is stale when it has missed this many intervals in a row.
STALE_AFTER_INTERVALS = 3


@dataclass(frozen=True, slots=True)
class SweepStatus:
    last_run_at: datetime | None
    age: timedelta | None
    stale: bool
    interval: timedelta


def sweep_status(*, now: datetime) -> SweepStatus:
    interval = timedelta(seconds=settings.SUPPORTDESK["SWEEP_INTERVAL_SECONDS"])
    last = (
        WorkerHeartbeat.objects.filter(name="sweep").values_list("last_run_at", flat=True).first()
    )
    if last is None:
        return SweepStatus(None, None, True, interval)
    age = max(now - last, timedelta(0))
    return SweepStatus(last, age, age > STALE_AFTER_INTERVALS * interval, interval)

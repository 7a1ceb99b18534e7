"""Workers tier: a worker that starts sweeps at once, so ``/healthz`` is healthy within
seconds of a fresh start rather than after beat's first interval."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.utils import timezone

from tests.workers.conftest import Cluster, wait_until
from tickets.health import SWEEP
from tickets.models import WorkerHeartbeat

pytestmark = [
    pytest.mark.workers,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def test_a_starting_worker_sweeps_at_once_and_healthz_turns_healthy(
    cluster: Cluster, client: Client
) -> None:
    assert client.get("/healthz").status_code == 503  # no sweep has ever run
    started = time.monotonic()
    # No beat at all, and an interval far longer than the test: only the worker's own
    # start can have swept.
    cluster.worker(sweep_interval=600)
    wait_until(
        lambda: WorkerHeartbeat.objects.filter(name=SWEEP).exists(),
        timeout=20,
        interval=0.1,
        what="the first sweep's heartbeat",
        logs=cluster.logs,
    )
    assert time.monotonic() - started < 30
    beat = WorkerHeartbeat.objects.get(name=SWEEP)
    assert (timezone.now() - beat.last_run_at).total_seconds() < 30
    assert "first sweep queued at worker start" in cluster.logs()
    assert client.get("/healthz").status_code == 200, client.get("/healthz").content

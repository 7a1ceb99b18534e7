"""/healthz and the desk's worker banner read the sweep's heartbeat."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from supportdesk import health
from tests.conftest import World
from tickets.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db


def beat(age: timedelta) -> None:
    WorkerHeartbeat.objects.update_or_create(
        name="sweep", defaults={"last_run_at": timezone.now() - age}
    )


def test_healthy_when_the_sweep_is_fresh(client: Client) -> None:
    beat(timedelta(seconds=5))
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["database"], body["broker"]) == ("ok", "ok", "ok")
    assert body["sweep"]["stale"] is False


def test_unhealthy_when_no_sweep_ever_ran(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["sweep"]["last_run_at"] is None


def test_unhealthy_after_three_missed_intervals(client: Client, settings: object) -> None:
    interval = settings.SUPPORTDESK.SWEEP_INTERVAL_SECONDS  # type: ignore[attr-defined]
    beat(timedelta(seconds=3 * interval - 5))
    assert client.get("/healthz").status_code == 200
    beat(timedelta(seconds=3 * interval + 5))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["sweep"]["stale"] is True


def test_unhealthy_when_the_broker_is_down(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    beat(timedelta(seconds=1))
    monkeypatch.setattr(health, "_broker", lambda: "error: OperationalError")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"] == "error: OperationalError"


def test_healthz_refuses_writes(client: Client) -> None:
    assert client.post("/healthz").status_code == 405


def test_desk_warns_when_the_workers_are_stale(world: World, client: Client) -> None:
    client.force_login(world.agent)
    beat(timedelta(hours=1))
    assert b"The SLA workers are not running." in client.get("/desk/").content
    beat(timedelta(seconds=1))
    assert b"The SLA workers are not running." not in client.get("/desk/").content

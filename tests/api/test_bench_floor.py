"""The benchmark's unauthenticated floor view (``bench/floor_urls.py``) is served only
under ``bench.settings``; the production URLconf has no such route."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import resolve

from tests.api.conftest import NEW_TICKET
from tests.conftest import World
from tickets.models import Ticket

FLOOR = "/api/v1/bench/floor/"


def test_production_urlconf_does_not_route_the_floor() -> None:
    assert resolve(FLOOR).url_name == "not-found"


@pytest.mark.django_db
def test_the_floor_is_a_404_in_production_and_writes_nothing(world: World, client: Client) -> None:
    response = client.post(
        FLOOR, NEW_TICKET, content_type="application/json",
        headers={"X-Bench-Organization": str(world.org_a.pk)},
    )  # fmt: skip
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not Ticket.objects.exists()


@override_settings(ROOT_URLCONF="bench.floor_urls")
def test_the_bench_urlconf_routes_the_floor_and_keeps_the_production_routes() -> None:
    assert resolve(FLOOR).url_name == "bench-floor"
    assert resolve("/api/v1/tickets/").url_name == "ticket-list"

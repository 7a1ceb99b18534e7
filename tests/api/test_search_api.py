"""``q`` on the customer API's request list (issue 16): ranked, one organization only,
paged by the ranking, documented."""

from __future__ import annotations

from datetime import timedelta

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from tests.api.conftest import Keys
from tests.conftest import T0, World
from tickets import services
from tickets.actors import Actor
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def _close(world: World, ticket: Ticket) -> Ticket:
    agent = Actor.for_user(world.agent)
    services.ticket_resolve(ticket=ticket, actor=agent, reason="Fixed.", now=T0)
    return services.ticket_close(ticket=Ticket.objects.get(pk=ticket.pk), actor=agent, now=T0)


def test_the_api_q_ranks_and_stays_in_the_organization(
    world: World, keys: Keys, client_a: APIClient
) -> None:
    described = world.file(title="Mail stuck", description="The scanner stopped.")
    titled = _close(world, world.file(title="Scanner offline", description="Nothing."))
    world.file(world.admin_b, title="Scanner offline")
    response = client_a.get("/api/v1/tickets/", {"q": "scanner"})
    assert response.status_code == 200
    body = response.json()
    assert [t["number"] for t in body["results"]] == [titled.reference, described.reference]
    assert body["next"] is None
    assert client_a.get("/api/v1/tickets/", {"q": "nothing-like-this"}).json()["results"] == []


def test_the_api_q_pages_the_ranking(world: World, keys: Keys, client_a: APIClient) -> None:
    for i in range(5):
        world.file(title=f"Quota warning {i}")
    first = client_a.get("/api/v1/tickets/", {"q": "quota", "page_size": "2"}).json()
    second = client_a.get(first["next"]).json()
    third = client_a.get(second["next"]).json()
    seen = [t["number"] for page in (first, second, third) for t in page["results"]]
    assert len(seen) == len(set(seen)) == 5
    assert third["next"] is None and third["previous"]


def test_the_api_q_with_ordering_sorts_the_matches(
    world: World, keys: Keys, client_a: APIClient
) -> None:
    old = world.file(title="Quota warning", now=T0 - timedelta(days=1))
    new = world.file(title="Quota warning again", now=T0)
    body = client_a.get("/api/v1/tickets/", {"q": "quota", "ordering": "created_at"}).json()
    assert [t["number"] for t in body["results"]] == [old.reference, new.reference]


def test_the_schema_documents_q() -> None:
    document = SchemaGenerator().get_schema(request=None, public=True)
    parameters = document["paths"]["/api/v1/tickets/"]["get"]["parameters"]
    [q] = [p for p in parameters if p["name"] == "q"]
    assert q["in"] == "query" and q["schema"]["type"] == "string"
    assert "best match first" in q["description"]

"""The desk API's stale-reply guard: ``based_on_event`` and the 409 with the newer Events."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.api.conftest import Keys
from tests.conftest import World
from tickets import services
from tickets.actors import Actor

pytestmark = pytest.mark.django_db


def test_a_reply_based_on_an_old_event_is_refused_with_the_news(
    world: World, keys: Keys, agent_client: APIClient
) -> None:
    ticket = world.file()
    url = f"/api/v1/desk/tickets/{ticket.reference}/replies/"
    seen = agent_client.get(f"/api/v1/desk/tickets/{ticket.reference}/").json()["latest_event"]
    assert isinstance(seen, int)
    services.ticket_customer_reply(
        ticket=ticket, actor=Actor.for_member(world.admin_a), body="More", now=timezone.now()
    )
    held = agent_client.post(url, {"body": "Late", "based_on_event": seen}, format="json")
    assert held.status_code == 409
    answer = held.json()
    assert answer["code"] == "stale"
    assert [e["kind"] for e in answer["events"]] == ["customer_replied"]
    assert answer["events"][0]["message"] == ticket.messages.get().pk
    assert not ticket.messages.filter(body="Late").exists()
    # A note ignores the mark; without it a reply goes out.
    note = {"kind": "note", "body": "fyi", "based_on_event": seen}
    assert agent_client.post(url, note, format="json").status_code == 201
    assert agent_client.post(url, {"body": "Late"}, format="json").status_code == 201
    latest = agent_client.get(f"/api/v1/desk/tickets/{ticket.reference}/").json()["latest_event"]
    fresh = {"body": "On time", "based_on_event": latest}
    assert agent_client.post(url, fresh, format="json").status_code == 201


def test_the_schema_documents_the_stale_answer(client: object) -> None:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/desk/tickets/{number}/replies/"]["post"]
    conflict = operation["responses"]["409"]["content"]["application/json"]
    assert "StaleReplyOut" in conflict["schema"]["$ref"]
    body = schema["components"]["schemas"]["DeskReplyInRequest"]["properties"]
    assert "based_on_event" in body

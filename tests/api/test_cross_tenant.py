"""The cross-tenant probe (DESIGN.md "Tenancy") over every operation of the OpenAPI schema.

Organization A's API key calls every operation with organization B's ids (its ticket
number, webhook endpoint and delivery, and a call of B's agent): every answer is 404,
none carries B's data, and B's rows are unchanged. Operations without ids answer with
A's own data only. An operation the probe does not know fails the test, so a new route
cannot skip the probe.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from tenants.models import RegisteredPhone
from tests.api.conftest import Keys
from tests.conftest import World
from tests.factories import AgentFactory
from tickets.models import Attachment, Event, Message, Ticket
from tickets.services import ticket_agent_reply
from verification.models import Call
from verification.services import call_start
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import deliveries_for_events, endpoint_create

B_TITLE = "Bravo-only outage 7f3c"
B_URL = "http://127.0.0.1:9/bravo-hook-7f3c"

# Operations without ids: the statuses A's key may get, beside "none of B's data".
WITHOUT_IDS: dict[str, set[int]] = {
    "GET /api/v1/tickets/": {200},
    "POST /api/v1/tickets/": {201},
    "POST /api/v1/severity/assess/": {200},
    "GET /api/v1/health/incidents/": {200},
    "GET /api/v1/articles/": {200},
    "GET /api/v1/webhooks/": {200},
    "POST /api/v1/webhooks/": {201},
    # Agent-only: to an organization's key they do not exist.
    "GET /api/v1/desk/queue/": {404},
    "POST /api/v1/calls/": {404},
}

# Request bodies where the schema's example cannot work here (its host does not resolve).
BODIES: dict[str, Any] = {
    "POST /api/v1/webhooks/": {
        "url": "http://127.0.0.1:9/alpha",
        "event_types": ["ticket.created"],
    },
}


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                found.append((method.upper(), path, operation))
    return found


def _request_example(operation: dict[str, Any]) -> Any:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    for example in content.get("examples", {}).values():
        return example["value"]
    return {}


def _snapshot(world: World) -> dict[str, Any]:
    org = world.org_b
    return {
        "tickets": list(Ticket.objects.for_org(org).order_by("pk").values()),
        "messages": list(Message.objects.filter(ticket__organization=org).values()),
        "events": list(Event.objects.filter(organization=org).values()),
        "endpoints": list(WebhookEndpoint.objects.filter(organization=org).values()),
        "deliveries": list(WebhookDelivery.objects.filter(endpoint__organization=org).values()),
        "calls": list(Call.objects.filter(organization=org).values()),
        "attachments": list(Attachment.objects.filter(organization=org).values()),
    }


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def b_ids(world: World) -> dict[str, object]:
    """Everything of organization B an id can name."""
    now = timezone.now()
    ticket = world.file(world.admin_b, now=now, title=B_TITLE)
    endpoint = endpoint_create(
        organization=world.org_b, url=B_URL, event_types=["ticket.created"],
        description="bravo", created_by=None, now=now,
    ).endpoint  # fmt: skip
    [delivery_id] = deliveries_for_events(list(ticket.events.all()), now=now)
    reply = ticket_agent_reply(
        ticket=ticket, actor=_agent_actor(world), body="Bravo reply", now=now,
        attachments=[SimpleUploadedFile("bravo-7f3c.txt", b"Bravo-only file 7f3c\n")],
    )  # fmt: skip
    RegisteredPhone.objects.create(organization=world.org_b, number="+12025550143")
    call = call_start(
        agent=AgentFactory(), organization=world.org_b, caller_number="+12025550143", now=now
    )
    return {
        "number": ticket.reference,
        "endpoint_id": endpoint.pk,
        "delivery_id": delivery_id,
        "call_id": call.pk,
        "attachment_id": reply.attachments.get().pk,
    }


def _agent_actor(world: World):  # type: ignore[no-untyped-def]
    from tickets.actors import Actor

    return Actor.for_user(world.agent)


def _b_markers(world: World, b_ids: dict[str, object]) -> list[str]:
    return [
        B_TITLE, B_URL, "Bravo reply", "bravo-7f3c.txt", "Bravo-only file 7f3c",
        str(b_ids["number"]), world.org_b.slug,
    ]  # fmt: skip


def test_every_operation_refuses_another_tenants_ids(
    world: World, keys: Keys, client_a: APIClient, b_ids: dict[str, object]
) -> None:
    world.file(world.admin_a)  # A has data of its own, so lists are not trivially empty
    before = _snapshot(world)
    markers = _b_markers(world, b_ids)
    probed: set[str] = set()
    for method, path, operation in _operations():
        name = f"{method} {path}"
        params = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
        url = path
        for param in params:
            assert param in b_ids, f"teach the cross-tenant probe a value for {param} ({name})"
            url = url.replace("{" + param + "}", str(b_ids[param]))
        body = BODIES.get(name, _request_example(operation))
        response = client_a.generic(method, url, json.dumps(body), content_type="application/json")
        if params:
            assert response.status_code == 404, (name, response.status_code, response.content)
        else:
            assert name in WITHOUT_IDS, f"teach the cross-tenant probe about {name}"
            assert response.status_code in WITHOUT_IDS[name], (name, response.status_code)
        text = response.content.decode()
        for marker in markers:
            assert marker not in text, (name, marker)
        probed.add(name)
    assert probed == {f"{m} {p}" for m, p, _ in _operations()}
    assert set(WITHOUT_IDS) <= probed, "an operation listed here left the schema"
    assert _snapshot(world) == before


def test_the_same_ids_work_for_their_own_tenant(
    world: World, client_b: APIClient, b_ids: dict[str, object]
) -> None:
    """The probe's ids are real: B's own key reaches them (so the 404s above mean scoping)."""
    number, endpoint = b_ids["number"], b_ids["endpoint_id"]
    assert client_b.get(f"/api/v1/tickets/{number}/").json()["title"] == B_TITLE
    assert client_b.get(f"/api/v1/webhooks/{endpoint}/").json()["url"] == B_URL
    deliveries = client_b.get(f"/api/v1/webhooks/{endpoint}/deliveries/").json()["results"]
    assert [d["id"] for d in deliveries] == [b_ids["delivery_id"]]
    attachment = b_ids["attachment_id"]
    files = client_b.get(f"/api/v1/tickets/{number}/attachments/").json()
    assert [f["id"] for f in files] == [attachment]
    download = client_b.get(f"/api/v1/tickets/{number}/attachments/{attachment}/")
    assert b"".join(download.streaming_content) == b"Bravo-only file 7f3c\n"

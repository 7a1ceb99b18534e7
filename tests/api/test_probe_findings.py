"""Findings of the outside-in probe (issue 17), each reproduced first: deeply nested JSON
bodies answered 500 with the HTML error page."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import Keys
from tests.conftest import World
from tickets.models import Ticket

NESTED_OBJECTS = '{"a":' * 5000 + "1" + "}" * 5000
NESTED_ARRAYS = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("body", [NESTED_OBJECTS, NESTED_ARRAYS], ids=["objects", "arrays"])
def test_deeply_nested_json_is_a_400_with_the_json_error_body(
    world: World, keys: Keys, client_a: APIClient, agent_client: APIClient, body: str
) -> None:
    ticket = world.file()
    number = ticket.pk
    for client, path in [
        (client_a, "/api/v1/tickets/"),
        (client_a, f"/api/v1/tickets/{number}/messages/"),
        (client_a, f"/api/v1/tickets/{number}/resolve/"),
        (client_a, "/api/v1/severity/assess/"),
        (client_a, "/api/v1/webhooks/"),
        (agent_client, f"/api/v1/desk/tickets/{number}/replies/"),
    ]:
        response = client.post(path, body, content_type="application/json")
        assert response.status_code == 400, (path, response.status_code)
        assert response["Content-Type"].startswith("application/json"), path
        assert response.json()["code"] == "parse_error", path
    assert Ticket.objects.count() == 1

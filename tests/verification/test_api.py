"""The telephony API (issue item 6): the same rules over JSON, for agents only."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import World
from tests.verification.conftest import (
    REGISTERED_PHONE,
    UNREGISTERED_CALLER,
    Contacts,
    last_code,
    wrong,
)
from verification import services
from verification.models import Call

pytestmark = pytest.mark.django_db


def post(client: Client, url: str, body: object) -> object:
    return client.post(url, body, content_type="application/json")


def test_registered_number_is_verified_at_once(
    world: World, contacts: Contacts, client: Client
) -> None:
    client.force_login(world.agent)
    response = post(
        client, "/api/v1/calls/", {"organization": "alpha", "caller_number": REGISTERED_PHONE}
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["verified_by"]) == ("verified", "registered_number")
    assert "channels" not in body


def test_the_whole_code_flow(world: World, contacts: Contacts, client: Client) -> None:
    client.force_login(world.agent)
    started = post(
        client, "/api/v1/calls/", {"organization": "alpha", "caller_number": UNREGISTERED_CALLER}
    ).json()
    assert started["status"] == "challenge_required"
    labels = {(c["kind"], c["label"], c["usable"]) for c in started["channels"]}
    assert (
        "email",
        contacts.email.email[0] + "***@" + contacts.email.email.split("@")[1],
        True,
    ) in labels
    assert all(world.admin_a.user.email != c["label"] for c in started["channels"])
    call = f"/api/v1/calls/{started['id']}/"
    sent = post(client, call + "code/", {"channel_kind": "email", "channel_id": contacts.email.pk})
    assert sent.status_code == 202
    assert "code" not in sent.json()  # the code never travels back to the agent
    code = last_code()
    refused = post(client, call + "check/", {"code": wrong(code)})
    assert refused.status_code == 400
    assert refused.json() == {
        "code": "invalid_code",
        "message": str(services.ERR_CODE_INVALID),
        "fields": {},
    }
    accepted = post(client, call + "check/", {"code": code})
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "verified"
    assert client.get(call).json()["status"] == "verified"
    ended = post(client, call + "end/", {})
    assert ended.json()["status"] == "ended"
    assert not services.active_call(
        agent=world.agent, organization=world.org_a, now=Call.objects.get().started_at
    )


def test_bad_input_is_a_json_4xx(world: World, contacts: Contacts, client: Client) -> None:
    client.force_login(world.agent)
    bad_json = client.post("/api/v1/calls/", "{not json", content_type="application/json")
    assert bad_json.status_code == 400
    assert bad_json.json()["code"] == "parse_error"
    missing = post(client, "/api/v1/calls/", {"organization": "alpha"})
    assert missing.status_code == 400
    assert "caller_number" in missing.json()["fields"]
    invalid = post(client, "/api/v1/calls/", {"organization": "alpha", "caller_number": "12"})
    assert invalid.status_code == 400
    assert invalid.json()["code"] == "invalid_number"
    unknown = post(
        client, "/api/v1/calls/", {"organization": "nope", "caller_number": "+48600100200"}
    )
    assert unknown.status_code == 404
    assert not Call.objects.exists()
    wrong_type = post(
        client, "/api/v1/calls/1/code/", {"channel_kind": "pigeon", "channel_id": "x"}
    )
    assert wrong_type.status_code == 404


def test_customers_and_strangers_are_refused(world: World, client: Client) -> None:
    """Without credentials: 401. To customers the agent endpoints do not exist (404),
    like the desk pages."""
    body = {"organization": "alpha", "caller_number": UNREGISTERED_CALLER}
    assert post(client, "/api/v1/calls/", body).status_code == 401
    client.force_login(world.admin_a.user)
    refused = post(client, "/api/v1/calls/", body)
    assert refused.status_code == 404
    assert refused.json()["code"] == "not_found"
    assert not Call.objects.exists()


def test_sending_too_many_codes_is_429(world: World, contacts: Contacts, client: Client) -> None:
    client.force_login(world.agent)
    started = post(
        client, "/api/v1/calls/", {"organization": "alpha", "caller_number": UNREGISTERED_CALLER}
    ).json()
    url = f"/api/v1/calls/{started['id']}/code/"
    body = {"channel_kind": "email", "channel_id": contacts.email.pk}
    statuses = [post(client, url, body).status_code for _ in range(4)]
    assert statuses == [202, 202, 202, 429]

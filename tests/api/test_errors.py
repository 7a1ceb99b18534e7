"""Every 4xx is JSON ``{"code", "message", "fields"}``; bad input never reaches a 500."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import NEW_TICKET, Keys
from tests.conftest import World
from tickets.models import Ticket


def _is_error(response: object, status: int, code: str) -> dict:
    assert response.status_code == status, response.content  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == code
    assert body["message"]
    return body


def test_bad_json_is_400(keys: Keys, client_a: APIClient) -> None:
    response = client_a.post("/api/v1/tickets/", "{not json", content_type="application/json")
    _is_error(response, 400, "parse_error")


@pytest.mark.parametrize("body", ["[]", '"text"', "42", "null"])
def test_a_body_that_is_not_an_object_is_400(keys: Keys, client_a: APIClient, body: str) -> None:
    response = client_a.post("/api/v1/tickets/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] in {"invalid", "parse_error"}


def test_wrong_types_are_field_errors(keys: Keys, client_a: APIClient) -> None:
    body = {**NEW_TICKET, "title": ["a list"], "category": 7, "contact_email": {"x": 1}}
    fields = _is_error(client_a.post("/api/v1/tickets/", body, format="json"), 400, "invalid")[
        "fields"
    ]
    assert set(fields) == {"title", "category", "contact_email"}


def test_unknown_fields_are_refused(keys: Keys, client_a: APIClient) -> None:
    body = {**NEW_TICKET, "severity": "A", "titel": "typo"}
    fields = _is_error(client_a.post("/api/v1/tickets/", body, format="json"), 400, "invalid")[
        "fields"
    ]
    assert set(fields) == {"severity", "titel"}
    assert not Ticket.objects.exists()


def test_an_invalid_phone_number_is_a_field_error(keys: Keys, client_a: APIClient) -> None:
    body = {**NEW_TICKET, "contact_phone": "12"}
    fields = _is_error(client_a.post("/api/v1/tickets/", body, format="json"), 400, "invalid")[
        "fields"
    ]
    assert list(fields) == ["contact_phone"]


def test_missing_contact_is_a_field_error_from_the_service(keys: Keys, client_a: APIClient) -> None:
    body = {k: v for k, v in NEW_TICKET.items() if k != "contact_email"}
    fields = _is_error(client_a.post("/api/v1/tickets/", body, format="json"), 400, "required")[
        "fields"
    ]
    assert list(fields) == ["contact_email"]


def test_a_huge_body_is_413(
    keys: Keys, client_a: APIClient, settings: pytest.FixtureRequest
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({**NEW_TICKET, "description": "x" * 20_000})
    response = client_a.post("/api/v1/tickets/", body, content_type="application/json")
    _is_error(response, 413, "too_large")
    assert not Ticket.objects.exists()


def test_another_media_type_is_415(keys: Keys, client_a: APIClient) -> None:
    response = client_a.post("/api/v1/tickets/", "title=x", content_type="text/plain")
    _is_error(response, 415, "unsupported_media_type")


def test_an_illegal_transition_is_409(world: World, keys: Keys, client_a: APIClient) -> None:
    ticket = world.file()
    response = client_a.post(f"/api/v1/tickets/{ticket.reference}/reopen/", {}, format="json")
    _is_error(response, 409, "illegal_transition")
    client_a.post(f"/api/v1/tickets/{ticket.reference}/resolve/", {}, format="json")
    again = client_a.post(f"/api/v1/tickets/{ticket.reference}/resolve/", {}, format="json")
    _is_error(again, 409, "illegal_transition")


def test_rating_twice_is_409(world: World, keys: Keys, client_a: APIClient) -> None:
    ticket = world.file()
    url = f"/api/v1/tickets/{ticket.reference}"
    assert client_a.post(f"{url}/rate/", {"score": 4}, format="json").status_code == 409
    client_a.post(f"{url}/resolve/", {}, format="json")
    assert client_a.post(f"{url}/rate/", {"score": 4}, format="json").status_code == 201
    _is_error(client_a.post(f"{url}/rate/", {"score": 5}, format="json"), 409, "already_rated")
    _is_error(client_a.post(f"{url}/rate/", {"score": 9}, format="json"), 400, "invalid")


@pytest.mark.parametrize("number", ["SR-999999", "nonsense", "0", "-1", "SR-", "9" * 40])
def test_unknown_numbers_are_404(keys: Keys, client_a: APIClient, number: str) -> None:
    _is_error(client_a.get(f"/api/v1/tickets/{number}/"), 404, "not_found")


def test_bad_filters_and_cursors_are_4xx(keys: Keys, client_a: APIClient) -> None:
    _is_error(client_a.get("/api/v1/tickets/?status=bogus"), 400, "invalid")
    _is_error(client_a.get("/api/v1/tickets/?created_after=yesterday"), 400, "invalid")
    _is_error(client_a.get("/api/v1/tickets/?cursor=garbage"), 404, "not_found")


def test_a_method_the_route_lacks_is_405_json(keys: Keys, client_a: APIClient) -> None:
    _is_error(client_a.delete("/api/v1/tickets/"), 405, "method_not_allowed")


def test_an_unknown_api_path_is_a_json_404(keys: Keys, client_a: APIClient) -> None:
    _is_error(client_a.get("/api/v1/no-such-thing/"), 404, "not_found")
    _is_error(client_a.post("/api/v1/tickets/SR-1/unknown/"), 404, "not_found")


@pytest.mark.parametrize(
    "bound", ["0339-12-22T07:18:22+16:34", "0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00"]
)
def test_extreme_dates_in_filters_are_refused_or_answered(
    keys: Keys, client_a: APIClient, bound: str
) -> None:
    """Offsets PostgreSQL refuses and dates that overflow in UTC are never a 500."""
    response = client_a.get("/api/v1/tickets/", {"created_after": bound, "updated_before": bound})
    assert response.status_code in (200, 400)

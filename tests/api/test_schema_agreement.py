"""The schema says what the API accepts and answers (probe finding: a schemathesis run found
schema-valid requests refused, schema-violating ones accepted, TRACE answered 404 and
undocumented content types). One test per kind of disagreement it found; the fuzzing
itself is tests/api/test_schemathesis.py."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from tenants.idempotency import KEY_PATTERN
from tests.api.conftest import NEW_TICKET, Keys, bearer
from tests.conftest import World

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def _component(document: dict[str, Any], operation: dict[str, Any], media: str) -> dict:
    ref = operation["requestBody"]["content"][media]["schema"]["$ref"]
    return document["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def _concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: "SR-000001" if m[1] == "number" else "1", path)


# --- Undeclared methods ---------------------------------------------------------------------


def test_trace_is_405_with_allow_on_every_api_route(document: dict[str, Any], keys: Keys) -> None:
    callers = [APIClient(), bearer(keys.a_secret), bearer(keys.agent_secret)]
    for path, item in document["paths"].items():
        declared = {m.upper() for m in item if m in {"get", "post", "put", "patch", "delete"}}
        for client in callers:
            response = client.generic("TRACE", _concrete(path))
            assert response.status_code == 405, (path, response.status_code)
            allow = {m.strip() for m in response["Allow"].split(",")}
            assert declared <= allow, (path, allow)
            assert "TRACE" not in allow
            assert response.json()["code"] == "method_not_allowed"


def test_an_undeclared_method_is_405_before_the_credential_is_looked_at(keys: Keys) -> None:
    # Before: 401 without a key, and 404 for an organization's key on an agent's route.
    assert APIClient().put("/api/v1/tickets/").status_code == 405
    assert bearer(keys.a_secret).delete("/api/v1/calls/").status_code == 405


def test_trace_to_a_page_is_405_and_an_unknown_path_stays_404() -> None:
    # Before: the home page's redirect (a function view answers any method).
    page = Client().generic("TRACE", "/")
    assert page.status_code == 405
    assert "GET" in page["Allow"]
    assert Client().generic("TRACE", "/accounts/login/").status_code == 405
    assert Client().generic("TRACE", "/api/v1/no-such-thing/").status_code == 404


# --- Request bodies -------------------------------------------------------------------------


def test_bodies_refuse_unknown_fields_and_say_so(
    document: dict[str, Any], client_a: APIClient
) -> None:
    for _path, _method, operation in _operations(document):
        for media in operation.get("requestBody", {}).get("content", {}):
            component = _component(document, operation, media)
            assert component["additionalProperties"] is False, operation["operationId"]
    refused = client_a.post(
        "/api/v1/severity/assess/",
        {"category": "technical", "impact": "degraded", "scope": "one", "extra": 1},
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json()["fields"] == {"extra": ["Unknown field."]}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        # Before: 0 was taken as "0", "5" as 5 and 1 as true.
        (
            "/api/v1/severity/assess/",
            {"category": "technical", "impact": "degraded", "scope": "one", "contact_24x7": 0},
            "contact_24x7",
        ),
        ("/api/v1/tickets/", {**NEW_TICKET, "title": 12345}, "title"),
        ("/api/v1/webhooks/", {"url": "http://127.0.0.1:9/", "event_types": "ticket.created"},
         "event_types"),
        ("/api/v1/webhooks/", {"url": "http://127.0.0.1:9/", "event_types": [1]},
         "event_types"),
    ],
)  # fmt: skip
def test_a_value_of_another_json_type_is_refused(
    client_a: APIClient, path: str, body: dict[str, Any], field: str
) -> None:
    response = client_a.post(path, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]


def test_a_score_as_a_string_and_a_switch_as_a_number_are_refused(
    world: World, client_a: APIClient, keys: Keys
) -> None:
    ticket = world.file()
    rated = client_a.post(
        f"/api/v1/tickets/{ticket.reference}/rate/", {"score": "5"}, format="json"
    )
    assert rated.status_code == 400
    assert "score" in rated.json()["fields"]
    endpoint = client_a.post(
        "/api/v1/webhooks/",
        {"url": "http://127.0.0.1:9/hook", "event_types": ["ticket.created"]},
        format="json",
    ).json()
    switched = client_a.patch(
        f"/api/v1/webhooks/{endpoint['id']}/", {"is_active": 1}, format="json"
    )
    assert switched.status_code == 400
    assert "is_active" in switched.json()["fields"]


def test_a_required_text_is_not_only_white_space_and_its_limit_counts_what_was_sent(
    document: dict[str, Any], client_a: APIClient
) -> None:
    title = document["components"]["schemas"]["TicketCreateInRequest"]["properties"]["title"]
    pattern = re.compile(title["pattern"])
    assert not pattern.search("   ") and not pattern.search("a\x00b")
    assert pattern.search("  a  ")
    assert (
        client_a.post("/api/v1/tickets/", {**NEW_TICKET, "title": "   "}, format="json").status_code
        == 400
    )
    # 200 characters and a trailing space: longer than maxLength as sent.
    long = "x" * title["maxLength"] + " "
    refused = client_a.post("/api/v1/tickets/", {**NEW_TICKET, "title": long}, format="json")
    assert refused.status_code == 400
    assert "title" in refused.json()["fields"]


def test_rules_across_fields_are_in_the_schema(document: dict[str, Any]) -> None:
    rules = document["components"]["schemas"]["TicketCreateInRequest"]["allOf"]
    text = repr(rules)
    for field in ("product", "contact_email", "contact_phone", "preferred_contact"):
        assert field in text


def test_a_patch_body_keeps_its_required_fields(
    document: dict[str, Any], client_a: APIClient
) -> None:
    operation = document["paths"]["/api/v1/webhooks/{endpoint_id}/"]["patch"]
    assert "is_active" in _component(document, operation, "application/json")["required"]


def test_an_empty_list_of_event_types_is_outside_the_schema(document: dict[str, Any]) -> None:
    operation = document["paths"]["/api/v1/webhooks/"]["post"]
    assert (
        _component(document, operation, "application/json")["properties"]["event_types"]["minItems"]
        == 1
    )


def test_a_form_field_is_never_null(document: dict[str, Any]) -> None:
    operation = document["paths"]["/api/v1/desk/tickets/{number}/replies/"]["post"]
    form = _component(document, operation, "multipart/form-data")
    assert not any(field.get("nullable") for field in form["properties"].values())
    json_body = _component(document, operation, "application/json")
    assert json_body["properties"]["based_on_event"]["nullable"] is True


# --- Headers and query ----------------------------------------------------------------------


def test_the_idempotency_key_pattern_is_what_the_server_checks(
    document: dict[str, Any], client_a: APIClient
) -> None:
    header = next(
        p
        for p in document["paths"]["/api/v1/tickets/"]["post"]["parameters"]
        if p["name"] == "Idempotency-Key"
    )
    assert header["schema"]["pattern"] == KEY_PATTERN
    for key, accepted in (("a1b2-c3", True), ("x" * 255, True), ("x" * 256, False),
                          ("a\x7fb", False), ("zé", False)):  # fmt: skip
        assert bool(re.search(KEY_PATTERN, key)) is accepted, key
        response = client_a.post(
            "/api/v1/tickets/", NEW_TICKET, format="json", HTTP_IDEMPOTENCY_KEY=key
        )
        assert (response.status_code == 201) is accepted, (key, response.content)


def test_an_empty_query_parameter_counts_as_not_given(
    document: dict[str, Any], client_a: APIClient
) -> None:
    parameters = document["paths"]["/api/v1/health/incidents/"]["get"]["parameters"]
    assert next(p for p in parameters if p["name"] == "service")["allowEmptyValue"] is True
    assert client_a.get("/api/v1/health/incidents/?service=").status_code == 200
    listed = document["paths"]["/api/v1/tickets/"]["get"]["parameters"]
    # An empty choice is no choice: the multi-choice filters refuse it, and say so.
    assert "allowEmptyValue" not in next(p for p in listed if p["name"] == "status")


@pytest.mark.parametrize("size", ["null", "0", "101", "1.5"])
def test_page_size_outside_the_schema_is_refused(
    document: dict[str, Any], client_a: APIClient, size: str
) -> None:
    listed = document["paths"]["/api/v1/tickets/"]["get"]["parameters"]
    schema = next(p for p in listed if p["name"] == "page_size")["schema"]
    assert (schema["minimum"], schema["maximum"]) == (1, 100)
    response = client_a.get(f"/api/v1/tickets/?page_size={size}")
    assert response.status_code == 400
    assert "page_size" in response.json()["fields"]
    assert client_a.get("/api/v1/tickets/?page_size=100").status_code == 200


# --- Answers --------------------------------------------------------------------------------


def test_a_download_documents_every_type_a_file_can_have(document: dict[str, Any]) -> None:
    for path in (
        "/api/v1/tickets/{number}/attachments/{attachment_id}/",
        "/api/v1/desk/tickets/{number}/attachments/{attachment_id}/",
    ):
        content = document["paths"][path]["get"]["responses"]["200"]["content"]
        assert {"image/png", "application/pdf", "text/plain", "text/csv"} <= set(content)


def test_a_refused_reply_need_not_list_events(document: dict[str, Any]) -> None:
    stale = document["components"]["schemas"]["StaleReplyOut"]
    assert "events" not in stale["required"]


def test_every_operation_refuses_a_missing_or_wrong_credential(
    document: dict[str, Any], keys: Keys
) -> None:
    """What schemathesis's ignored_auth check probes, for every operation."""
    for path, method, _operation in _operations(document):
        for client in (APIClient(), bearer(f"{keys.a.prefix}_{'x' * 43}"), bearer("sdt_0_x")):
            response = getattr(client, method)(_concrete(path), {}, format="json")
            assert response.status_code == 401, (method, path, response.status_code)


def test_a_reopen_needs_its_reason_in_the_schema(
    document: dict[str, Any], world: World, client_a: APIClient
) -> None:
    # Before: the reason was optional in the schema, and a reopen without one a 400.
    operation = document["paths"]["/api/v1/tickets/{number}/reopen/"]["post"]
    rules = _component(document, operation, "application/json")["allOf"]
    assert any("reason" in rule.get("required", []) for rule in rules)
    resolve = document["paths"]["/api/v1/tickets/{number}/resolve/"]["post"]
    assert "allOf" not in _component(document, resolve, "application/json")


def test_contact_phone_says_what_no_pattern_can(document: dict[str, Any]) -> None:
    phone = document["components"]["schemas"]["TicketCreateInRequest"]["properties"][
        "contact_phone"
    ]
    assert "country code" in phone["description"]


def test_an_api_path_with_a_line_break_is_a_json_404(client_a: APIClient) -> None:
    # Before: the site's HTML 404, undocumented for the API.
    for path in ("/api/v1/calls/%0A1/end/", "/api/v1/webhooks/%C2%8C%0A/"):
        response = client_a.post(path) if "end" in path else client_a.delete(path)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json()["code"] == "not_found"

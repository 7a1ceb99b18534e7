"""The OpenAPI document: valid, and every operation documented for a client (summary,
examples, error answers in the one error shape)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


ERROR_SHAPE = {"code", "message", "fields"}


def _is_error_shape(document: dict[str, Any], schema: dict[str, Any]) -> bool:
    """The one error shape, or one that only adds to it (a held desk reply lists the
    newer events beside code, message and fields)."""
    if schema == {"$ref": "#/components/schemas/ErrorOut"}:
        return True
    name = schema.get("$ref", "").rsplit("/", 1)[-1]
    component = document["components"]["schemas"].get(name, {})
    base = document["components"]["schemas"]["ErrorOut"]
    return set(component.get("required", [])) >= ERROR_SHAPE and all(
        component["properties"].get(key) == base["properties"][key] for key in ERROR_SHAPE
    )


def test_the_schema_validates_without_warnings() -> None:
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_every_operation_has_a_summary_examples_and_errors(document: dict[str, Any]) -> None:
    missing: list[str] = []
    for name, operation in _operations(document):
        if not operation.get("summary"):
            missing.append(f"{name}: summary")
        responses = operation["responses"]
        errors = [code for code in responses if code.startswith("4")]
        if not errors:
            missing.append(f"{name}: error responses")
        for code in errors:
            schema = responses[code]["content"]["application/json"]["schema"]
            if not _is_error_shape(document, schema):
                missing.append(f"{name}: {code} is not the error shape")
        for code, response in responses.items():
            content = response.get("content", {}).get("application/json")
            if content is not None and not content.get("examples"):
                missing.append(f"{name}: {code} example")
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None and not body.get("examples"):
            missing.append(f"{name}: request example")
    assert missing == []


def test_every_operation_needs_credentials(document: dict[str, Any]) -> None:
    for name, operation in _operations(document):
        schemes = {next(iter(s)) for s in operation.get("security", []) if s}
        assert "bearerAuth" in schemes, name
        assert "401" in operation["responses"], name

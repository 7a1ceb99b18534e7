"""The customer-facing API documentation speaks to customers: no policy ids in its
summaries, descriptions and help texts (the ids stay in the reasons' `policy` codes)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

# Operations for support staff: their texts may cite the policy behind a rule.
STAFF_TAGS = {"desk", "calls"}


def _texts(node: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """Every summary, description and title under ``node``; examples, enums and defaults
    are values (a reason's `policy` code), not words of the documentation."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("example", "examples", "enum", "default"):
                continue
            if key in ("summary", "description", "title") and isinstance(value, str):
                yield f"{where}/{key}", value
            else:
                yield from _texts(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _texts(value, f"{where}[{index}]")


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value.rsplit("/", 1)[1]
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def _customer_part(schema: dict[str, Any]) -> dict[str, Any]:
    """The customer's operations and every component they reach."""
    operations = {
        f"{method.upper()} {path}": operation
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
        if isinstance(operation, dict) and not STAFF_TAGS & set(operation.get("tags", []))
    }
    components = schema["components"]["schemas"]
    reached: set[str] = set()
    todo = list(_refs(operations))
    while todo:
        name = todo.pop()
        if name in reached or name not in components:
            continue
        reached.add(name)
        todo.extend(_refs(components[name]))
    return {
        "info": schema["info"],
        "operations": operations,
        "components": {name: components[name] for name in sorted(reached)},
    }


def test_customer_facing_schema_text_has_no_policy_ids(schema: dict[str, Any]) -> None:
    part = _customer_part(schema)
    # The walk reaches what customers read: filing, the assessment, the reply.
    assert "POST /api/v1/tickets/" in part["operations"]
    assert {"TicketCreateInRequest", "AssessmentOut", "ReasonOut"} <= set(part["components"])
    texts = list(_texts(part))
    assert len(texts) > 50
    cited = [(where, text) for where, text in texts if "POL-" in text]
    assert cited == []


def test_reason_codes_keep_their_policy_ids(schema: dict[str, Any]) -> None:
    """The ids live on as machine codes in the documented answers."""
    assessed = schema["paths"]["/api/v1/severity/assess/"]["post"]["responses"]["200"]
    examples = assessed["content"]["application/json"]["examples"]
    policies = [
        reason["policy"] for example in examples.values() for reason in example["value"]["reasons"]
    ]
    assert policies and all(policy.startswith("POL-") for policy in policies)
    # Staff operations may still cite the policy.
    desk = schema["paths"]["/api/v1/desk/tickets/{number}/replies/"]["post"]["description"]
    assert "POL-" in desk

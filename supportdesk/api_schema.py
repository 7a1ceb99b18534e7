"""OpenAPI links between operations (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``):
what a client — or the stateful fuzzer — can do next with the id an answer carries.
drf-spectacular has no per-response links, so a post-processing hook adds them."""

from __future__ import annotations

import inspect
from typing import Any

from core.serializers import NO_NUL, NOT_BLANK, StrictSerializer
from severity.choices import Category
from tickets.models import ContactMethod

# (path, method, status) → {link name: (operationId, parameter, runtime expression)}
_LINKS: dict[tuple[str, str, str], dict[str, tuple[str, str, str]]] = {
    ("/api/v1/tickets/", "post", "201"): {
        name: (operation, "number", "$response.body#/number")
        for name, operation in {
            "ReadTicket": "tickets_retrieve",
            "ChangeContact": "tickets_partial_update",
            "ReadMessages": "tickets_messages_list",
            "Reply": "tickets_messages_create",
            "ReadEvents": "tickets_events_list",
            "ReadSla": "tickets_sla_retrieve",
            "Resolve": "tickets_resolve_create",
        }.items()
    },
    ("/api/v1/tickets/{number}/resolve/", "post", "200"): {
        "Reopen": ("tickets_reopen_create", "number", "$response.body#/number"),
        "Rate": ("tickets_rate_create", "number", "$response.body#/number"),
    },
    ("/api/v1/webhooks/", "post", "201"): {
        name: (operation, "endpoint_id", "$response.body#/id")
        for name, operation in {
            "ReadEndpoint": "webhooks_retrieve",
            "SwitchEndpoint": "webhooks_partial_update",
            "ReadDeliveries": "webhooks_deliveries_list",
            "DeleteEndpoint": "webhooks_destroy",
        }.items()
    },
    ("/api/v1/calls/", "post", "201"): {
        name: (operation, "call_id", "$response.body#/id")
        for name, operation in {
            "ReadCall": "calls_retrieve",
            "SendCode": "calls_code_create",
            "CheckCode": "calls_check_create",
            "EndCall": "calls_end_create",
        }.items()
    },
}


def add_links(result: dict[str, Any], generator: object, **kwargs: object) -> dict[str, Any]:
    paths = result.get("paths", {})
    for (path, method, status), links in _LINKS.items():
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is None:
            continue
        response["links"] = {
            name: {"operationId": operation, "parameters": {parameter: expression}}
            for name, (operation, parameter, expression) in links.items()
        }
    return result


def strict_requests(result: dict[str, Any], generator: object, **kwargs: object) -> dict[str, Any]:
    """Say in the schema what the API does with what it is sent.

    Request bodies: every input serializer is a ``core.serializers.StrictSerializer``,
    which refuses unknown fields, so each body component is ``additionalProperties:
    false``. Query parameters: an empty value (``?service=``) counts as not given, as a
    form would send it, so each optional one is ``allowEmptyValue``."""
    components = result.get("components", {}).get("schemas", {})
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
                name = media.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
                component = components.get(name)
                if component is None or "properties" not in component:
                    continue
                component["additionalProperties"] = False
                if component.get("description") == _STRICT_DOC:
                    del component["description"]  # the base class's, not the body's
                if media_type == "multipart/form-data":
                    # A form field cannot carry null: an empty one is null.
                    for field in component["properties"].values():
                        field.pop("nullable", None)
            for parameter in operation.get("parameters", []):
                if parameter.get("in") != "query" or parameter.get("required"):
                    continue
                schema = parameter.get("schema", {})
                if schema.get("type") != "array":  # an empty choice is no choice
                    parameter["allowEmptyValue"] = True
                if (
                    schema.get("type") == "string"
                    and not {"enum", "pattern", "format"} & set(schema)
                    and parameter["name"] not in _ANY_TEXT_PARAMETERS
                ):
                    # Their form or serializer field refuses NUL, like every text field.
                    schema["pattern"] = NO_NUL
    for name, rules in _BODY_RULES.items():
        if name in components:
            components[name]["allOf"] = rules
    return result


def _filled(field: str) -> dict[str, Any]:
    return {"required": [field], "properties": {field: {"type": "string", "minLength": 1}}}


# Rules across fields of a body (tickets.intake.draft_problems), which the fields' own
# schemas cannot say.
_BODY_RULES: dict[str, list[dict[str, Any]]] = {
    # A customer reopening says what is still wrong (tickets.services.ticket_reopen).
    "ReopenInRequest": [
        {"required": ["reason"], "properties": {"reason": {"type": "string", "pattern": NOT_BLANK}}}
    ],
    "TicketCreateInRequest": [
        # A technical request names its product.
        {
            "anyOf": [
                {"properties": {"category": {"not": {"enum": [Category.TECHNICAL]}}}},
                _filled("product"),
            ]
        },
        # Support can reach the customer: an e-mail address or a phone number …
        {"anyOf": [_filled("contact_email"), _filled("contact_phone")]},
        # … and the phone number when the phone is the preferred way.
        {
            "anyOf": [
                {"properties": {"preferred_contact": {"not": {"enum": [ContactMethod.PHONE]}}}},
                _filled("contact_phone"),
            ]
        },
    ],
}

# Read leniently: an unknown ordering is ignored, an unreadable cursor is a 404.
_ANY_TEXT_PARAMETERS = {"ordering", "cursor"}
_STRICT_DOC = inspect.cleandoc(StrictSerializer.__doc__ or "")

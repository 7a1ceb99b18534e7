"""OpenAPI links between operations (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``):
what a client — or the stateful fuzzer — can do next with the id an answer carries.
drf-spectacular has no per-response links, so a post-processing hook adds them."""

from __future__ import annotations

from typing import Any

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

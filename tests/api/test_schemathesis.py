"""Property-based fuzzing of every API operation against the real OpenAPI schema.

The schema is loaded from the app itself (``/api/v1/schema/``) and every operation is
called in-process through the WSGI application with positive and negative data; the
checks are: no 5xx, every status documented, every response matching its schema.

Examples per operation: ``SCHEMATHESIS_MAX_EXAMPLES`` (CI: 100; lower it locally for a
quick run). Marked ``slow``.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from supportdesk.wsgi import application
from tests.api.conftest import Keys
from tests.conftest import World

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "100"))

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)
schema.config.generation.update(modes=["positive", "negative"], max_examples=MAX_EXAMPLES)

AGENT_PREFIXES = ("/desk/", "/calls/")


@pytest.fixture
def _in_process(settings: pytest.FixtureRequest) -> Iterator[None]:
    """The WSGI handler closes "obsolete" connections around each request, and inside the
    test's transaction every connection looks obsolete: keep it, like Django's test client.
    No throttling: the fuzzer sends thousands of requests with one key."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"credential": "1000000/min"},
    }
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def targets(world: World, keys: Keys) -> dict[str, object]:
    """Real ids of organization A for half of the generated cases (the other half keep
    the generated, mostly unknown, ids and exercise the 404 paths)."""
    from datetime import timedelta

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from tenants.models import RegisteredPhone
    from tickets import services
    from tickets.actors import Actor
    from verification.services import call_start
    from webhooks.services import endpoint_create

    now = timezone.now()
    ticket = world.file(world.admin_a, now=now)
    screenshot = services.ticket_customer_reply(
        ticket=ticket,
        actor=Actor.for_member(world.admin_a),
        body="Screenshot",
        attachments=[SimpleUploadedFile("screen.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)],
        now=now,
    ).attachments.get()
    RegisteredPhone.objects.create(
        organization=world.org_a, number="+48600100123", active_from=now - timedelta(days=3)
    )
    call = call_start(
        agent=world.agent, organization=world.org_a, caller_number="+48600100123", now=now
    )
    endpoint = endpoint_create(
        organization=world.org_a,
        url="http://127.0.0.1:9/hook",
        event_types=["ticket.created"],
        description="fuzz",
        created_by=None,
        now=now,
    ).endpoint
    return {
        "number": ticket.reference,
        "call_id": call.pk,
        "endpoint_id": endpoint.pk,
        "delivery_id": 1,
        "attachment_id": screenshot.pk,
    }


def _authorization(path: str, keys: Keys) -> str:
    secret = keys.agent_secret if path.startswith(AGENT_PREFIXES) else keys.a_secret
    return f"Bearer {secret}"


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.usefixtures("_in_process")
@schema.parametrize()
@hypothesis.settings(
    # The world (tenants, keys, a ticket) is built once per operation and shared by its
    # examples, inside one rolled-back transaction. No deadline: no timed assertions.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)
def test_api_conforms_to_its_schema(case: schemathesis.Case, keys: Keys, targets: dict) -> None:
    if case.path_parameters and zlib.crc32(repr(case.body).encode()) % 2 == 0:
        for name in case.path_parameters:
            if name in targets:
                case.path_parameters[name] = targets[name]
    relative = case.path.removeprefix("/api/v1")
    case.call_and_validate(
        headers={"Authorization": _authorization(relative, keys)},
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )


def test_every_operation_is_fuzzed() -> None:
    """The parametrization above covers the whole schema, including operations added later."""
    operations = list(schema.get_all_operations())
    assert len(operations) >= 30
    assert all(result.ok() for result in operations)


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.usefixtures("_in_process")
def test_stateful_workflows_follow_the_schemas_links(keys: Keys) -> None:
    """Chains of calls along the schema's links (file → read, reply, resolve → rate;
    register a webhook → switch, read its log; start a call → send, check, end), each
    response checked like the single calls above."""
    base = schema.as_state_machine()
    seen: set[tuple[str, int]] = set()

    class Workflow(base):  # type: ignore[misc, valid-type]
        def after_call(self, response: object, case: schemathesis.Case) -> None:
            seen.add((f"{case.method} {case.path}", response.status_code))  # type: ignore[attr-defined]

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
            relative = case.path.removeprefix("/api/v1")
            return {"headers": {"Authorization": _authorization(relative, keys)}}

        def validate_response(
            self, response: object, case: schemathesis.Case, **kwargs: object
        ) -> None:  # type: ignore[override]
            case.validate_response(
                response,  # type: ignore[arg-type]
                checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
            )

    Workflow.run(
        settings=hypothesis.settings(
            # At least 50 scenarios, and derandomized: the walk reliably gets as far as a
            # filed request and reads it back through the link.
            max_examples=max(MAX_EXAMPLES, 50),
            derandomize=True,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    # The scenarios went through much of the API (which links pay off depends on the
    # generated data, so no single chain is required here).
    assert len({operation for operation, _status in seen}) >= 15
    assert any(status < 300 for _operation, status in seen)

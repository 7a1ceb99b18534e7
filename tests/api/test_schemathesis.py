"""Property-based fuzzing of every API operation against the real OpenAPI schema.

The schema is loaded from the app itself (``/api/v1/schema/``) and every operation is
called in-process through the WSGI application in schemathesis's phases (the schema's
examples, coverage of its boundaries and of undeclared methods, positive and negative
fuzzing) with every check schemathesis has (``st run --checks all``): no 5xx, every status
and content type documented, every body matching its schema, schema-valid requests
accepted and schema-violating ones refused, undeclared methods 405 with ``Allow``.
``schemathesis.toml`` at the root holds what the checks are told (the CLI reads it too).

Once per seed (``SCHEMATHESIS_SEEDS``, CI: 1,2,3) with ``SCHEMATHESIS_MAX_EXAMPLES``
examples per operation (CI: 100; lower it locally for a quick run). Marked ``slow``.
"""

from __future__ import annotations

import contextlib
import os
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck
from schemathesis.checks import load_all_checks, not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)

from supportdesk.wsgi import application
from tests.api.conftest import Keys
from tests.conftest import World

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "100"))
SEEDS = [int(seed) for seed in os.environ.get("SCHEMATHESIS_SEEDS", "1,2,3").split(",")]
CONFIG_FILE = Path(__file__).resolve().parents[2] / "schemathesis.toml"


def _load(seed: int) -> Any:
    schema = schemathesis.openapi.from_wsgi(
        "/api/v1/schema/?format=json",
        application,
        config=SchemathesisConfig.from_path(CONFIG_FILE),
    )
    schema.config.seed = seed
    schema.config.generation.update(max_examples=MAX_EXAMPLES)
    return schema


AGENT_PREFIXES = ("/desk/", "/calls/")
schema = _load(SEEDS[0])


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


def _authorization(case: schemathesis.Case, keys: Keys) -> dict[str, str]:
    relative = case.path.removeprefix("/api/v1")
    secret = keys.agent_secret if relative.startswith(AGENT_PREFIXES) else keys.a_secret
    return {"Authorization": f"Bearer {secret}"}


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


# What the schema states but cannot enforce: a value's meaning in this instance's data
# (the schema describes each of these in words). A schema-valid request that names a
# product, a phone number, a webhook target or a file the instance refuses is refused for
# that data, not for its shape, so the positive cases carry real ones.
_REAL_VALUES: dict[str, object] = {
    "product": "exchange-online",  # a service slug (the migrations seed it)
    "contact_phone": "+48600100200",  # a number that can be dialled
    "caller_number": "+48600100123",
    "url": "http://127.0.0.1:9/hook",  # resolves; private targets are allowed in tests
    "assignee": "agent@provider.test",  # an agent (the token's own e-mail)
}


def _with_real_values(case: schemathesis.Case) -> None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or not isinstance(case.body, dict):
        return
    # A new body, never the generated one changed in place: the stateful walk keeps
    # generated values to build later steps from.
    body = {
        name: _REAL_VALUES[name] if name in _REAL_VALUES and value else value
        for name, value in case.body.items()
        # Generated parts are named after the field ("files", no extension): refused by
        # the allow-list; uploads have their own tests (test_attachments_api).
        if name != "files"
    }
    if body.get("organization") and case.path.endswith("/calls/"):
        body["organization"] = "alpha"
    case.body = body


def _fuzz(seed: int) -> Callable[..., None]:
    seeded = schema if seed == SEEDS[0] else _load(seed)

    @pytest.mark.slow
    @pytest.mark.django_db
    @pytest.mark.usefixtures("_in_process")
    @seeded.parametrize()
    @hypothesis.settings(
        # The world (tenants, keys, a ticket) is built once per operation and shared by its
        # examples, inside one rolled-back transaction. No deadline: no timed assertions.
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
        ],
        deadline=None,
    )
    def test(case: schemathesis.Case, keys: Keys, targets: dict) -> None:
        meta = case.meta
        positive = meta is not None and meta.generation.mode.is_positive
        # A real id in a negative case could replace the very value that was made invalid.
        if positive and case.path_parameters and zlib.crc32(repr(case.body).encode()) % 2 == 0:
            for name in case.path_parameters:
                if name in targets:
                    case.path_parameters[name] = targets[name]
        _with_real_values(case)
        # Every check schemathesis has, as enabled in schemathesis.toml, but ignored_auth:
        # in-process its probes report a 2xx for this test's own credential (the CLI
        # against a server runs it;
        # test_schema_agreement.test_every_operation_refuses_a_missing_or_wrong_credential
        # sends every operation without one and with a wrong one).
        case.call_and_validate(headers=_authorization(case, keys), excluded_checks=[ignored_auth])

    return test


for _seed in SEEDS:
    globals()[f"test_api_conforms_to_its_schema_seed_{_seed}"] = _fuzz(_seed)


def test_every_check_runs() -> None:
    """``--checks all``: the contract checks included, none switched off in the config."""
    load_all_checks()
    config = SchemathesisConfig.from_path(CONFIG_FILE).projects.default.checks
    for name in (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "positive_data_acceptance",
        "negative_data_rejection",
        "missing_required_header",
        "unsupported_method",
        "use_after_free",
        "ensure_resource_availability",
        "ignored_auth",
    ):
        assert getattr(config, name).enabled, name
    assert len(SEEDS) >= 1


def test_every_operation_is_fuzzed() -> None:
    """The parametrization above covers the whole schema, including operations added later."""
    operations = list(schema.get_all_operations())
    assert len(operations) >= 30
    assert all(result.ok() for result in operations)


WALK_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    use_after_free,
    ensure_resource_availability,
]


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.usefixtures("_in_process")
def test_stateful_workflows_follow_the_schemas_links(keys: Keys) -> None:
    """Chains of calls along the schema's links (file → read, reply, resolve → rate;
    register a webhook → switch, read its log; start a call → send, check, end), each
    response checked with every check, like the single calls above."""
    # Schemathesis's defaults (positive and negative data, generated security header),
    # as this walk ran before schemathesis.toml: with that file's generation settings its
    # replays draw differently (FlakyStrategyDefinition). The single calls above run
    # every check on every operation; the walk checks what a chain of calls can break.
    walk = schemathesis.openapi.from_wsgi(
        "/api/v1/schema/?format=json", application, config=SchemathesisConfig.from_str("")
    )
    base = walk.as_state_machine()
    seen: set[tuple[str, int]] = set()
    failures: list[str] = []

    class Workflow(base):  # type: ignore[misc, valid-type]
        def after_call(self, response: object, case: schemathesis.Case) -> None:
            seen.add((f"{case.method} {case.path}", response.status_code))  # type: ignore[attr-defined]

        def before_call(self, case: schemathesis.Case) -> None:
            _with_real_values(case)

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
            return {"headers": _authorization(case, keys)}

        def validate_response(
            self, response: object, case: schemathesis.Case, **kwargs: object
        ) -> None:  # type: ignore[override]
            # Collected, not raised: a step depends on earlier answers, so Hypothesis
            # could not replay a failing walk to report it (FlakyStrategyDefinition).
            try:
                case.validate_response(response, checks=WALK_CHECKS)  # type: ignore[arg-type]
            except Exception as failure:
                failures.append(f"{case.method} {case.path}: {failure}")

    # The walk's next steps are drawn from what earlier answers held, and the database
    # keeps what earlier scenarios filed, so Hypothesis can meet a scenario that draws
    # differently from the one it recorded and stop with FlakyStrategyDefinition. That
    # is Hypothesis's bookkeeping, not an answer of the API: every response until then
    # was checked (``failures``), and the walk must still have reached enough of the API.
    with contextlib.suppress(hypothesis.errors.FlakyStrategyDefinition):
        _run_walk(Workflow)
    assert failures == []
    # The scenarios went through much of the API (which links pay off depends on the
    # generated data, so no single chain is required here).
    assert len({operation for operation, _status in seen}) >= 15
    assert any(status < 300 for _operation, status in seen)


def _run_walk(workflow: type) -> None:
    workflow.run(  # type: ignore[attr-defined]
        settings=hypothesis.settings(
            # 50 to 100 scenarios, and derandomized: the walk reliably gets as far as a
            # filed request and reads it back through the link.
            max_examples=min(max(MAX_EXAMPLES, 50), 100),
            derandomize=True,
            # No shrinking: a step's data depends on earlier answers, so a failing run
            # cannot be replayed smaller; the failure is reported as it happened.
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )

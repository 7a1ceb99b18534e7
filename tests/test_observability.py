"""Observability (production issue): request ids, context on every log line, metrics."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from django.test import Client
from prometheus_client import REGISTRY

from core.observability import ContextFilter, JsonFormatter, bound
from tests.conftest import World
from tickets import sweep as sweeping

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The access log as production writes it: JSON through the context filter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("supportdesk.request")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_every_response_carries_a_request_id(client: Client) -> None:
    first = client.get("/healthz")
    second = client.get("/healthz")
    assert len(first["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_a_sane_incoming_request_id_is_kept_and_a_hostile_one_replaced(client: Client) -> None:
    kept = client.get("/healthz", headers={"X-Request-ID": "lb-1234abcd"})
    assert kept["X-Request-ID"] == "lb-1234abcd"
    hostile = client.get("/healthz", headers={"X-Request-ID": "x\nFAKE LOG LINE"})
    assert "\n" not in hostile["X-Request-ID"] and hostile["X-Request-ID"] != "x\nFAKE LOG LINE"


def test_log_lines_carry_request_id_organization_and_ticket(
    world: World, client: Client, json_lines: io.StringIO
) -> None:
    ticket = world.file()
    client.force_login(world.admin_a.user)
    response = client.get(
        f"/portal/{world.org_a.slug}/requests/{ticket.pk}/",
        headers={"X-Request-ID": "req-00000001"},
    )
    assert response.status_code == 200
    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    entry = next(line for line in lines if line["request_id"] == "req-00000001")
    assert entry["organization"] == world.org_a.slug
    assert entry["ticket"] == str(ticket.pk)
    assert entry["http"]["status"] == 200
    assert entry["http"]["route"] == "portal:request_detail"
    assert entry["level"] == "INFO" and entry["logger"] == "supportdesk.request"


def test_secret_url_parts_never_reach_the_logs(
    world: World, client: Client, json_lines: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    """Probe finding (issue 17): the access log recorded /accounts/reset/<uid>/<token>/,
    and replaying the logged path set a new password."""
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    user = world.admin_a.user
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    assert client.get(f"/accounts/reset/{uid}/{token}/").status_code in (200, 302)
    client.get(f"/rate/{token}-forged-rating-link/")  # a bad signed link: 400, logged
    text = json_lines.getvalue() + caplog.text
    assert token not in text and uid not in text
    assert "/accounts/reset/[redacted]/[redacted]/" in json_lines.getvalue()


def test_json_formatter_includes_bound_context_extra_and_exceptions() -> None:
    logger = logging.getLogger("supportdesk.test")
    record_filter = ContextFilter()
    with bound(request_id="abc12345", ticket="42"):
        try:
            raise ValueError("boom")
        except ValueError:
            import sys

            record = logger.makeRecord(
                logger.name, logging.ERROR, __file__, 1, "failed %s", ("x",), sys.exc_info(),
                extra={"sweep": {"claimed": 3}},
            )  # fmt: skip
        record_filter.filter(record)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "failed x"
    assert (entry["request_id"], entry["ticket"]) == ("abc12345", "42")
    assert "organization" not in entry  # empty values are left out
    assert entry["sweep"] == {"claimed": 3}
    assert "ValueError: boom" in entry["exception"]


def test_metrics_show_open_tickets_breaches_and_sweep_lag(
    world: World, client: Client, settings: pytest.FixtureRequest
) -> None:
    settings.METRICS_TOKEN = "s3cret-token-of-some-length"
    world.file()  # B, degraded for many
    world.file(impact="minimal", scope="one")
    response = client.get(
        "/metrics", headers={"Authorization": "Bearer s3cret-token-of-some-length"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'supportdesk_open_tickets{severity="B",status="new"} 1.0' in body
    assert "supportdesk_sweep_lag_seconds -1.0" in body  # never ran
    assert "supportdesk_http_request_duration_seconds_bucket" in body
    assert "supportdesk_breached_tickets" in body


def test_metrics_are_refused_to_strangers_and_open_to_the_token(
    client: Client, settings: pytest.FixtureRequest
) -> None:
    settings.METRICS_ALLOWED_IPS = []
    settings.METRICS_TOKEN = "s3cret-token-of-some-length"
    assert client.get("/metrics").status_code == 404
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 404
    right = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token-of-some-length"})
    assert right.status_code == 200


def test_metrics_are_not_open_to_the_local_address_by_default(world: World, client: Client) -> None:
    """Probe finding (issue 17): behind a proxy on the same host every visitor comes from
    127.0.0.1, and a customer's admin read the metrics."""
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404
    client.force_login(world.admin_a.user)
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404


def test_the_sweep_counts_its_steps(world: World) -> None:
    def escalations() -> float:
        return REGISTRY.get_sample_value("supportdesk_sla_steps_total", {"kind": "escalation"}) or 0

    ticket = world.file(
        impact="service_down",
        scope="many",
        business_impact="Mail is down for everyone.",
        contact_24x7="Duty IT +48 601 234 567",
    )
    before = escalations()
    sweeping.sweep(now=ticket.response_due_at, worker="test")
    assert escalations() == before + 1


def test_api_log_lines_carry_the_key_organization(
    world: World, client: Client, json_lines: io.StringIO
) -> None:
    from django.utils import timezone

    from tenants.api_keys import api_key_create

    key = api_key_create(
        organization=world.org_b, name="logs", role="global_admin", created_by=None,
        now=timezone.now(),
    ).secret  # fmt: skip
    response = client.get(
        "/api/v1/tickets/",
        headers={"Authorization": f"Bearer {key}", "X-Request-ID": "api-00000001"},
    )
    assert response.status_code == 200
    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    entry = next(line for line in lines if line["request_id"] == "api-00000001")
    assert entry["organization"] == world.org_b.slug

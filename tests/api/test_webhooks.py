"""Webhooks: endpoints, deliveries from the outbox, signing, retries with backoff, re-send —
against a real HTTP server on a local port."""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.api.conftest import NEW_TICKET, Keys, bearer
from tests.conftest import World
from tickets.actors import Actor
from tickets.models import Event
from tickets.outbox import deliver_events
from tickets.services import ticket_agent_reply, ticket_internal_note
from webhooks import services
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from webhooks.signing import SIGNATURE_HEADER, sign, verify


@dataclass
class Receiver:
    """A local HTTP server that records what it receives and answers ``statuses`` in turn
    (then 200)."""

    url: str
    received: list[dict] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append({"headers": dict(self.headers), "body": body})
            self.send_response(state.statuses.pop(0) if state.statuses else 200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def _register(client: APIClient, url: str, types: list[str] | None = None) -> dict:
    response = client.post(
        "/api/v1/webhooks/",
        {"url": url, "event_types": types or ["ticket.created", "ticket.message_created"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def _outbox(now: object = None) -> None:
    """What the worker does after commit: hand every undelivered Event over."""
    ids = list(Event.objects.undelivered().values_list("pk", flat=True))
    deliver_events(ids, now=now or timezone.now())


def test_a_new_ticket_is_delivered_signed(
    world: World, keys: Keys, client_a: APIClient, receiver: Receiver
) -> None:
    endpoint = _register(client_a, receiver.url)
    assert endpoint["secret"].startswith("whsec_")
    assert "secret" not in client_a.get(f"/api/v1/webhooks/{endpoint['id']}/").json()
    created = client_a.post("/api/v1/tickets/", NEW_TICKET, format="json").json()
    _outbox()
    [delivery] = WebhookDelivery.objects.all()
    now = timezone.now()
    assert services.delivery_send(delivery_id=delivery.pk, now=now) == DeliveryStatus.DELIVERED

    [request] = receiver.received
    body = request["body"]
    assert verify(endpoint["secret"], request["headers"][SIGNATURE_HEADER], body,
                  now=int(now.timestamp()))  # fmt: skip
    assert not verify("whsec_other", request["headers"][SIGNATURE_HEADER], body,
                      now=int(now.timestamp()))  # fmt: skip
    payload = json.loads(body)
    assert payload["type"] == "ticket.created"
    assert payload["data"]["ticket"]["number"] == created["number"]
    assert request["headers"]["Supportdesk-Event"] == "ticket.created"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_response_code) == (
        "delivered",
        1,
        200,
    )


def test_the_outbox_creates_each_delivery_once(
    world: World, keys: Keys, client_a: APIClient, receiver: Receiver
) -> None:
    _register(client_a, receiver.url)
    client_a.post("/api/v1/tickets/", NEW_TICKET, format="json")
    events = list(Event.objects.all())
    services.deliveries_for_events(events, now=timezone.now())
    services.deliveries_for_events(events, now=timezone.now())  # a re-run of the outbox
    _outbox()
    assert WebhookDelivery.objects.count() == 1
    assert Event.objects.undelivered().count() == 0


def test_only_subscribed_public_events_of_the_own_organization_are_sent(
    world: World, keys: Keys, client_a: APIClient, client_b: APIClient, receiver: Receiver
) -> None:
    _register(client_a, receiver.url, ["ticket.message_created"])
    ticket = world.file()
    world.file(world.admin_b)  # another tenant's event
    agent = Actor.for_user(world.agent)
    ticket_internal_note(ticket=ticket, actor=agent, body="secret note", now=timezone.now())
    ticket_agent_reply(ticket=ticket, actor=agent, body="We are on it.", now=timezone.now())
    _outbox()
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.event_type == "ticket.message_created"
    assert delivery.payload["data"]["message"]["body"] == "We are on it."
    assert "secret note" not in json.dumps(delivery.payload)
    assert "agent@provider.test" not in json.dumps(delivery.payload)


def test_failures_are_retried_with_exponential_backoff_then_given_up(
    world: World, keys: Keys, client_a: APIClient, receiver: Receiver,
    settings: pytest.FixtureRequest,
) -> None:  # fmt: skip
    settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, WEBHOOK_MAX_ATTEMPTS=3)
    receiver.statuses = [500, 503, 500]
    _register(client_a, receiver.url)
    client_a.post("/api/v1/tickets/", NEW_TICKET, format="json")
    start = timezone.now()
    _outbox(start)
    delivery = WebhookDelivery.objects.get()
    base = timedelta(seconds=settings.SUPPORTDESK.WEBHOOK_RETRY_BASE_SECONDS)

    assert services.delivery_send(delivery_id=delivery.pk, now=start) == "pending"
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == start + base
    assert (delivery.attempts, delivery.last_response_code) == (1, 500)
    # Not due yet: nothing is sent.
    assert services.send_due(now=start + base - timedelta(seconds=1)) == 0
    assert len(receiver.received) == 1

    second = start + base
    assert services.delivery_send(delivery_id=delivery.pk, now=second) == "pending"
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == second + 2 * base
    assert delivery.last_response_code == 503

    third = second + 2 * base
    assert services.delivery_send(delivery_id=delivery.pk, now=third) == "failed"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 3, None)
    assert len(receiver.received) == 3
    # Each attempt was signed at its own time.
    stamps = [r["headers"][SIGNATURE_HEADER].split(",")[0] for r in receiver.received]
    assert len(set(stamps)) == 3


def test_an_unreachable_endpoint_counts_as_a_failed_attempt(
    world: World, keys: Keys, client_a: APIClient
) -> None:
    _register(client_a, "http://127.0.0.1:9/closed-port")
    client_a.post("/api/v1/tickets/", NEW_TICKET, format="json")
    _outbox()
    delivery = WebhookDelivery.objects.get()
    assert services.delivery_send(delivery_id=delivery.pk, now=timezone.now()) == "pending"
    delivery.refresh_from_db()
    assert delivery.last_response_code is None
    assert delivery.last_error


def test_a_delivery_can_be_resent_from_the_api(
    world: World, keys: Keys, client_a: APIClient, receiver: Receiver
) -> None:
    endpoint = _register(client_a, receiver.url)
    client_a.post("/api/v1/tickets/", NEW_TICKET, format="json")
    _outbox()
    delivery = WebhookDelivery.objects.get()
    services.delivery_send(delivery_id=delivery.pk, now=timezone.now())
    log = client_a.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries/").json()["results"]
    assert [(d["id"], d["status"]) for d in log] == [(delivery.pk, "delivered")]

    url = f"/api/v1/webhooks/{endpoint['id']}/deliveries/{delivery.pk}/resend/"
    queued = client_a.post(url)
    assert queued.status_code == 202
    assert queued.json()["status"] == "pending"
    assert services.send_due(now=timezone.now()) == 1
    assert len(receiver.received) == 2
    assert receiver.received[0]["body"] == receiver.received[1]["body"]


def test_a_switched_off_endpoint_is_not_sent_to(
    world: World, keys: Keys, client_a: APIClient, receiver: Receiver
) -> None:
    endpoint = _register(client_a, receiver.url)
    off = client_a.patch(f"/api/v1/webhooks/{endpoint['id']}/", {"is_active": False}, format="json")
    assert off.json()["is_active"] is False
    client_a.post("/api/v1/tickets/", NEW_TICKET, format="json")
    _outbox()
    assert not WebhookDelivery.objects.exists()
    assert client_a.delete(f"/api/v1/webhooks/{endpoint['id']}/").status_code == 204
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "http:///nohost", "http://127.0.0.1/x", "http://10.1.2.3/x",
            "http://169.254.169.254/latest", "http://[::1]/x",
            # The probe's forms (issue 17): IPv4 wrapped in IPv6, site-local, multicast.
            "http://[::ffff:0:7f00:1]/", "http://[::7f00:1]/", "http://[::127.0.0.1]/",
            "http://[64:ff9b::7f00:1]/", "http://[2002:7f00:1::]/", "http://[fec0::1]/",
            "http://[ff02::1]/", "http://224.0.0.1/", "http://239.255.255.250/",
            "http://[::ffff:10.0.0.1]/", "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",
            "http://0.0.0.0/", "http://[::]/"],
)  # fmt: skip
def test_private_addresses_and_other_schemes_are_refused_in_production(
    world: World, keys: Keys, client_a: APIClient, settings: pytest.FixtureRequest, url: str
) -> None:
    settings.SUPPORTDESK = dataclasses.replace(
        settings.SUPPORTDESK, WEBHOOK_ALLOW_PRIVATE_ADDRESSES=False
    )
    response = client_a.post(
        "/api/v1/webhooks/", {"url": url, "event_types": ["ticket.created"]}, format="json"
    )
    assert response.status_code == 400
    assert "url" in response.json()["fields"]
    assert not WebhookEndpoint.objects.exists()


def test_the_send_time_check_refuses_a_now_private_target(
    world: World, keys: Keys, client_a: APIClient, receiver: Receiver,
    settings: pytest.FixtureRequest,
) -> None:  # fmt: skip
    _register(client_a, receiver.url)
    client_a.post("/api/v1/tickets/", NEW_TICKET, format="json")
    _outbox()
    settings.SUPPORTDESK = dataclasses.replace(
        settings.SUPPORTDESK, WEBHOOK_ALLOW_PRIVATE_ADDRESSES=False
    )
    delivery = WebhookDelivery.objects.get()
    services.delivery_send(delivery_id=delivery.pk, now=timezone.now())
    assert receiver.received == []
    delivery.refresh_from_db()
    assert delivery.last_error == str(services.ERR_PRIVATE)


def test_webhooks_are_for_global_admins(world: World, receiver: Receiver) -> None:
    from tenants.api_keys import api_key_create
    from tenants.models import Role

    issued = api_key_create(
        organization=world.org_a, name="b", role=Role.BILLING_ADMIN, created_by=None,
        now=timezone.now(),
    )  # fmt: skip
    response = bearer(issued.secret).get("/api/v1/webhooks/")
    assert response.status_code == 403
    assert response.json()["code"] == "global_admin_only"


def test_signatures_reject_tampering_and_stale_timestamps() -> None:
    body = b'{"type":"ticket.created"}'
    header = sign("whsec_x", body, 1_000_000)
    assert verify("whsec_x", header, body, now=1_000_000)
    assert not verify("whsec_x", header, body + b" ", now=1_000_000)
    assert not verify("whsec_x", header, body, now=1_000_000 + 301)
    assert not verify("whsec_x", "t=abc,v1=00", body, now=1_000_000)
    assert not verify("whsec_x", "", body, now=1_000_000)


def test_the_retry_task_is_in_the_beat_schedule(settings: pytest.FixtureRequest) -> None:
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "webhooks.tasks.send_due" in tasks


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "::ffff:93.184.216.34",
     "2002:5db8:d822::1", "64:ff9b::5db8:d822"],
)  # fmt: skip
def test_public_unicast_addresses_pass(address: str) -> None:
    assert services.public_unicast(address)


def test_the_connection_goes_to_the_address_that_was_checked(
    world: World, keys: Keys, client_a: APIClient, receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """One lookup per send, and the request goes to its answer: a DNS answer that changes
    between the check and the connection (rebinding) cannot redirect it."""
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    real = socket.getaddrinfo
    lookups: list[str] = []

    def resolver(host: str, *args: object, **kwargs: object) -> object:
        if host == "hooks.customer.test":
            lookups.append(host)
            return real("127.0.0.1", *args, **kwargs)  # type: ignore[arg-type]
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    _register(client_a, f"http://hooks.customer.test:{port}/hook")
    client_a.post("/api/v1/tickets/", NEW_TICKET, format="json")
    _outbox()
    lookups.clear()
    delivery = WebhookDelivery.objects.get()
    assert services.delivery_send(delivery_id=delivery.pk, now=timezone.now()) == "delivered"
    assert lookups == ["hooks.customer.test"]
    [request] = receiver.received
    assert request["headers"]["Host"] == f"hooks.customer.test:{port}"


# --- Isolation between tenants (issue 17, probe finding 6) -------------------------------


def _deliveries(client: APIClient, url: str, tickets: int) -> tuple[dict, list[int]]:
    endpoint = _register(client, url, ["ticket.created"])
    for i in range(tickets):
        client.post("/api/v1/tickets/", {**NEW_TICKET, "title": f"Mail down {i}"}, format="json")
    _outbox()
    ids = list(
        WebhookDelivery.objects.filter(endpoint_id=endpoint["id"])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return endpoint, ids


def test_webhook_tasks_go_to_their_own_queue_and_workers(settings: pytest.FixtureRequest) -> None:
    """Sends never run on the default queue (the sweep, e-mail); the webhooks worker is
    started everywhere the product runs, on threads, and the default one never reads it."""
    from pathlib import Path

    from supportdesk.celery import app

    for task in ("webhooks.tasks.send_delivery", "webhooks.tasks.send_due"):
        assert app.amqp.router.route({}, task)["queue"].name == "webhooks"
    assert app.amqp.router.route({}, "tickets.tasks.deliver_events")["queue"].name == "celery"
    root = Path(settings.BASE_DIR)
    procfile = dict(line.split(": ", 1) for line in (root / "Procfile").read_text().splitlines())
    assert "-Q celery " in procfile["worker"]
    assert "-Q webhooks --pool threads" in procfile["webhooks"]
    compose = (root / "docker-compose.yml").read_text()
    assert '"-Q", "webhooks", "--pool", "threads"' in compose
    assert '"-Q", "celery"' in compose


def test_an_endpoint_is_sent_one_delivery_at_a_time(
    world: World, keys: Keys, client_a: APIClient, receiver: Receiver
) -> None:
    endpoint, (first, second) = _deliveries(client_a, receiver.url, 2)
    now = timezone.now()
    # Another worker is sending to this endpoint: the delivery waits, pending and due.
    WebhookEndpoint.objects.filter(pk=endpoint["id"]).update(
        sending_until=now + timedelta(seconds=30)
    )
    assert services.delivery_send(delivery_id=first, now=now) is None
    assert receiver.received == []
    assert WebhookDelivery.objects.get(pk=first).next_attempt_at <= now
    # The lease is free again after the send: the next delivery goes.
    WebhookEndpoint.objects.filter(pk=endpoint["id"]).update(sending_until=None)
    assert services.delivery_send(delivery_id=first, now=now) == "delivered"
    assert WebhookEndpoint.objects.get(pk=endpoint["id"]).sending_until is None
    assert services.delivery_send(delivery_id=second, now=now) == "delivered"


def test_an_organization_has_at_most_its_share_of_sends_in_flight(
    world: World, keys: Keys, client_a: APIClient, client_b: APIClient, receiver: Receiver,
    settings: pytest.FixtureRequest,
) -> None:  # fmt: skip
    settings.SUPPORTDESK = dataclasses.replace(
        settings.SUPPORTDESK, WEBHOOK_ORGANIZATION_CONCURRENCY=1
    )
    busy = _register(client_a, receiver.url + "/busy", ["ticket.created"])
    _endpoint, [mine] = _deliveries(client_a, receiver.url, 1)
    _other, [theirs] = _deliveries(client_b, receiver.url + "/b", 1)
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk=busy["id"]).update(sending_until=now + timedelta(seconds=30))
    assert services.delivery_send(delivery_id=mine, now=now) is None
    # Another organization is not held back by it.
    assert services.delivery_send(delivery_id=theirs, now=now) == "delivered"
    WebhookEndpoint.objects.filter(pk=busy["id"]).update(sending_until=None)
    assert services.delivery_send(delivery_id=mine, now=now) == "delivered"


def test_a_slow_answer_is_cut_off_at_the_whole_request_timeout(
    world: World, keys: Keys, client_a: APIClient, settings: pytest.FixtureRequest
) -> None:
    """An endpoint that answers a byte at a time never trips a per-read timeout; the
    attempt as a whole still ends after WEBHOOK_TIMEOUT_SECONDS."""
    import time

    settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, WEBHOOK_TIMEOUT_SECONDS=1.0)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def dribble() -> None:
        connection, _address = listener.accept()
        with connection:
            connection.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100:
                if stop.is_set():
                    return
                connection.sendall(bytes([byte]))
                time.sleep(0.2)

    thread = threading.Thread(target=dribble, daemon=True)
    thread.start()
    try:
        _endpoint, [pk] = _deliveries(client_a, f"http://127.0.0.1:{listener.getsockname()[1]}/", 1)
        started = time.monotonic()
        assert services.delivery_send(delivery_id=pk, now=timezone.now()) == "pending"
        took = time.monotonic() - started
    finally:
        stop.set()
        listener.close()
    assert took < 2.5
    assert WebhookDelivery.objects.get(pk=pk).last_error == "No answer within 1 s"


def test_an_endpoint_that_keeps_failing_is_stopped_then_tried_again(
    world: World, keys: Keys, client_a: APIClient, receiver: Receiver,
    settings: pytest.FixtureRequest,
) -> None:  # fmt: skip
    from audit.actions import Action
    from audit.models import AuditEntry

    settings.SUPPORTDESK = dataclasses.replace(
        settings.SUPPORTDESK, WEBHOOK_CIRCUIT_FAILURES=2, WEBHOOK_CIRCUIT_COOLDOWN_SECONDS=60
    )
    receiver.statuses = [500, 500, 500]
    endpoint, (one, two, three) = _deliveries(client_a, receiver.url, 3)
    url = f"/api/v1/webhooks/{endpoint['id']}/"
    now = timezone.now()
    assert services.delivery_send(delivery_id=one, now=now) == "pending"
    assert client_a.get(url).json()["circuit"] == "closed"
    assert services.delivery_send(delivery_id=two, now=now) == "pending"
    shown = client_a.get(url).json()
    assert (shown["circuit"], shown["consecutive_failures"]) == ("open", 2)
    [opened] = AuditEntry.objects.filter(action=Action.WEBHOOK_CIRCUIT_OPENED)
    assert (opened.organization_id, opened.target_id) == (world.org_a.pk, str(endpoint["id"]))

    # Open: held, not attempted.
    assert services.delivery_send(delivery_id=three, now=now) is None
    assert len(receiver.received) == 2
    assert WebhookDelivery.objects.get(pk=three).attempts == 0
    assert services.send_due(now=now + timedelta(seconds=59)) == 0

    # After the cool-down, one trial: it fails, so the circuit opens again (no new row).
    later = now + timedelta(seconds=61)
    assert services.send_due(now=later) == 0
    assert len(receiver.received) == 3
    assert WebhookEndpoint.objects.get(pk=endpoint["id"]).circuit(later) == "open"
    assert AuditEntry.objects.filter(action=Action.WEBHOOK_CIRCUIT_OPENED).count() == 1

    # A trial that succeeds closes it; the held deliveries follow.
    much_later = later + timedelta(hours=1)
    assert services.send_due(now=much_later) >= 1
    endpoint_row = WebhookEndpoint.objects.get(pk=endpoint["id"])
    assert (endpoint_row.circuit(much_later), endpoint_row.consecutive_failures) == ("closed", 0)


def test_switching_an_endpoint_on_again_closes_its_circuit(
    world: World, keys: Keys, client_a: APIClient, receiver: Receiver,
    settings: pytest.FixtureRequest,
) -> None:  # fmt: skip
    settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, WEBHOOK_CIRCUIT_FAILURES=1)
    receiver.statuses = [500]
    endpoint, (one, two) = _deliveries(client_a, receiver.url, 2)
    now = timezone.now()
    services.delivery_send(delivery_id=one, now=now)
    url = f"/api/v1/webhooks/{endpoint['id']}/"
    assert client_a.get(url).json()["circuit"] == "open"
    assert services.delivery_send(delivery_id=two, now=timezone.now()) is None

    resumed = client_a.patch(url, {"is_active": True}, format="json").json()
    assert (resumed["circuit"], resumed["consecutive_failures"]) == ("closed", 0)
    assert services.delivery_send(delivery_id=two, now=timezone.now()) == "delivered"


def test_an_organization_has_at_most_its_limit_of_endpoints(
    world: World, keys: Keys, client_a: APIClient, client_b: APIClient, receiver: Receiver,
    settings: pytest.FixtureRequest, client: object,
) -> None:  # fmt: skip
    from django.test import Client
    from django.urls import reverse

    settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, WEBHOOK_MAX_ENDPOINTS=2)
    _register(client_a, receiver.url + "/1")
    _register(client_a, receiver.url + "/2")
    refused = client_a.post(
        "/api/v1/webhooks/", {"url": receiver.url, "event_types": ["ticket.created"]},
        format="json",
    )  # fmt: skip
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "too_many_endpoints"
    assert body["fields"]["url"] == [str(services.ERR_TOO_MANY % {"limit": 2})]
    # The portal refuses it the same way, from the same service.
    assert isinstance(client, Client)
    client.force_login(world.admin_a.user)
    page = client.post(
        reverse("portal:settings_webhooks", kwargs={"org": world.org_a.slug}),
        {"url": receiver.url, "event_types": ["ticket.created"]},
    )
    assert page.status_code == 200
    assert page.context["form"].errors["url"] == [str(services.ERR_TOO_MANY % {"limit": 2})]
    assert WebhookEndpoint.objects.filter(organization=world.org_a).count() == 2
    # Another organization's endpoints are its own.
    _register(client_b, receiver.url + "/b")


def test_the_outbox_queues_one_task_per_endpoint(
    world: World, keys: Keys, client_a: APIClient, receiver: Receiver,
    settings: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:  # fmt: skip
    """A flood of Events queues each endpoint's oldest delivery; the rest follow one at a
    time as each send finishes (so a flooded endpoint never floods the queue)."""
    published: list[int] = []
    monkeypatch.setattr(services, "_publish", lambda ids: published.extend(ids) or len(ids))
    first = _register(client_a, receiver.url + "/1", ["ticket.created"])
    second = _register(client_a, receiver.url + "/2", ["ticket.created"])
    for i in range(3):
        client_a.post("/api/v1/tickets/", {**NEW_TICKET, "title": f"Flood {i}"}, format="json")
    settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, OUTBOX_TASKS=True)
    with django_capture_on_commit_callbacks(execute=True):
        _outbox()
    assert WebhookDelivery.objects.count() == 6
    assert len(published) == 2
    endpoints = {WebhookDelivery.objects.get(pk=pk).endpoint_id for pk in published}
    assert endpoints == {first["id"], second["id"]}
    # Each send queues the organization's next in line.
    published.clear()
    oldest = min(WebhookDelivery.objects.values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        services.delivery_send(delivery_id=oldest, now=timezone.now())
    assert published and all(
        WebhookDelivery.objects.get(pk=pk).status == "pending" for pk in published
    )


def test_the_portal_shows_a_stopped_endpoint_and_sends_again(
    world: World, client: object, receiver: Receiver
) -> None:
    from django.test import Client
    from django.urls import reverse

    assert isinstance(client, Client)
    endpoint = services.endpoint_create(
        organization=world.org_a, url=receiver.url, event_types=["ticket.created"],
        description="", created_by=None, now=timezone.now(),
    ).endpoint  # fmt: skip
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        consecutive_failures=5, circuit_open_until=timezone.now() + timedelta(minutes=5)
    )
    client.force_login(world.admin_a.user)
    org = {"org": world.org_a.slug}
    listing = client.get(reverse("portal:settings_webhooks", kwargs=org))
    assert b'data-testid="webhook-circuit"' in listing.content
    detail_url = reverse("portal:settings_webhook", kwargs={**org, "endpoint": endpoint.pk})
    detail = client.get(detail_url)
    assert b'data-testid="webhook-circuit"' in detail.content
    assert b"Send again now" in detail.content
    client.post(detail_url, {"active": "on"})
    endpoint.refresh_from_db()
    assert (endpoint.circuit(), endpoint.consecutive_failures, endpoint.is_active) == (
        "closed",
        0,
        True,
    )
    assert b'data-testid="webhook-circuit"' not in client.get(detail_url).content


def test_a_retention_purge_is_sent_to_endpoints_subscribed_to_requests_purged(
    world: World, keys: Keys, client_a: APIClient, receiver: Receiver
) -> None:
    from privacy.services import retention_purge
    from tenants.retention import retention_set
    from tickets.models import Status, Ticket

    _register(client_a, receiver.url, ["requests.purged"])
    _register(client_a, receiver.url.replace("/hook", "/other"), ["ticket.updated"])
    now = timezone.now()
    ticket = world.file()
    Ticket.objects.filter(pk=ticket.pk).update(
        status=Status.CLOSED, closed_at=now - timedelta(days=60)
    )
    retention_set(organization=world.org_a, days=30, actor=None, now=now)
    _outbox(now)  # the request's own Events, before the purge
    WebhookDelivery.objects.all().delete()

    assert retention_purge(now=now).requests == 1
    _outbox(now)

    [delivery] = WebhookDelivery.objects.all()
    assert delivery.event_type == "requests.purged"
    assert services.delivery_send(delivery_id=delivery.pk, now=now) == "delivered"
    [request] = receiver.received
    assert request["headers"]["Supportdesk-Event"] == "requests.purged"
    payload = json.loads(request["body"])
    assert payload["type"] == "requests.purged"
    assert payload["organization"] == world.org_a.slug
    assert payload["data"]["purged"]["references"] == [ticket.reference]
    assert payload["data"]["purged"]["count"] == 1
    assert "ticket" not in payload["data"]
    assert Event.objects.undelivered().count() == 0

"""Webhooks: endpoints, deliveries from the outbox, signing, retries with backoff, re-send —
against a real HTTP server on a local port."""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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

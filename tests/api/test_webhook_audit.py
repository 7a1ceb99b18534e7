"""Webhooks in the audit trail (issue 17): registering, pausing, resuming, deleting and
re-sending write one row each, in the change's transaction, from every channel that can
make the change — the portal, the API (a signed-in admin or an API key) and the Django
admin — with the channel it came from."""

from __future__ import annotations

import dataclasses

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from audit.actions import Action, Channel
from audit.models import AuditEntry
from tests.api.conftest import NEW_TICKET, Keys
from tests.conftest import World
from tickets.models import Event
from tickets.outbox import deliver_events
from webhooks import services
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

URL = "http://127.0.0.1:9/hook"


def _rows() -> list[tuple[str, str, str]]:
    return list(
        AuditEntry.objects.filter(action__startswith="webhook.")
        .order_by("pk")
        .values_list("action", "channel", "target_id")
    )


def _one_delivery(endpoint: WebhookEndpoint, client: APIClient) -> WebhookDelivery:
    client.post("/api/v1/tickets/", NEW_TICKET, format="json")
    deliver_events(Event.objects.undelivered().values_list("pk", flat=True), now=timezone.now())
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED)
    return delivery


def test_every_change_through_the_api_is_audited(
    world: World, keys: Keys, client_a: APIClient
) -> None:
    created = client_a.post(
        "/api/v1/webhooks/", {"url": URL, "event_types": ["ticket.created"]}, format="json"
    ).json()
    pk = str(created["id"])
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    delivery = _one_delivery(endpoint, client_a)
    base = f"/api/v1/webhooks/{pk}/"
    assert client_a.post(f"{base}deliveries/{delivery.pk}/resend/").status_code == 202
    client_a.patch(base, {"is_active": False}, format="json")
    client_a.patch(base, {"is_active": False}, format="json")  # unchanged: no row
    client_a.patch(base, {"is_active": True}, format="json")
    assert client_a.delete(base).status_code == 204

    assert _rows() == [
        (Action.WEBHOOK_CREATED, Channel.API, pk),
        (Action.WEBHOOK_RESENT, Channel.API, pk),
        (Action.WEBHOOK_PAUSED, Channel.API, pk),
        (Action.WEBHOOK_RESUMED, Channel.API, pk),
        (Action.WEBHOOK_DELETED, Channel.API, pk),
    ]
    entries = AuditEntry.objects.filter(action__startswith="webhook.")
    # An API key acts without a user: the row names the key, and the organization.
    assert {(e.organization_id, e.actor_id) for e in entries} == {(world.org_a.pk, None)}
    assert all(e.actor_label for e in entries)
    created_row = entries.get(action=Action.WEBHOOK_CREATED)
    assert created_row.after["url"] == URL
    assert "secret" not in created_row.after
    assert entries.get(action=Action.WEBHOOK_DELETED).before["url"] == URL


def test_every_change_through_the_portal_is_audited(
    world: World, keys: Keys, client_a: APIClient, client: Client
) -> None:
    client.force_login(world.admin_a.user)

    def url(name: str, **kwargs: object) -> str:
        return reverse(f"portal:{name}", kwargs={"org": world.org_a.slug, **kwargs})

    client.post(url("settings_webhooks"), {"url": URL, "event_types": ["ticket.created"]})
    endpoint = WebhookEndpoint.objects.get()
    pk = str(endpoint.pk)
    delivery = _one_delivery(endpoint, client_a)
    client.post(url("settings_webhook_resend", endpoint=endpoint.pk, delivery=delivery.pk))
    client.post(url("settings_webhook", endpoint=endpoint.pk), {"active": "off"})
    client.post(url("settings_webhook", endpoint=endpoint.pk), {"active": "on"})
    client.post(url("settings_webhook", endpoint=endpoint.pk), {"action": "delete"})

    assert _rows() == [
        (Action.WEBHOOK_CREATED, Channel.PORTAL, pk),
        (Action.WEBHOOK_RESENT, Channel.PORTAL, pk),
        (Action.WEBHOOK_PAUSED, Channel.PORTAL, pk),
        (Action.WEBHOOK_RESUMED, Channel.PORTAL, pk),
        (Action.WEBHOOK_DELETED, Channel.PORTAL, pk),
    ]
    webhook_rows = AuditEntry.objects.filter(action__startswith="webhook.")
    actors = set(webhook_rows.values_list("actor_id", flat=True))
    assert actors == {world.admin_a.user.pk}


def test_every_change_through_the_django_admin_is_audited(world: World, client: Client) -> None:
    superuser = get_user_model().objects.create_superuser("root@provider.test", "a-long-pass-1")
    client.force_login(superuser)
    endpoint = services.endpoint_create(
        organization=world.org_a, url=URL, event_types=["ticket.created"], description="",
        created_by=None, now=timezone.now(),
    ).endpoint  # fmt: skip
    pk = str(endpoint.pk)
    changelist = reverse("admin:webhooks_webhookendpoint_changelist")
    client.post(changelist, {"action": "deactivate", "_selected_action": [endpoint.pk]})
    client.post(changelist, {"action": "activate", "_selected_action": [endpoint.pk]})
    client.post(
        reverse("admin:webhooks_webhookendpoint_delete", args=[endpoint.pk]), {"post": "yes"}
    )

    assert _rows() == [
        (Action.WEBHOOK_CREATED, Channel.SYSTEM, pk),
        (Action.WEBHOOK_PAUSED, Channel.ADMIN, pk),
        (Action.WEBHOOK_RESUMED, Channel.ADMIN, pk),
        (Action.WEBHOOK_DELETED, Channel.ADMIN, pk),
    ]
    assert not WebhookEndpoint.objects.exists()


def test_a_refused_registration_leaves_no_row(
    world: World, keys: Keys, client_a: APIClient, settings: pytest.FixtureRequest
) -> None:
    settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, WEBHOOK_MAX_ENDPOINTS=1)
    body = {"url": URL, "event_types": ["ticket.created"]}
    first = client_a.post("/api/v1/webhooks/", body, format="json")
    another = {**body, "url": URL + "/another"}
    second = client_a.post("/api/v1/webhooks/", another, format="json")
    assert first.status_code == 201
    assert second.json()["code"] == "too_many_endpoints"
    assert [row[0] for row in _rows()] == [Action.WEBHOOK_CREATED]

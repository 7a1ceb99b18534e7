"""The portal's API key and webhook pages (``/portal/<org>/settings/…``): global admins
only; a key and a signing secret are shown once."""

from __future__ import annotations

import dataclasses

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tenants.credentials import ApiKey
from tenants.models import Role
from tests.api.conftest import bearer
from tests.conftest import World
from tests.factories import MembershipFactory
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from webhooks.services import deliveries_for_events


def _url(name: str, **kwargs: object) -> str:
    return reverse(f"portal:{name}", kwargs={"org": "alpha", **kwargs})


def test_a_global_admin_creates_a_key_shown_once(world: World, client: Client) -> None:
    client.force_login(world.admin_a.user)
    created = client.post(
        _url("settings_api_keys"), {"name": "Monitoring", "role": Role.SERVICE_SUPPORT_ADMIN}
    )
    assert created.status_code == 200
    key = ApiKey.objects.get()
    secret = created.context["issued"].secret
    assert secret.encode() in created.content
    assert (key.name, key.role, key.created_by) == (
        "Monitoring",
        Role.SERVICE_SUPPORT_ADMIN,
        world.admin_a.user,
    )
    assert bearer(secret).get("/api/v1/tickets/").status_code == 200
    listed = client.get(_url("settings_api_keys"))
    assert secret.encode() not in listed.content
    assert key.prefix.encode() in listed.content


def test_a_plain_role_cannot_be_chosen_for_a_key(world: World, client: Client) -> None:
    client.force_login(world.admin_a.user)
    response = client.post(_url("settings_api_keys"), {"name": "x", "role": Role.USER})
    assert response.status_code == 200
    assert "role" in response.context["form"].errors
    assert not ApiKey.objects.exists()


def test_revoking_from_the_portal(world: World, client: Client) -> None:
    client.force_login(world.admin_a.user)
    created = client.post(_url("settings_api_keys"), {"name": "ci", "role": Role.GLOBAL_ADMIN})
    secret = created.context["issued"].secret
    key = ApiKey.objects.get()
    page = client.get(_url("settings_api_key_revoke", key=key.pk))
    assert page.status_code == 200
    assert not ApiKey.objects.get().revoked_at
    client.post(_url("settings_api_key_revoke", key=key.pk))
    assert ApiKey.objects.get().revoked_at is not None
    assert bearer(secret).get("/api/v1/tickets/").status_code == 401


def test_other_admins_are_told_who_can(world: World, client: Client) -> None:
    billing = MembershipFactory(organization=world.org_a, role=Role.BILLING_ADMIN)
    client.force_login(billing.user)
    for name in ("settings_api_keys", "settings_webhooks"):
        response = client.get(_url(name))
        assert response.status_code == 403
        assert "portal/settings_api_refused.html" in [t.name for t in response.templates]
    client.post(_url("settings_api_keys"), {"name": "x", "role": Role.GLOBAL_ADMIN})
    assert not ApiKey.objects.exists()


def test_webhook_pages_register_log_and_resend(world: World, client: Client) -> None:
    client.force_login(world.admin_a.user)
    registered = client.post(
        _url("settings_webhooks"),
        {"url": "http://127.0.0.1:9/portal-hook", "event_types": ["ticket.created"]},
    )
    assert registered.status_code == 200
    secret = registered.context["registered"].secret
    assert secret.encode() in registered.content
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret == secret
    assert secret.encode() not in client.get(_url("settings_webhooks")).content

    ticket = world.file()
    [delivery_id] = deliveries_for_events(list(ticket.events.all()), now=timezone.now())
    WebhookDelivery.objects.filter(pk=delivery_id).update(status=DeliveryStatus.FAILED)
    log = client.get(_url("settings_webhook", endpoint=endpoint.pk))
    assert b"ticket.created" in log.content
    resend = _url("settings_webhook_resend", endpoint=endpoint.pk, delivery=delivery_id)
    assert client.get(resend).status_code == 200
    client.post(resend)
    assert WebhookDelivery.objects.get().status == DeliveryStatus.PENDING

    client.post(_url("settings_webhook", endpoint=endpoint.pk), {"active": "off"})
    assert WebhookEndpoint.objects.get().is_active is False
    client.post(_url("settings_webhook", endpoint=endpoint.pk), {"active": "on"})
    assert WebhookEndpoint.objects.get().is_active is True
    client.post(_url("settings_webhook", endpoint=endpoint.pk), {"action": "delete"})
    assert not WebhookEndpoint.objects.exists()


def test_a_private_webhook_url_is_refused_on_the_form(
    world: World, client: Client, settings: object
) -> None:
    settings.SUPPORTDESK = dataclasses.replace(  # type: ignore[attr-defined]
        settings.SUPPORTDESK,  # type: ignore[attr-defined]
        WEBHOOK_ALLOW_PRIVATE_ADDRESSES=False,
    )
    client.force_login(world.admin_a.user)
    response = client.post(
        _url("settings_webhooks"),
        {"url": "http://127.0.0.1/x", "event_types": ["ticket.created"]},
    )
    assert "url" in response.context["form"].errors
    assert not WebhookEndpoint.objects.exists()

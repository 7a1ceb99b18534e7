"""Webhook use cases: register an endpoint, turn ticket Events into deliveries, send
them signed with retries, re-send on request (DESIGN.md "REST API", "Workers").

Deliveries are created by the outbox (``tickets.outbox.deliver_events``) for every
Event it hands over, idempotently: one row per (endpoint, Event) under a unique
constraint, so the outbox running twice creates nothing twice. Sending claims a due
delivery with a conditional UPDATE (a lease), so two workers never send it at once.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import secrets
import socket
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from core import metrics
from core.refusals import Refused
from tenants.models import Organization, User
from tickets.models import Event, EventKind, Message, MessageKind
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEventType
from webhooks.signing import SIGNATURE_HEADER, sign

logger = logging.getLogger(__name__)

ERR_SCHEME = _("Use an http:// or https:// URL.")
ERR_HOST = _("The URL needs a host name.")
ERR_UNRESOLVABLE = _("The host name does not resolve.")
ERR_PRIVATE = _("The URL points at a private, loopback or reserved address.")
ERR_NO_EVENTS = _("Choose at least one event type.")
ERR_UNKNOWN_EVENT = _("Unknown event type: %(value)s.")
ERR_INACTIVE = _("This endpoint is switched off; switch it on to re-send.")

# Which ticket Events an integration hears about; internal notes are never sent.
EVENT_TYPE_FOR_KIND: dict[str, WebhookEventType] = {
    EventKind.CREATED: WebhookEventType.TICKET_CREATED,
    EventKind.ASSIGNED: WebhookEventType.TICKET_UPDATED,
    EventKind.REOPENED: WebhookEventType.TICKET_UPDATED,
    EventKind.CLOSED: WebhookEventType.TICKET_UPDATED,
    EventKind.SEVERITY_CHANGED: WebhookEventType.TICKET_UPDATED,
    EventKind.REMINDED: WebhookEventType.TICKET_UPDATED,
    EventKind.RATED: WebhookEventType.TICKET_UPDATED,
    EventKind.CONTACT_CHANGED: WebhookEventType.TICKET_UPDATED,
    EventKind.REPLIED: WebhookEventType.TICKET_MESSAGE_CREATED,
    EventKind.INFORMATION_REQUESTED: WebhookEventType.TICKET_MESSAGE_CREATED,
    EventKind.CUSTOMER_REPLIED: WebhookEventType.TICKET_MESSAGE_CREATED,
    EventKind.RESOLVED: WebhookEventType.TICKET_RESOLVED,
    EventKind.WARNED: WebhookEventType.SLA_WARNING,
    EventKind.ESCALATED: WebhookEventType.SLA_BREACHED,
    EventKind.DOWNGRADED: WebhookEventType.SEVERITY_DOWNGRADED,
}

# The fields of an Event's before/after an integration may see (never staff e-mails).
_SHARED_CHANGES = ("status", "severity", "level", "lapse_at", "first_response")


class WebhookError(Refused):
    """A refused webhook endpoint or delivery."""


# --- Endpoints -----------------------------------------------------------------------------


# IPv6 forms that carry an IPv4 address the connection really reaches.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or ip in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def public_unicast(address: str) -> bool:
    """Globally routable unicast: never loopback, private, link- or site-local,
    multicast, reserved or unspecified. An IPv6 address that wraps an IPv4 one (mapped,
    IPv4-compatible, 6to4, NAT64) is judged by the IPv4 address the connection really
    reaches; Teredo tunnels are refused outright."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.is_site_local or ip in _NAT64_LOCAL or ip.teredo is not None:
            return False
        inner = _embedded_ipv4(ip)
        if inner is not None:  # (the wrappers lie in ranges Python calls reserved)
            return public_unicast(str(inner))
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return False
    return ip.is_global


def _address_allowed(address: str) -> bool:
    return public_unicast(address) or settings.SUPPORTDESK.WEBHOOK_ALLOW_PRIVATE_ADDRESSES


def check_url(url: str) -> str:
    """An http(s) URL whose host resolves only to public addresses (private, loopback,
    link-local and reserved ones are refused unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES),
    so a tenant cannot make the workers call into the provider's own network."""
    return _checked(url)[0]


def _checked(url: str) -> tuple[str, str]:
    """The URL and the address it was checked at: the connection goes to that address,
    so a second DNS answer between the check and the connection changes nothing."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise WebhookError(ERR_SCHEME, field="url")
    if not parts.hostname:
        raise WebhookError(ERR_HOST, field="url")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError, UnicodeError) as error:
        raise WebhookError(ERR_UNRESOLVABLE, field="url") from error
    if not infos or not all(_address_allowed(str(info[4][0])) for info in infos):
        raise WebhookError(ERR_PRIVATE, field="url")
    return url.strip(), str(infos[0][4][0])


def check_event_types(values: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(values))
    if not chosen:
        raise WebhookError(ERR_NO_EVENTS, field="event_types")
    for value in chosen:
        if value not in WebhookEventType.values:
            raise WebhookError(ERR_UNKNOWN_EVENT % {"value": value}, field="event_types")
    return chosen


@dataclass(frozen=True, slots=True)
class RegisteredEndpoint:
    endpoint: WebhookEndpoint
    secret: str  # shown once


def endpoint_create(
    *,
    organization: Organization,
    url: str,
    event_types: Iterable[str],
    description: str,
    created_by: User | None,
    now: datetime,
) -> RegisteredEndpoint:
    url = check_url(url)
    chosen = check_event_types(event_types)
    secret = f"whsec_{secrets.token_urlsafe(32)}"
    endpoint = WebhookEndpoint.objects.create(
        organization=organization,
        url=url,
        description=description.strip(),
        secret=secret,
        event_types=chosen,
        created_by=created_by,
        created_at=now,
    )
    return RegisteredEndpoint(endpoint, secret)


def endpoint_set_active(*, endpoint: WebhookEndpoint, active: bool) -> WebhookEndpoint:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=active)
    endpoint.is_active = active
    return endpoint


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()


# --- Deliveries from Events (the outbox) ---------------------------------------------------


def _ticket_url(event: Event) -> str:
    ticket = event.ticket
    assert ticket is not None
    path = reverse("api:ticket-detail", kwargs={"number": ticket.reference})
    return settings.SITE_URL + path


def payload_for(event: Event, message: Message | None) -> dict[str, Any]:
    """What an integration receives: the ticket as it is now, what changed, and the public
    message for message events. A snapshot taken when the delivery is created."""
    ticket = event.ticket
    assert ticket is not None
    data: dict[str, Any] = {
        "ticket": {
            "number": ticket.reference,
            "title": ticket.title,
            "status": ticket.status,
            "severity": ticket.severity,
            "category": ticket.category,
            "channel": ticket.channel,
            "created_at": ticket.created_at,
            "updated_at": ticket.updated_at,
            "url": _ticket_url(event),
        },
        "change": {
            "kind": event.kind,
            "before": {k: v for k, v in event.before.items() if k in _SHARED_CHANGES},
            "after": {k: v for k, v in event.after.items() if k in _SHARED_CHANGES},
        },
    }
    if message is not None:
        data["message"] = {
            "id": message.pk,
            "author_role": message.author_role,
            "body": message.body,
            "created_at": message.created_at,
        }
    body = {
        "id": f"evt_{event.pk}",
        "type": EVENT_TYPE_FOR_KIND[event.kind].value,
        "created_at": event.created_at,
        "organization": ticket.organization.slug,
        "data": data,
    }
    # Stored as JSON-ready values, so the bytes sent equal the bytes signed on re-send.
    ready: dict[str, Any] = json.loads(json.dumps(body, cls=DjangoJSONEncoder))
    return ready


def deliveries_for_events(events: Sequence[Event], *, now: datetime) -> list[int]:
    """Create the pending deliveries these Events call for and queue their sending after
    commit. Idempotent; returns the ids of the pending deliveries of these Events."""
    wanted = [e for e in events if e.kind in EVENT_TYPE_FOR_KIND and e.ticket_id is not None]
    if not wanted:
        return []
    organizations = {e.organization_id for e in wanted}
    endpoints = list(WebhookEndpoint.objects.active().filter(organization_id__in=organizations))
    if not endpoints:
        return []
    message_ids = [e.after["message"] for e in wanted if isinstance(e.after.get("message"), int)]
    messages = Message.objects.filter(kind=MessageKind.REPLY).in_bulk(message_ids)
    rows = []
    for event in wanted:
        event_type = EVENT_TYPE_FOR_KIND[event.kind]
        message = messages.get(event.after.get("message"))
        if message is not None and message.ticket_id != event.ticket_id:
            message = None
        payload: dict[str, Any] | None = None
        for endpoint in endpoints:
            if endpoint.organization_id != event.organization_id or not endpoint.wants(event_type):
                continue
            payload = payload if payload is not None else payload_for(event, message)
            rows.append(
                WebhookDelivery(
                    endpoint=endpoint,
                    event=event,
                    event_type=event_type,
                    payload=payload,
                    next_attempt_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )
    if not rows:
        return []
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    ids = list(
        WebhookDelivery.objects.filter(
            event__in=wanted, status=DeliveryStatus.PENDING, attempts=0
        ).values_list("pk", flat=True)
    )
    queue_send(ids)
    return ids


def queue_send(delivery_ids: list[int]) -> None:
    """Publish the sending task after commit; never fails the caller (the periodic
    ``send_due`` task sends whatever was not published)."""
    if not delivery_ids or not settings.SUPPORTDESK.OUTBOX_TASKS:
        return

    def publish() -> None:
        from webhooks.tasks import send_deliveries

        try:
            send_deliveries.apply_async(args=(delivery_ids,), retry=False, ignore_result=True)
        except Exception:
            logger.warning("webhook task for %s not queued", delivery_ids, exc_info=True)

    transaction.on_commit(publish)


# --- Sending -------------------------------------------------------------------------------


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the ``attempts``-th failure: base, 2×base, 4×base, …"""
    base = settings.SUPPORTDESK.WEBHOOK_RETRY_BASE_SECONDS
    return timedelta(seconds=base * 2 ** max(attempts - 1, 0))


def delivery_send(*, delivery_id: int, now: datetime) -> str | None:
    """Send one due delivery; returns its new status, or None when it was not due or
    another worker holds it."""
    timeout = settings.SUPPORTDESK.WEBHOOK_TIMEOUT_SECONDS
    lease = now + timedelta(seconds=timeout * 2 + 30)
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=lease)
    if claimed != 1:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None:  # its endpoint was deleted meanwhile
        return None
    endpoint = delivery.endpoint
    code, error = None, ""
    if not endpoint.is_active:
        error = "endpoint switched off"
    else:
        code, error = _post(endpoint, delivery, timeout=timeout, now=now)
    return _record_attempt(delivery, code=code, error=error, now=now)


def _post(
    endpoint: WebhookEndpoint, delivery: WebhookDelivery, *, timeout: float, now: datetime
) -> tuple[int | None, str]:
    import httpx

    try:
        # Again at send time (DNS may have changed since), and the connection goes to
        # the very address checked, never to a second lookup's answer.
        url, address = _checked(endpoint.url)
    except WebhookError as refused:
        return None, refused.message
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if ":" in address else address
    pinned = parts._replace(netloc=f"{literal}:{parts.port}" if parts.port else literal)
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "supportdesk-webhooks/1",
        "Supportdesk-Event": delivery.event_type,
        "Supportdesk-Delivery": str(delivery.pk),
        SIGNATURE_HEADER: sign(endpoint.secret, body, int(now.timestamp())),
        "Host": parts.netloc.rsplit("@", 1)[-1],
    }
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.post(
                pinned.geturl(),
                content=body,
                headers=headers,
                # TLS names and verifies the host the tenant registered, not the address.
                extensions={"sni_hostname": host} if parts.scheme == "https" else None,
            )
    except httpx.HTTPError as failure:
        return None, f"{type(failure).__name__}: {failure}"[:300]
    return response.status_code, "" if response.is_success else f"HTTP {response.status_code}"


def _record_attempt(
    delivery: WebhookDelivery, *, code: int | None, error: str, now: datetime
) -> str:
    attempts = delivery.attempts + 1
    changes: dict[str, Any] = {
        "attempts": attempts,
        "last_response_code": code,
        "last_error": error,
        "updated_at": now,
    }
    if error:
        metrics.WEBHOOK_FAILURES.inc()
    if not error:
        changes.update(status=DeliveryStatus.DELIVERED, delivered_at=now, next_attempt_at=None)
    elif attempts >= settings.SUPPORTDESK.WEBHOOK_MAX_ATTEMPTS:
        changes.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
        logger.warning("webhook delivery %s failed for good: %s", delivery.pk, error)
    else:
        changes.update(next_attempt_at=now + retry_delay(attempts))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**changes)
    return str(changes.get("status", DeliveryStatus.PENDING))


def send_due(*, now: datetime, limit: int = 200) -> int:
    """Send the pending deliveries whose time has come (retries, and any whose task was
    lost); returns how many were delivered."""
    ids = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(delivery_send(delivery_id=pk, now=now) == DeliveryStatus.DELIVERED for pk in ids)


def delivery_resend(*, delivery: WebhookDelivery, now: datetime) -> WebhookDelivery:
    """Queue a delivery again (delivered or failed ones too): the same payload, signed
    anew when sent."""
    if not delivery.endpoint.is_active:
        raise WebhookError(ERR_INACTIVE, code="inactive")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, updated_at=now
    )
    delivery.refresh_from_db()
    queue_send([delivery.pk])
    return delivery


class FailedDeliveries(Collector):
    """/metrics: webhook deliveries that gave up after their retries (read when scraped)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "supportdesk_webhook_deliveries_failed",
            "Webhook deliveries that gave up after their retries.",
        )
        gauge.add_metric([], WebhookDelivery.objects.filter(status=DeliveryStatus.FAILED).count())
        yield gauge

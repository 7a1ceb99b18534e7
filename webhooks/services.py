"""Webhook use cases: register an endpoint, turn ticket Events into deliveries, send
them signed with retries, re-send on request (DESIGN.md "REST API", "Workers").

Deliveries are created by the outbox (``tickets.outbox.deliver_events``) for every
Event it hands over, idempotently: one row per (endpoint, Event) under a unique
constraint, so the outbox running twice creates nothing twice. Sending claims a due
delivery with a conditional UPDATE (a lease), so two workers never send it at once.

Tenants are kept apart (issue 17: ten slow endpoints of one organization held the one
worker for 40 s and every other tenant's webhooks, the sweep and the e-mail waited).
Each delivery is sent by its own task on the ``webhooks`` queue, which only the webhooks
worker reads. An endpoint is sent one delivery at a time (a lease on the endpoint row),
an organization has at most WEBHOOK_ORGANIZATION_CONCURRENCY sends in flight, and one
attempt lasts at most WEBHOOK_TIMEOUT_SECONDS. A delivery that finds its endpoint or its
organization busy is left pending, holding no worker: whoever finishes a send queues the
organization's next deliveries (``_queue_next``), and the beat's ``send_due`` catches
anything left over. An endpoint failing WEBHOOK_CIRCUIT_FAILURES times in a row is
stopped for WEBHOOK_CIRCUIT_COOLDOWN_SECONDS (its deliveries held, not attempted), then
one delivery is tried; its admin switching it on again resets it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import secrets
import socket
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Min, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from audit import services as audit
from audit.actions import Action
from core import metrics
from core.refusals import Refused
from tenants.models import Organization, User
from tickets.models import Event, EventKind, Message, MessageKind
from webhooks.models import (
    CircuitState,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventType,
)
from webhooks.signing import SIGNATURE_HEADER, sign

logger = logging.getLogger(__name__)

ERR_SCHEME = _("Use an http:// or https:// URL.")
ERR_HOST = _("The URL needs a host name.")
ERR_UNRESOLVABLE = _("The host name does not resolve.")
ERR_PRIVATE = _("The URL points at a private, loopback or reserved address.")
ERR_NO_EVENTS = _("Choose at least one event type.")
ERR_UNKNOWN_EVENT = _("Unknown event type: %(value)s.")
ERR_INACTIVE = _("This endpoint is switched off; switch it on to re-send.")
ERR_TOO_MANY = _(
    "An organization can register at most %(limit)d webhook endpoints; delete one first."
)
ERR_DUPLICATE_URL = _(
    "This URL is already registered as an endpoint; choose its events there, or delete it first."
)

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
    EventKind.REQUESTS_PURGED: WebhookEventType.REQUESTS_PURGED,
}

# Events of the organization itself, with no ticket: their payload carries what they say
# (the purge's count and references) instead of a ticket.
ORGANIZATION_KINDS = frozenset({EventKind.REQUESTS_PURGED})
_PURGE_FIELDS = ("count", "references", "retention_days", "closed_before")

# The fields of an Event's before/after an integration may see (never staff e-mails).
_SHARED_CHANGES = ("status", "severity", "level", "lapse_at", "first_response")


class WebhookError(Refused):
    """A refused webhook endpoint or delivery."""

    # The organization's own state (an endpoint already there) conflicts, as with the limit.
    status_by_code = {"duplicate_url": 409}


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


def _described(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """What the audit trail keeps of an endpoint (never its secret)."""
    return {
        "url": endpoint.url,
        "event_types": list(endpoint.event_types or []),
        "description": endpoint.description,
        "is_active": endpoint.is_active,
    }


def endpoint_create(
    *,
    organization: Organization,
    url: str,
    event_types: Iterable[str],
    description: str,
    created_by: User | None,
    now: datetime,
    actor_label: str | None = None,
) -> RegisteredEndpoint:
    """Register an endpoint: at most WEBHOOK_MAX_ENDPOINTS per organization (each one is
    a share of the webhooks worker), refused here so every channel enforces it."""
    url = check_url(url)
    chosen = check_event_types(event_types)
    limit = settings.SUPPORTDESK.WEBHOOK_MAX_ENDPOINTS
    secret = f"whsec_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        # One registration per organization at a time, so two at once cannot pass the
        # limit together.
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        if WebhookEndpoint.objects.for_org(organization).filter(url=url).exists():
            # A second registration of the same URL (a form sent twice, a retried POST)
            # would leave an endpoint whose secret nobody kept, signing what it sends
            # with it: the receiver refuses them all, and it fills the organization's limit.
            raise WebhookError(ERR_DUPLICATE_URL, code="duplicate_url", field="url")
        if WebhookEndpoint.objects.for_org(organization).count() >= limit:
            raise WebhookError(
                ERR_TOO_MANY % {"limit": limit}, code="too_many_endpoints", field="url"
            )
        endpoint = WebhookEndpoint.objects.create(
            organization=organization,
            url=url,
            description=description.strip(),
            secret=secret,
            event_types=chosen,
            created_by=created_by,
            created_at=now,
        )
        audit.record(
            action=Action.WEBHOOK_CREATED,
            actor=created_by,
            actor_label=actor_label,
            organization=organization,
            target=endpoint,
            after=_described(endpoint),
            now=now,
        )
    return RegisteredEndpoint(endpoint, secret)


def endpoint_set_active(
    *,
    endpoint: WebhookEndpoint,
    active: bool,
    actor: User | None = None,
    actor_label: str | None = None,
    now: datetime | None = None,
) -> WebhookEndpoint:
    """Pause or resume an endpoint. Resuming also closes its circuit breaker and makes
    its held deliveries due now: the admin says the endpoint works again."""
    now = now or timezone.now()
    reset = active and (endpoint.circuit_open_until is not None or endpoint.consecutive_failures)
    if endpoint.is_active == active and not reset:
        return endpoint
    before = {"is_active": endpoint.is_active, "circuit": endpoint.circuit(now).value}
    with transaction.atomic():
        changes: dict[str, Any] = {"is_active": active}
        if active:
            changes.update(consecutive_failures=0, circuit_open_until=None)
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(**changes)
        for name, value in changes.items():
            setattr(endpoint, name, value)
        held: list[int] = []
        # (Not while a send to it runs: its delivery's lease must stand.)
        if active and not (endpoint.sending_until and endpoint.sending_until > now):
            pending = WebhookDelivery.objects.filter(
                endpoint=endpoint, status=DeliveryStatus.PENDING, next_attempt_at__gt=now
            )
            held = list(pending.values_list("pk", flat=True)[:1])
            pending.update(next_attempt_at=now, updated_at=now)
        audit.record(
            action=Action.WEBHOOK_RESUMED if active else Action.WEBHOOK_PAUSED,
            actor=actor,
            actor_label=actor_label,
            organization=endpoint.organization_id,
            target=endpoint,
            before=before,
            after={"is_active": active, "circuit": endpoint.circuit(now).value},
            now=now,
        )
    if active:
        queue_next(organization_id=endpoint.organization_id, now=now, also=held)
    return endpoint


def endpoint_delete(
    *, endpoint: WebhookEndpoint, actor: User | None = None, actor_label: str | None = None
) -> None:
    with transaction.atomic():
        audit.record(
            action=Action.WEBHOOK_DELETED,
            actor=actor,
            actor_label=actor_label,
            organization=endpoint.organization_id,
            target=endpoint,
            before=_described(endpoint),
        )
        endpoint.delete()


# --- Deliveries from Events (the outbox) ---------------------------------------------------


def _ticket_url(event: Event) -> str:
    ticket = event.ticket
    assert ticket is not None
    path = reverse("api:ticket-detail", kwargs={"number": ticket.reference})
    return settings.SITE_URL + path


def payload_for(event: Event, message: Message | None) -> dict[str, Any]:
    """What an integration receives: the ticket as it is now, what changed, and the public
    message for message events; for an Event of the organization (no ticket), what it
    says. A snapshot taken when the delivery is created."""
    if event.kind in ORGANIZATION_KINDS:
        return _ready(
            event,
            organization=event.organization.slug,
            data={
                "purged": {k: event.after.get(k) for k in _PURGE_FIELDS},
                "change": {"kind": event.kind},
            },
        )
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
    return _ready(event, organization=ticket.organization.slug, data=data)


def _ready(event: Event, *, organization: str, data: dict[str, Any]) -> dict[str, Any]:
    body = {
        "id": f"evt_{event.pk}",
        "type": EVENT_TYPE_FOR_KIND[event.kind].value,
        "created_at": event.created_at,
        "organization": organization,
        "data": data,
    }
    # Stored as JSON-ready values, so the bytes sent equal the bytes signed on re-send.
    ready: dict[str, Any] = json.loads(json.dumps(body, cls=DjangoJSONEncoder))
    return ready


def deliveries_for_events(events: Sequence[Event], *, now: datetime) -> list[int]:
    """Create the pending deliveries these Events call for and queue their sending after
    commit. Idempotent; returns the ids of the pending deliveries of these Events."""
    wanted = [
        e
        for e in events
        if e.kind in EVENT_TYPE_FOR_KIND
        and (e.ticket_id is not None or e.kind in ORGANIZATION_KINDS)
    ]
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
    queue_send(_first_per_endpoint(ids))
    return ids


def _first_per_endpoint(delivery_ids: Sequence[int]) -> list[int]:
    """The oldest of these deliveries for each endpoint: the others follow it one at a
    time (each finished send queues its endpoint's next), so a flood of Events queues one
    task per endpoint, not one per delivery."""
    if not delivery_ids:
        return []
    firsts = (
        WebhookDelivery.objects.filter(pk__in=delivery_ids)
        .values("endpoint_id")
        .annotate(first=Min("pk"))
        .values_list("first", flat=True)
    )
    return sorted(firsts)


def queue_send(delivery_ids: Sequence[int]) -> None:
    """Publish each delivery's sending task after commit; never fails the caller (the
    periodic ``send_due`` task sends whatever was not published)."""
    if not delivery_ids or not settings.SUPPORTDESK.OUTBOX_TASKS:
        return
    ids = list(delivery_ids)
    transaction.on_commit(lambda: _publish(ids))


def _publish(delivery_ids: Iterable[int]) -> int:
    from webhooks.tasks import send_delivery

    published = 0
    for pk in delivery_ids:
        try:
            send_delivery.apply_async(args=(pk,), retry=False, ignore_result=True)
        except Exception:
            logger.warning("webhook task for delivery %s not queued", pk, exc_info=True)
            break  # the broker is down: send_due publishes the rest later
        published += 1
    return published


def _next_in_line(
    *, now: datetime, organization_id: int | None = None, limit: int = 200
) -> list[int]:
    """The oldest due delivery of each endpoint that could be sent now: none of its
    sends in flight and its circuit not open (an open endpoint's deliveries are held)."""
    due = (
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .exclude(endpoint__sending_until__gt=now)
        .exclude(endpoint__circuit_open_until__gt=now)
    )
    if organization_id is not None:
        due = due.filter(endpoint__organization_id=organization_id)
    firsts = (
        due.values("endpoint_id")
        .annotate(first=Min("pk"))
        .order_by("first")
        .values_list("first", flat=True)[:limit]
    )
    return list(firsts)


def queue_next(*, organization_id: int, now: datetime, also: Sequence[int] = ()) -> None:
    """After a send (or a resume): queue the organization's deliveries that may go now,
    as many as it may have in flight. Deliveries left pending because their endpoint or
    their organization was busy are queued here, by whoever made it busy."""
    limit = settings.SUPPORTDESK.WEBHOOK_ORGANIZATION_CONCURRENCY
    ids = _next_in_line(now=now, organization_id=organization_id, limit=limit)
    queue_send(list(dict.fromkeys([*also, *ids])))


# --- Sending -------------------------------------------------------------------------------


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the ``attempts``-th failure: base, 2×base, 4×base, …"""
    base = settings.SUPPORTDESK.WEBHOOK_RETRY_BASE_SECONDS
    return timedelta(seconds=base * 2 ** max(attempts - 1, 0))


def _lease_seconds() -> float:
    # Longer than any attempt can last, so a live send never loses its lease.
    return settings.SUPPORTDESK.WEBHOOK_TIMEOUT_SECONDS * 2 + 30


def _claim_endpoint(endpoint: WebhookEndpoint, *, now: datetime) -> bool:
    """Take the endpoint's lease if it is free and its organization has a send to spare
    (WEBHOOK_ORGANIZATION_CONCURRENCY). The organization's row is locked for the few
    milliseconds of the check, so two workers cannot both take its last slot."""
    cap = settings.SUPPORTDESK.WEBHOOK_ORGANIZATION_CONCURRENCY
    lease = now + timedelta(seconds=_lease_seconds())
    with transaction.atomic():
        Organization.objects.select_for_update().filter(pk=endpoint.organization_id).first()
        in_flight = WebhookEndpoint.objects.filter(
            organization_id=endpoint.organization_id, sending_until__gt=now
        ).count()
        if in_flight >= cap:
            return False
        free = Q(sending_until__isnull=True) | Q(sending_until__lte=now)
        claimed = WebhookEndpoint.objects.filter(free, pk=endpoint.pk).update(sending_until=lease)
    return claimed == 1


def delivery_send(*, delivery_id: int, now: datetime) -> str | None:
    """Send one due delivery; returns its new status, or None when it was not sent: not
    due, held by another worker, its endpoint busy or stopped by its circuit breaker, or
    its organization at its limit of sends in flight (it stays pending and is queued
    again when a send of its organization finishes)."""
    delivery = (
        WebhookDelivery.objects.select_related("endpoint")
        .filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .first()
    )
    if delivery is None:
        return None
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        if not _claim_delivery(delivery_id, now=now):
            return None
        return _record_attempt(delivery, code=None, error="endpoint switched off", now=now)
    if endpoint.circuit(now) == CircuitState.OPEN:
        return None  # held: send_due queues it once the cool-down is over
    if not _claim_endpoint(endpoint, now=now):
        return None
    started = time.monotonic()
    try:
        if not _claim_delivery(delivery_id, now=now):
            return None
        # The attempt itself may take up to WEBHOOK_TIMEOUT_SECONDS; it is recorded at
        # ``now``, the time it started (its signature's time).
        code, error = _post(endpoint, delivery, now=now)
        with transaction.atomic():
            status = _record_attempt(delivery, code=code, error=error, now=now)
            _trip_or_reset(endpoint, failed=bool(error), now=now)
    finally:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(sending_until=None)
        # What became due while this send ran is in line too.
        finished = now + timedelta(seconds=time.monotonic() - started)
        queue_next(organization_id=endpoint.organization_id, now=finished)
    return status


def _claim_delivery(delivery_id: int, *, now: datetime) -> bool:
    lease = now + timedelta(seconds=_lease_seconds())
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=lease)
    return claimed == 1


def _trip_or_reset(endpoint: WebhookEndpoint, *, failed: bool, now: datetime) -> None:
    """The circuit breaker after an attempt: a success closes it; the
    WEBHOOK_CIRCUIT_FAILURES-th failure in a row opens it (an audit row), and a failed
    trial after the cool-down opens it again for another cool-down."""
    current = WebhookEndpoint.objects.filter(pk=endpoint.pk).first()
    if current is None:
        return
    if not failed:
        if current.consecutive_failures or current.circuit_open_until is not None:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                consecutive_failures=0, circuit_open_until=None
            )
        return
    failures = current.consecutive_failures + 1
    changes: dict[str, Any] = {"consecutive_failures": failures}
    was_closed = current.circuit_open_until is None
    if failures >= settings.SUPPORTDESK.WEBHOOK_CIRCUIT_FAILURES:
        cooldown = timedelta(seconds=settings.SUPPORTDESK.WEBHOOK_CIRCUIT_COOLDOWN_SECONDS)
        changes["circuit_open_until"] = now + cooldown
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(**changes)
    if was_closed and "circuit_open_until" in changes:
        logger.warning(
            "webhook endpoint %s stopped after %d failures in a row", endpoint.pk, failures
        )
        audit.record(
            action=Action.WEBHOOK_CIRCUIT_OPENED,
            organization=current.organization_id,
            target=current,
            before={"circuit": CircuitState.CLOSED.value},
            after={
                "circuit": CircuitState.OPEN.value,
                "consecutive_failures": failures,
                "until": changes["circuit_open_until"].isoformat(),
            },
            now=now,
        )
    for name, value in changes.items():
        setattr(endpoint, name, value)


def _post(
    endpoint: WebhookEndpoint, delivery: WebhookDelivery, *, now: datetime
) -> tuple[int | None, str]:
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
    # TLS names and verifies the host the tenant registered, not the address.
    extensions = {"sni_hostname": host} if parts.scheme == "https" else None
    total = settings.SUPPORTDESK.WEBHOOK_TIMEOUT_SECONDS
    connect = min(settings.SUPPORTDESK.WEBHOOK_CONNECT_TIMEOUT_SECONDS, total)
    try:
        code = asyncio.run(
            _post_within(pinned.geturl(), body, headers, extensions, connect=connect, total=total)
        )
    except TimeoutError:
        return None, f"No answer within {total:g} s"
    except Exception as failure:  # httpx.HTTPError, and anything odd from a bad URL
        return None, f"{type(failure).__name__}: {failure}"[:300]
    return code, "" if 200 <= code < 300 else f"HTTP {code}"


async def _post_within(
    url: str,
    body: bytes,
    headers: dict[str, str],
    extensions: dict[str, Any] | None,
    *,
    connect: float,
    total: float,
) -> int:
    """POST and return the status code, the whole exchange within ``total`` seconds.

    httpx's timeouts bound each read and write, not the request: an endpoint that sends
    its answer a byte at a time would hold the worker for ever. ``asyncio.timeout``
    bounds the whole. The answer's body is never read (only its status counts)."""
    import httpx

    timeout = httpx.Timeout(total, connect=connect)
    async with (
        asyncio.timeout(total),
        httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client,
        client.stream("POST", url, content=body, headers=headers, extensions=extensions) as answer,
    ):
        return answer.status_code


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
    """The beat's catch-up: retries whose backoff has passed, deliveries whose task was
    lost, endpoints whose cool-down is over (the half-open trial). Queues the oldest due
    delivery of each endpoint that may be sent (each then queues its successors); with
    OUTBOX_TASKS off it sends them itself, here on the webhooks worker. Returns how many
    it queued or delivered."""
    ids = _next_in_line(now=now, limit=limit)
    if settings.SUPPORTDESK.OUTBOX_TASKS:
        return _publish(ids)
    return sum(delivery_send(delivery_id=pk, now=now) == DeliveryStatus.DELIVERED for pk in ids)


def delivery_resend(
    *,
    delivery: WebhookDelivery,
    now: datetime,
    actor: User | None = None,
    actor_label: str | None = None,
) -> WebhookDelivery:
    """Queue a delivery again (delivered or failed ones too): the same payload, signed
    anew when sent."""
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        raise WebhookError(ERR_INACTIVE, code="inactive")
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, updated_at=now
        )
        audit.record(
            action=Action.WEBHOOK_RESENT,
            actor=actor,
            actor_label=actor_label,
            organization=endpoint.organization_id,
            target=endpoint,
            before={"delivery": delivery.pk, "status": delivery.status},
            after={"delivery": delivery.pk, "status": DeliveryStatus.PENDING.value},
            now=now,
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

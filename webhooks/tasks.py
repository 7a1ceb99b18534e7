"""Celery entry points for webhooks: thin adapters over ``webhooks.services``.

Every task here is routed to the ``webhooks`` queue (settings ``CELERY_TASK_ROUTES``),
which only the webhooks worker reads: sends wait on other people's servers and must never
hold the default worker's slots (the sweep, deadlines, e-mail)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from webhooks import services


@shared_task(name="webhooks.tasks.send_delivery")
def send_delivery(delivery_id: int) -> str | None:
    """One delivery to one endpoint, queued after commit. Not sent (left pending) when it
    is not due, its endpoint or organization is busy, or its circuit is open."""
    return services.delivery_send(delivery_id=delivery_id, now=timezone.now())


@shared_task(name="webhooks.tasks.send_deliveries")
def send_deliveries(delivery_ids: list[int]) -> int:
    """Tasks queued before deliveries had one task each: each becomes its own task."""
    services.queue_send(delivery_ids)
    return len(delivery_ids)


@shared_task(name="webhooks.tasks.send_due")
def send_due() -> int:
    """Beat: retries whose backoff has passed, deliveries whose task was lost, endpoints
    whose cool-down is over."""
    return services.send_due(now=timezone.now())

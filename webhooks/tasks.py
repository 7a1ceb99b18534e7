"""Celery entry points for webhooks: thin adapters over ``webhooks.services``."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from webhooks import services


@shared_task(name="webhooks.tasks.send_deliveries")
def send_deliveries(delivery_ids: list[int]) -> int:
    """Queued after commit; a delivery not due, or held by another worker, is skipped."""
    now = timezone.now()
    return sum(
        services.delivery_send(delivery_id=pk, now=now) == "delivered" for pk in delivery_ids
    )


@shared_task(name="webhooks.tasks.send_due")
def send_due() -> int:
    """Beat: retries whose backoff has passed, and deliveries whose task was lost."""
    return services.send_due(now=timezone.now())

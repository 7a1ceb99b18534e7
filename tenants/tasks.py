"""Celery entry points for tenants: thin adapters over the services."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from tenants import idempotency


@shared_task(name="tenants.tasks.purge_idempotency_records")
def purge_idempotency_records() -> int:
    """Beat, hourly: Idempotency-Key records past IDEMPOTENCY_TTL_HOURS."""
    return idempotency.purge_expired(now=timezone.now())

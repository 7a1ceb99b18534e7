"""Celery entry points for tickets: thin adapters over ``tickets.outbox``."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from tickets import outbox


@shared_task(name="tickets.tasks.deliver_events")
def deliver_events(event_ids: list[int]) -> int:
    """Queued after commit by ``outbox.queue_delivery``; running it twice sends nothing
    twice (delivered Events are skipped), and the sweep retries what it leaves undone."""
    return outbox.deliver_events(event_ids, now=timezone.now())

"""Celery entry points for the SLA workers: thin adapters over ``severity.sweep``."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from severity import sweep as sweeping


@shared_task(name="severity.tasks.sweep")
def sweep() -> dict[str, int]:
    """Beat runs this every SWEEP_INTERVAL_SECONDS; running it twice at once is harmless."""
    return sweeping.sweep(now=timezone.now(), worker="sweep").as_dict()


@shared_task(name="severity.tasks.act_on_ticket")
def act_on_ticket(ticket_id: int, clock_version: int) -> dict[str, int]:
    """Scheduled at a ticket's next deadline; a no-op when the ticket has moved on."""
    return sweeping.act_on_ticket(
        ticket_id=ticket_id, clock_version=clock_version, now=timezone.now(), worker="deadline"
    ).as_dict()

"""Celery entry points for tickets: thin adapters over ``tickets.outbox`` and ``tickets.sweep``.

The SLA tasks keep their ``severity.tasks.*`` names: queued messages and beat entries
written before they moved here still resolve."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from tickets import outbox
from tickets import sweep as sweeping

logger = logging.getLogger(__name__)


@shared_task(name="tickets.tasks.deliver_events")
def deliver_events(event_ids: list[int]) -> int:
    """Queued after commit by ``outbox.queue_delivery``; running it twice sends nothing
    twice (delivered Events are skipped), and the sweep retries what it leaves undone."""
    return outbox.deliver_events(event_ids, now=timezone.now())


@shared_task(name="severity.tasks.sweep")
def sweep(helper: bool = False) -> dict[str, int]:
    """Beat runs this every SWEEP_INTERVAL_SECONDS; running it twice at once is harmless.

    On a backlog (after an outage, say) the sweep asks other worker processes to help:
    each extra sweep claims different rows with SKIP LOCKED."""
    now = timezone.now()
    if not helper:
        for _ in range(sweeping.helpers_wanted(now=now)):
            try:
                sweep.apply_async(
                    kwargs={"helper": True},
                    expires=settings.SUPPORTDESK.SWEEP_INTERVAL_SECONDS,
                    retry=False,
                )
            except Exception:  # the broker is down: this sweep still does all the work
                logger.warning("could not start a helper sweep", exc_info=True)
                break
    result = sweeping.sweep(
        now=now, worker="sweep-helper" if helper else "sweep", heartbeat=not helper
    ).as_dict()
    if not helper:
        from tickets.remeasure import start_calendar_jobs

        # A calendar changed anywhere (admin, desk, import, shell): re-measure its tickets.
        result["calendar_jobs"] = len(start_calendar_jobs(now=now))
    return result


@shared_task(name="severity.tasks.act_on_ticket")
def act_on_ticket(ticket_id: int, clock_version: int) -> dict[str, int]:
    """Scheduled at a ticket's next deadline; a no-op when the ticket has moved on."""
    return sweeping.act_on_ticket(
        ticket_id=ticket_id, clock_version=clock_version, now=timezone.now(), worker="deadline"
    ).as_dict()


@shared_task(name="severity.tasks.refresh_public_holidays")
def refresh_public_holidays() -> dict[str, int]:
    """Beat runs this daily: every calendar with a holiday country gets this year's and
    next year's public days (severity.calendar_services). A run that finds nothing new
    writes nothing, so running it twice is harmless."""
    # Imported here: the holiday data (~0.1 s to load) is needed once a day, not at start-up.
    from severity.calendar_services import calendars_refresh_public_days

    refreshed = calendars_refresh_public_days(now=timezone.now())
    for name, error in refreshed.errors.items():
        logger.warning("public holidays of calendar %r not refreshed: %s", name, error)
    return {
        "calendars": len(refreshed.results),
        "changed": sum(r.changed for r in refreshed.results.values()),
        "errors": len(refreshed.errors),
    }


@shared_task(name="tickets.tasks.remeasure")
def remeasure(job_id: int, helper: bool = False) -> dict[str, int]:
    """Re-measure open tickets after an SLA change (tickets.remeasure), in batches. On a
    large job the runner asks SWEEP_PARALLELISM - 1 other worker processes to help (each
    takes other batches with SKIP LOCKED), as the sweep does on a backlog."""
    from tickets.models import RemeasureJob
    from tickets.remeasure import remeasure_run, wants_helpers

    if not helper:
        job = RemeasureJob.objects.filter(pk=job_id).first()
        if job is not None and wants_helpers(job):
            for _ in range(settings.SUPPORTDESK.SWEEP_PARALLELISM - 1):
                try:
                    remeasure.apply_async(args=(job_id,), kwargs={"helper": True}, retry=False)
                except Exception:  # the broker is down: this run does all the work
                    logger.warning("could not start a re-measure helper", exc_info=True)
                    break
    job = remeasure_run(job_id, helper=helper)
    return {"done": job.done, "total": job.total}


@shared_task(name="tickets.tasks.close_resolved")
def close_resolved() -> int:
    """Beat runs this hourly: requests resolved more than AUTO_CLOSE_DAYS days ago are
    closed (tickets.services.tickets_auto_close). Two runs at once close each request
    once; a run that finds none writes nothing."""
    from tickets.services import tickets_auto_close

    return tickets_auto_close(now=timezone.now())

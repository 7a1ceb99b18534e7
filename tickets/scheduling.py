"""Precise timing: a task at a ticket's next deadline, besides the periodic sweep.

The sweep alone would act up to one interval late; a task with an ETA at the deadline
acts within about a second. Only short ETAs are scheduled: a broker holds an ETA task
unacknowledged until it runs, and Redis re-delivers anything held longer than its
visibility timeout. The sweep remains the safety net for everything else, so a lost or
unsent task only delays an action, never loses it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)


def schedule_deadline(
    ticket_id: int, clock_version: int, at: datetime | None, *, now: datetime
) -> None:
    """After commit, queue ``act_on_ticket`` for ``at`` when it is near enough."""
    config = settings.SUPPORTDESK
    if at is None or not config.DEADLINE_TASKS:
        return
    horizon = timedelta(seconds=config.DEADLINE_TASK_HORIZON_SECONDS)
    if at - now > horizon:
        return
    transaction.on_commit(lambda: _publish(ticket_id, clock_version, at))


def _publish(ticket_id: int, clock_version: int, at: datetime) -> None:
    from tickets.tasks import act_on_ticket

    try:
        act_on_ticket.apply_async(
            args=(ticket_id, clock_version), eta=at, retry=False, ignore_result=True
        )
    except Exception as error:  # the broker is down: the sweep will act instead
        # No traceback: in an outage this happens on every write; the cause is the broker.
        logger.warning(
            "deadline task for ticket %s not queued (%s); the sweep will act",
            ticket_id,
            error.__class__.__name__,
        )

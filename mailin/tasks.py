"""Celery entry points for incoming mail: thin adapters over ``mailin.transports``."""

from __future__ import annotations

import imaplib
import logging

from celery import shared_task
from django.conf import settings
from imap_tools.errors import ImapToolsError

from mailin import transports

logger = logging.getLogger(__name__)


@shared_task(name="mailin.tasks.fetch")
def fetch() -> dict[str, object]:
    """Beat runs this every MAILIN_POLL_SECONDS. Running it twice at once, or again after
    it was killed mid-pass, acts on each message once (``mailin.transports``)."""
    try:
        # Half the soft time limit: a long backlog is finished by the next polls.
        return transports.fetch(budget=settings.CELERY_TASK_SOFT_TIME_LIMIT / 2).as_dict()
    except (OSError, imaplib.IMAP4.error, ImapToolsError) as error:
        # The mail server is away or refuses us: the next poll tries again.
        logger.warning("incoming mail could not be fetched: %s", error)
        return {"error": f"{error.__class__.__name__}: {error}"}

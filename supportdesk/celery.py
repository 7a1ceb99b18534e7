"""The Celery application: workers and beat (DESIGN.md "Workers").

Configuration lives in ``settings`` under the ``CELERY_`` prefix; this module only
creates the app, finds the tasks, and queues one sweep when a worker starts.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")

logger = logging.getLogger(__name__)

app = Celery("supportdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

SWEEP_TASK = "severity.tasks.sweep"


@worker_ready.connect
def sweep_at_start(sender: Any = None, **_kwargs: Any) -> None:
    """Queue one sweep as soon as a worker is ready, not one beat interval later.

    Beat's first tick of an interval schedule comes a whole interval after it starts, so
    without this ``/healthz`` answered 503 ("no sweep yet") for the first ~30 s of every
    fresh start. A sweep is idempotent and its heartbeat is what ``/healthz`` reads; a
    second worker starting queues a second, harmless one. A broker that is down only
    delays the first sweep to beat's first tick: the worker must start regardless.
    """
    from django.conf import settings

    interval = float(settings.SUPPORTDESK.SWEEP_INTERVAL_SECONDS)
    target = getattr(sender, "app", None) or app
    try:
        target.send_task(SWEEP_TASK, expires=interval, retry=False)
    except Exception:
        logger.warning("could not queue the first sweep; beat will start it", exc_info=True)
    else:
        logger.info("first sweep queued at worker start")

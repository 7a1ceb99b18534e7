"""``manage.py sweep``: the same sweep without a broker (cron fallback while Redis is down)."""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from tickets.remeasure import queued_jobs, remeasure_run, start_calendar_jobs
from tickets.sweep import sweep


class Command(BaseCommand):
    help = "Act on every lapsed SLA deadline now (escalations, warnings, downgrades)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--loop",
            type=float,
            metavar="SECONDS",
            help="Keep sweeping every SECONDS instead of once (a beat without a broker).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        interval = options.get("loop")
        while True:
            now = timezone.now()
            figures: dict[str, int] = sweep(now=now, worker="manage.py sweep").as_dict()
            # Without a broker nobody else runs the re-measures a calendar change needs.
            start_calendar_jobs(now=now)
            figures["remeasured"] = sum(remeasure_run(job_id).done for job_id in queued_jobs())
            self.stdout.write(json.dumps(figures))
            if not interval:
                return
            time.sleep(interval)

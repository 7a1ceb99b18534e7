"""``manage.py sweep``: the same sweep without a broker (cron fallback while Redis is down)."""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

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
            result = sweep(now=timezone.now(), worker="manage.py sweep")
            self.stdout.write(json.dumps(result.as_dict()))
            if not interval:
                return
            time.sleep(interval)

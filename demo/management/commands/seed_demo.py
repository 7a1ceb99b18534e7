"""``python manage.py seed_demo``: demo tenants, people, service requests and help-centre
content (``demo.seed``); safe to run again. Prints every demo login."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from demo.data.people import DEMO_PASSWORD
from demo.seed import DemoDataError, SeedReport, seed_demo


class Command(BaseCommand):
    help = "Create the demo tenants, people and service requests (safe to run again)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = seed_demo(now=timezone.now())
        except DemoDataError as error:
            raise CommandError(str(error)) from error
        self._print_summary(report)

    def _print_summary(self, report: SeedReport) -> None:
        headers = ("E-mail", "Who", "Start at")
        rows = [headers] + [(login.email, login.who, login.start_at) for login in report.logins]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]

        def line(cells: tuple[str, str, str]) -> str:
            padded = (cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
            return "  ".join(padded).rstrip()

        out = self.stdout
        out.write(f"Demo logins (password for all: {DEMO_PASSWORD})")
        out.write(line(headers))
        out.write(line(("-" * widths[0], "-" * widths[1], "-" * widths[2])))
        for row in rows[1:]:
            out.write(line(row))
        out.write("")
        if not report.created and not report.updated:
            out.write(self.style.SUCCESS("Nothing new: the demo data was already in place."))
            return
        if report.created:
            out.write(self.style.SUCCESS(f"Created – {_counts(report.created)}."))
        if report.updated:
            out.write(self.style.WARNING(f"Reset to the demo values – {_counts(report.updated)}."))


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{label} {count}" for label, count in counter.items())

"""``manage.py mail_fetch``: one pass over the incoming mailbox (``MAILIN_IMAP_URL``, else
the Maildir ``MAILIN_MAILDIR``), as the beat task ``mailin.tasks.fetch`` does; without a
broker, ``--loop`` keeps polling."""

from __future__ import annotations

import imaplib
import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from imap_tools.errors import ImapToolsError

from mailin.transports import DATABASE_UNAVAILABLE, fetch

EX_UNAVAILABLE = 69
EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "Fetch and ingest the incoming e-mail waiting in the IMAP mailbox or the Maildir."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--loop",
            type=float,
            metavar="SECONDS",
            help="Keep fetching every SECONDS instead of once.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        interval = options.get("loop")
        while True:
            try:
                report = fetch()
            except DATABASE_UNAVAILABLE as error:
                raise CommandError(
                    f"the database is unavailable: {error}", returncode=EX_TEMPFAIL
                ) from None
            except (OSError, imaplib.IMAP4.error, ImapToolsError) as error:
                raise CommandError(
                    f"the mailbox is unavailable: {error}", returncode=EX_UNAVAILABLE
                ) from None
            self.stdout.write(json.dumps(report.as_dict()))
            if not interval:
                return
            time.sleep(interval)

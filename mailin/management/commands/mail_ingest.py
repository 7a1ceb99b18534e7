"""``manage.py mail_ingest [FILE|-]``: one message from a file or standard input, as an
MTA's pipe delivers it (Postfix ``pipe``, an Exim transport, a ``.forward`` ``|command``).

Prints the outcome as one JSON line. The exit status is what an MTA understands
(sysexits.h): 0 when the message was taken (replied, filed, refused — its sender has been
answered —, ignored or a duplicate); 75 (EX_TEMPFAIL) when the database is unavailable,
so the MTA keeps the message and retries; 66 (EX_NOINPUT) when there is nothing to read.

A message over ``MAILIN_MAX_MESSAGE_BYTES`` is read to its end but not kept: it is refused
from its header and size (its sender is told), and the exit status is 0 as for any refusal.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any, BinaryIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mailin.transports import DATABASE_UNAVAILABLE, ingest_stream

EX_NOINPUT = 66
EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "Ingest one e-mail message (RFC 822) from FILE, or from standard input with '-'."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file", nargs="?", default="-", help="The message file; '-' (the default) reads stdin."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name: str = options["file"]
        with contextlib.ExitStack() as stack:
            try:
                stream: BinaryIO = (
                    sys.stdin.buffer if name == "-" else stack.enter_context(Path(name).open("rb"))
                )
            except OSError as error:
                raise CommandError(f"cannot read {name}: {error}", returncode=EX_NOINPUT) from None
            try:
                outcome = ingest_stream(stream, source="pipe" if name == "-" else "file")
            except DATABASE_UNAVAILABLE as error:
                self.stdout.write(json.dumps({"action": "tempfail", "reason": str(error)}))
                raise CommandError(
                    "the database is unavailable; try again later", returncode=EX_TEMPFAIL
                ) from None
        if outcome is None:
            raise CommandError("the message is empty", returncode=EX_NOINPUT)
        self.stdout.write(
            json.dumps(
                {
                    "action": outcome.action,
                    "ticket_id": outcome.ticket_id,
                    "message_id": outcome.message_id,
                    "reason": outcome.reason,
                }
            )
        )

"""``manage.py mail_fetch`` that SIGKILLs itself right after the first ``ingest`` returned
(its transaction committed) and before the message is flagged or moved: the crash the
at-least-once transports must survive. Run as ``python -m tests.mailin.fetch_then_die``
by tests/mailin/test_transports.py; nothing in the product reads a test switch."""

from __future__ import annotations

import os
import signal
from datetime import datetime

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    django.setup()

    from django.core.management import call_command

    from mailin import services

    real = services.ingest

    def ingest_then_die(raw: bytes, *, now: datetime, source: str) -> services.IngestOutcome:
        real(raw, now=now, source=source)
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")

    services.ingest = ingest_then_die  # type: ignore[assignment]
    call_command("mail_fetch")


if __name__ == "__main__":
    main()

"""Incoming mail transports: each hands one raw message at a time to
``mailin.services.ingest`` and knows nothing of tickets.

At least once: a message is marked done in its mailbox (IMAP ``\\Seen``, a Maildir file
moved from ``new/`` to ``cur/``) only after ``ingest`` returned, that is after its
transaction committed. A fetcher killed between the commit and the mark fetches the
message again next time, and ``ingest`` answers "duplicate" (the unique incoming
Message-ID), so the message is acted on once. Two fetchers at once meet the same way.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import mailbox
import os
import ssl
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone
from imap_tools import AND, BaseMailBox, MailBox, MailBoxUnencrypted

from core.config import ImapAccount
from mailin import services

logger = logging.getLogger(__name__)

IMAP_TIMEOUT_SECONDS = 30.0

# The database is away (restart, failover, a lock held too long): stop the pass and leave
# the rest for the next one, or tell the MTA to retry (EX_TEMPFAIL).
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


@dataclass
class FetchReport:
    """One pass of a fetcher: how many messages it saw and what ``ingest`` did with them."""

    source: str
    actions: Counter[str] = field(default_factory=Counter)
    # Messages ``ingest`` raised on: left unmarked, tried again by the next pass.
    failed: int = 0
    # The pass stopped at its time budget with messages still waiting.
    more: bool = False
    started: float = field(default_factory=time.monotonic, repr=False)

    def out_of_time(self, budget: float | None) -> bool:
        """Whether to start no further message (and say so in the report)."""
        if budget is not None and time.monotonic() - self.started >= budget:
            self.more = True
        return self.more

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "ingested": sum(self.actions.values()),
            **dict(sorted(self.actions.items())),
            "failed": self.failed,
            **({"more": True} if self.more else {}),
        }


def ingest(raw: bytes, *, source: str) -> services.IngestOutcome:
    """The one call every transport makes, at the time the message is handed over."""
    outcome = services.ingest(raw, now=timezone.now(), source=source)
    logger.info(
        "incoming mail %s from %s: %s (ticket %s) %s",
        outcome.message_id,
        source,
        outcome.action,
        outcome.ticket_id,
        outcome.reason,
    )
    return outcome


def fetch(*, budget: float | None = None) -> FetchReport:
    """One pass over the configured source: the IMAP mailbox, else the local Maildir.
    With a budget (seconds), no message is started after it: the rest waits for the next
    pass instead of a time limit interrupting one mid-way."""
    config = settings.SUPPORTDESK
    if config.MAILIN_IMAP is not None:
        return fetch_imap(config.MAILIN_IMAP, budget=budget)
    return fetch_maildir(config.MAILIN_MAILDIR, budget=budget)


def _ingest_counted(raw: bytes, *, source: str, report: FetchReport, name: str) -> bool:
    """Ingest one message; whether it may now be marked done. A database outage ends the
    pass (raised); any other error leaves this message for the next pass."""
    try:
        outcome = ingest(raw, source=source)
    except DATABASE_UNAVAILABLE:
        raise
    except Exception:
        logger.exception("incoming mail %s from %s could not be ingested", name, source)
        report.failed += 1
        return False
    report.actions[outcome.action] += 1
    return True


# --- Maildir ---------------------------------------------------------------------------


def fetch_maildir(path: Path, *, budget: float | None = None) -> FetchReport:
    """Ingest every message in ``new/`` (oldest name first), moving each to ``cur/`` with
    the Seen flag once ingested. The folder is created when missing.

    A message is delivered into a Maildir by writing it in ``tmp/`` and renaming it into
    ``new/``, so a file in ``new/`` is always whole."""
    # mailbox.Maildir would create the subfolders only with the folder itself, and no
    # missing parents: an existing empty folder, or a deeper path, gets them here.
    new, cur = path / "new", path / "cur"
    for folder in (path / "tmp", new, cur):
        folder.mkdir(parents=True, exist_ok=True)
    box = mailbox.Maildir(path, factory=None)
    report = FetchReport(source="maildir")
    for name in sorted(os.listdir(new)):
        if name.startswith("."):
            continue
        if report.out_of_time(budget):
            break
        try:
            raw = (new / name).read_bytes()
        except FileNotFoundError:
            continue  # another fetcher has taken it
        if _ingest_counted(raw, source="maildir", report=report, name=name):
            unique = name.split(box.colon, 1)[0]
            # Gone: another fetcher ingested it too ("duplicate") and moved it first.
            with contextlib.suppress(FileNotFoundError):
                os.rename(new / name, cur / f"{unique}{box.colon}2,S")
    return report


# --- IMAP ------------------------------------------------------------------------------


@contextmanager
def imap_session(account: ImapAccount) -> Iterator[BaseMailBox]:
    """Signed in to the account with its folder selected; signed out afterwards."""
    box: BaseMailBox
    if account.tls:
        box = MailBox(
            account.host,
            account.port,
            timeout=IMAP_TIMEOUT_SECONDS,
            ssl_context=ssl.create_default_context(),
        )
    else:
        box = MailBoxUnencrypted(account.host, account.port, timeout=IMAP_TIMEOUT_SECONDS)
    try:
        box.login(account.username, account.password, initial_folder=account.folder)
        yield box
    finally:
        try:
            box.logout()
        except (imaplib.IMAP4.error, OSError):
            logger.debug("IMAP logout failed", exc_info=True)


def fetch_imap(account: ImapAccount, *, budget: float | None = None) -> FetchReport:
    """Ingest every unseen message of the folder, oldest first, flagging each ``\\Seen``
    once ingested. Messages are read with ``BODY.PEEK``, which leaves them unseen."""
    report = FetchReport(source="imap")
    with imap_session(account) as box:
        # No CHARSET in the search: some servers refuse one, and the criteria are ASCII.
        for uid in box.uids(AND(seen=False), charset=None):
            if report.out_of_time(budget):
                break
            raw = _imap_message(box, uid)
            if raw is None:
                continue  # expunged since the search
            if _ingest_counted(raw, source="imap", report=report, name=f"UID {uid}"):
                _imap_check(box.client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Seen)"))
    return report


def _imap_message(box: BaseMailBox, uid: str) -> bytes | None:
    """The message's bytes exactly as stored on the server, without setting ``\\Seen``."""
    response = _imap_check(box.client.uid("FETCH", uid, "(BODY.PEEK[])"))
    for item in response:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def _imap_check(result: tuple[str, list[object]]) -> list[object]:
    status, data = result
    if status != "OK":
        raise imaplib.IMAP4.error(f"IMAP command failed: {status} {data!r}")
    return data

"""Incoming mail transports: each hands one raw message at a time to
``mailin.services.ingest`` and knows nothing of tickets.

At least once: a message is marked done in its mailbox (IMAP ``\\Seen``, a Maildir file
moved from ``new/`` to ``cur/``) only after ``ingest`` returned, that is after its
transaction committed. A fetcher killed between the commit and the mark fetches the
message again next time, and ``ingest`` answers "duplicate" (the unique incoming
Message-ID), so the message is acted on once. Two fetchers at once meet the same way.

Size first: a message over ``services.max_message_bytes()`` is never downloaded or read
whole. IMAP asks the server for its RFC822.SIZE, the Maildir and the pipe look at the file
or count the stream, and only its header goes to ``services.ingest_oversize``, which
refuses it and tells the sender; it is then marked done like any other message.
"""

from __future__ import annotations

import contextlib
import functools
import imaplib
import logging
import mailbox
import os
import re
import ssl
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

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


def ingest_oversize(head: bytes, *, size: int, source: str) -> services.IngestOutcome:
    """What a transport calls instead of ``ingest`` for a message over the size limit:
    only its first bytes (``head``, its header) and its size."""
    outcome = services.ingest_oversize(head, size=size, now=timezone.now(), source=source)
    logger.info(
        "incoming mail %s from %s: %s (%d bytes, over the limit) %s",
        outcome.message_id,
        source,
        outcome.action,
        size,
        outcome.reason,
    )
    return outcome


# Streams are read in pieces of this size; of an oversize one, only the first is kept.
_CHUNK = services.HEAD_MAX_BYTES


def ingest_stream(stream: BinaryIO, *, source: str) -> services.IngestOutcome | None:
    """Ingest one message read from a stream (an MTA's pipe, a file), holding at most the
    size limit in memory: past it, the rest is read and counted, not kept, and the message
    goes to ``ingest_oversize``. None when the stream holds nothing but white space."""
    limit = services.max_message_bytes()
    pieces: list[bytes] = []
    kept = 0
    while kept <= limit and (piece := stream.read(min(_CHUNK, limit + 1 - kept))):
        pieces.append(piece)
        kept += len(piece)
    raw = b"".join(pieces)
    del pieces
    if kept <= limit:
        return ingest(raw, source=source) if raw.strip() else None
    head = services.message_head(raw)
    del raw
    size = kept
    # The rest is read all the same: an MTA whose pipe is closed early calls it a failure.
    while piece := stream.read(_CHUNK):
        size += len(piece)
    return ingest_oversize(head, size=size, source=source)


def fetch(*, budget: float | None = None) -> FetchReport:
    """One pass over the configured source: the IMAP mailbox, else the local Maildir.
    With a budget (seconds), no message is started after it: the rest waits for the next
    pass instead of a time limit interrupting one mid-way."""
    config = settings.SUPPORTDESK
    if config.MAILIN_IMAP is not None:
        return fetch_imap(config.MAILIN_IMAP, budget=budget)
    return fetch_maildir(config.MAILIN_MAILDIR, budget=budget)


def _ingest_counted(
    take: Callable[[], services.IngestOutcome], *, source: str, report: FetchReport, name: str
) -> bool:
    """Ingest one message (``take``: ``ingest`` or ``ingest_oversize`` of it); whether it
    may now be marked done. A database outage ends the pass (raised); any other error
    leaves this message for the next pass."""
    try:
        outcome = take()
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
            take = _maildir_message(new / name)
        except FileNotFoundError:
            continue  # another fetcher has taken it
        if _ingest_counted(take, source="maildir", report=report, name=name):
            unique = name.split(box.colon, 1)[0]
            # Gone: another fetcher ingested it too ("duplicate") and moved it first.
            with contextlib.suppress(FileNotFoundError):
                os.rename(new / name, cur / f"{unique}{box.colon}2,S")
    return report


def _maildir_message(path: Path) -> Callable[[], services.IngestOutcome]:
    """How to ingest one Maildir file: whole, or by its header alone when the file is over
    the size limit (then only its first bytes are read)."""
    with path.open("rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size > services.max_message_bytes():
            head = file.read(services.HEAD_MAX_BYTES)
            return lambda: ingest_oversize(head, size=size, source="maildir")
        raw = file.read()
    return lambda: ingest(raw, source="maildir")


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
    once ingested. Messages are read with ``BODY.PEEK``, which leaves them unseen; each
    one's size is asked first, and of one over the limit only the header is fetched."""
    report = FetchReport(source="imap")
    limit = services.max_message_bytes()
    with imap_session(account) as box:
        # No CHARSET in the search: some servers refuse one, and the criteria are ASCII.
        for uid in box.uids(AND(seen=False), charset=None):
            if report.out_of_time(budget):
                break
            size = _imap_size(box, uid)
            if size is None:
                continue  # expunged since the search
            take: Callable[[], services.IngestOutcome]
            if size > limit:
                head = _imap_fetch(box, uid, f"BODY.PEEK[HEADER]<0.{services.HEAD_MAX_BYTES}>")
                if head is None:
                    continue
                take = functools.partial(ingest_oversize, head, size=size, source="imap")
            else:
                # At most one byte over the limit even if the size was wrong: a message
                # that grew past it is cut there, and ingest refuses it as too large.
                raw = _imap_fetch(box, uid, f"BODY.PEEK[]<0.{limit + 1}>")
                if raw is None:
                    continue
                take = functools.partial(ingest, raw, source="imap")
            if _ingest_counted(take, source="imap", report=report, name=f"UID {uid}"):
                _imap_check(box.client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Seen)"))
    return report


_RFC822_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


def _imap_size(box: BaseMailBox, uid: str) -> int | None:
    """The message's size in bytes as the server stores it (RFC822.SIZE), or None when it
    is gone."""
    for item in _imap_check(box.client.uid("FETCH", uid, "(RFC822.SIZE)")):
        line = item[0] if isinstance(item, tuple) else item
        if isinstance(line, bytes) and (found := _RFC822_SIZE.search(line)):
            return int(found.group(1))
    return None


def _imap_fetch(box: BaseMailBox, uid: str, section: str) -> bytes | None:
    """A section of the message exactly as stored on the server (``BODY.PEEK``: without
    setting ``\\Seen``), or None when it is gone."""
    response = _imap_check(box.client.uid("FETCH", uid, f"({section})"))
    for item in response:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def _imap_check(result: tuple[str, list[object]]) -> list[object]:
    status, data = result
    if status != "OK":
        raise imaplib.IMAP4.error(f"IMAP command failed: {status} {data!r}")
    return data

"""The notification outbox: every Event's e-mails go out after commit, retried, marked
delivered (DESIGN.md "Workers").

The Event table is the outbox. A service writes its Event in its own transaction and
calls :func:`queue_delivery`, which publishes a ``tickets.tasks.deliver_events`` task
once that transaction commits; the task calls :func:`deliver_events`. Nothing depends on
the broker: when the task cannot be published, is lost, or fails, the Event stays
undelivered and the sweep picks it up with :func:`deliver_pending`.

Delivery is at-least-once. Each Event is claimed in its own transaction
(``SELECT … FOR UPDATE SKIP LOCKED`` where the database has it, so a second worker
skips it instead of waiting; SQLite serialises writers instead), its e-mails are sent,
and ``delivered_at`` is set in that same transaction. A crash between sending and the
commit leaves the Event undelivered, so that one Event's e-mails may go out twice;
an Event is never marked delivered without its e-mails having been handed over.

Every e-mail of a ticket threads: a Message-ID fixed by its Event
and recipients, so a retry sends the same message again; In-Reply-To and References
naming the ticket's earlier mails (set as it is sent, so a batch holding two Events of one
ticket chains them); for the customer, a reply address signed for them and this ticket
(``tickets.mail``). Each e-mail sent is an :class:`~tickets.models.OutgoingMail` row,
written in the transaction that marks its Event delivered.

A failed send adds one to ``delivery_attempts``; the sweep retries with a doubling
delay (``OUTBOX_RETRY_AFTER_SECONDS`` × 2^attempts after the Event was written, so ten
attempts span about eight and a half hours by default) and gives up after
``MAX_ATTEMPTS``. When the mail server is down, a batch stops after a few consecutive
failures rather than waiting out every connection timeout: the rest of the batch is left
as it was for the next sweep.
"""

from __future__ import annotations

import atexit
import dataclasses
import logging
import os
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import reduce
from operator import or_
from queue import Empty, SimpleQueue
from threading import Lock, Thread
from time import monotonic
from typing import Protocol

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import translation

from tickets import mail as ticket_mail
from tickets import notifications
from tickets.models import Event, OutgoingMail
from tickets.notifications import Notification

logger = logging.getLogger(__name__)

# After this many failed attempts an Event is left undelivered for good (and logged).
MAX_ATTEMPTS = 10
# Events per published task: a task stays well inside the Celery time limits.
TASK_BATCH = 100
# A batch stops after this many failures in a row: the mail server is probably down.
CONSECUTIVE_FAILURES_TO_STOP = 3

# RFC 3834: tells mail servers and out-of-office responders not to auto-reply.
_HEADERS = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}


def queue_delivery(event_ids: list[int]) -> None:
    """After the current transaction commits, publish the delivery task for these Events.

    With ``OUTBOX_PUBLISH_BATCH_SECONDS`` > 0 the ids go to this process's publisher
    thread, which sends one task for everything committed within that window, off the
    request's path (a Celery publish costs about as much as the rest of filing a
    ticket through the API). Never fails the caller: a broker error is logged, and a
    batch lost with its process is delivered by the sweep.
    """
    ids = list(dict.fromkeys(int(pk) for pk in event_ids))
    if not ids or not settings.SUPPORTDESK.OUTBOX_TASKS:
        return
    if settings.SUPPORTDESK.OUTBOX_PUBLISH_BATCH_SECONDS > 0:
        transaction.on_commit(lambda: _publisher.submit(ids))
    else:
        transaction.on_commit(lambda: _publish(ids))


class _BatchPublisher:
    """One daemon thread per process that publishes delivery tasks in batches."""

    def __init__(self) -> None:
        self._queue: SimpleQueue[list[int]] = SimpleQueue()
        self._thread: Thread | None = None
        self._pid = 0
        self._lock = Lock()

    def submit(self, ids: list[int]) -> None:
        self._ensure_thread()
        self._queue.put(ids)

    def _ensure_thread(self) -> None:
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
                return
            if self._pid != os.getpid():
                # A forked child (gunicorn, Celery prefork): the parent's queue and thread
                # are the parent's.
                self._queue = SimpleQueue()
                self._pid = os.getpid()
            self._thread = Thread(target=self._run, name="outbox-publisher", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            ids = self._queue.get()
            window = settings.SUPPORTDESK.OUTBOX_PUBLISH_BATCH_SECONDS
            deadline = monotonic() + window
            while len(ids) < TASK_BATCH and (remaining := deadline - monotonic()) > 0:
                try:
                    ids = ids + self._queue.get(timeout=remaining)
                except Empty:
                    break
            try:
                _publish(list(dict.fromkeys(ids)))
            except Exception:  # never let the thread die; the sweep delivers the rest
                logger.exception("outbox publisher failed for events %s", ids)

    def flush(self) -> None:
        """Publish whatever is waiting, in the caller's thread (process exit, tests)."""
        if self._pid != os.getpid():
            return
        pending: list[int] = []
        while True:
            try:
                pending += self._queue.get_nowait()
            except Empty:
                break
        if pending:
            _publish(list(dict.fromkeys(pending)))


_publisher = _BatchPublisher()
atexit.register(_publisher.flush)


def _publish(ids: list[int]) -> None:
    from tickets.tasks import deliver_events as task

    for start in range(0, len(ids), TASK_BATCH):
        chunk = ids[start : start + TASK_BATCH]
        try:
            task.apply_async(args=(chunk,), retry=False, ignore_result=True)
        except Exception as error:  # the broker is down: the sweep will deliver them
            # No traceback: during an outage this happens on every write, and the cause
            # (the broker's address refusing) is all there is to say.
            logger.warning(
                "delivery task for events %s not queued (%s); the sweep will deliver them",
                chunk,
                error.__class__.__name__,
            )


class EventHandler(Protocol):
    def __call__(self, events: list[Event], *, now: datetime) -> object: ...


_handlers: list[EventHandler] = []


def register_handler(handler: EventHandler) -> None:
    """Let another app act on every Event before it is marked delivered (the webhooks
    app registers its deliveries in ``AppConfig.ready``): the handler must be idempotent
    per Event, as a failed delivery runs it again. Registering twice has no effect."""
    if handler not in _handlers:
        _handlers.append(handler)


def deliver_events(event_ids: Iterable[int], *, now: datetime) -> int:
    """Send the e-mails of those of these Events that are still undelivered and mark them
    delivered at ``now``. Returns how many were marked delivered (Events that tell
    nobody included). Safe to run twice, and beside another worker."""
    ids = sorted({int(pk) for pk in event_ids})
    if not ids:
        return 0
    events = list(
        Event.objects.undelivered()
        .filter(pk__in=ids)
        # The requester: the contact address's own time zone (tickets.notifications).
        .select_related("ticket__organization", "ticket__assignee", "ticket__created_by")
        .order_by("created_at", "pk")
    )
    if not events:
        return 0
    # Other channels' handlers first (webhooks: idempotent per endpoint and Event), so an
    # Event is marked delivered only once their work exists, and a re-run repeats none.
    for handler in _handlers:
        handler(events, now=now)
    prefetched = notifications.prefetch(events)

    silent: list[int] = []
    loud: list[tuple[Event, list[EmailMultiAlternatives]]] = []
    mail = get_connection()
    for event in events:
        try:
            wanted = notifications.notifications_for(event, prefetched=prefetched)
            emails = [
                _email(one, mail, event=event)
                for notification in wanted
                for one in _per_recipient(notification)
            ]
        except Exception:
            _failed(event, "could not be written")
            continue
        if emails:
            loud.append((event, emails))
        else:
            silent.append(event.pk)

    # Nothing to send, so nothing to claim: one conditional UPDATE marks them all.
    delivered = (
        Event.objects.undelivered().filter(pk__in=silent).update(delivered_at=now) if silent else 0
    )
    threads = _Threads({event.ticket_id for event, _emails in loud if event.ticket_id})
    failures_in_a_row = 0
    try:
        for position, (event, emails) in enumerate(loud):
            if failures_in_a_row >= CONSECUTIVE_FAILURES_TO_STOP:
                logger.warning(
                    "e-mail keeps failing; %d events left for the next sweep",
                    len(loud) - position,
                )
                break
            outcome = _deliver_one(event, emails, now=now, mail=mail, threads=threads)
            if outcome is None:
                continue  # another worker has it, or had it
            if outcome:
                delivered += 1
                failures_in_a_row = 0
            else:
                failures_in_a_row += 1
    finally:
        _reset(mail)
    return delivered


def deliver_pending(*, now: datetime, limit: int = 500) -> int:
    """Deliver, oldest first, the Events the task path has not delivered: written at
    least ``OUTBOX_RETRY_AFTER_SECONDS`` ago (doubling per failed attempt) and not given
    up on. Runs inline in the sweep; reads through the ``event_undelivered`` index."""
    retry_after = timedelta(seconds=settings.SUPPORTDESK.OUTBOX_RETRY_AFTER_SECONDS)
    due = reduce(
        or_,
        (
            Q(delivery_attempts=attempts, created_at__lte=now - retry_after * 2**attempts)
            for attempts in range(MAX_ATTEMPTS)
        ),
    )
    ids = list(
        Event.objects.undelivered()
        .filter(created_at__lte=now - retry_after)
        .filter(due)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return deliver_events(ids, now=now) if ids else 0


def _deliver_one(
    event: Event,
    emails: list[EmailMultiAlternatives],
    *,
    now: datetime,
    mail: BaseEmailBackend,
    threads: _Threads,
) -> bool | None:
    """Claim, send, mark: True when delivered, False when sending failed, None when the
    Event was not (or no longer) ours to deliver."""
    sent: list[OutgoingMail] = []
    try:
        with transaction.atomic():
            claim = Event.objects.undelivered().filter(pk=event.pk)
            if connection.features.has_select_for_update_skip_locked:
                claim = claim.select_for_update(skip_locked=True)
            if not list(claim.values_list("pk", flat=True)):
                return None
            mail.open()  # one connection for the whole batch (a no-op once open)
            for email in emails:
                if event.ticket_id is not None:
                    sent.append(
                        threads.thread(email, ticket_id=event.ticket_id, event=event, now=now)
                    )
                email.send()
            if sent:
                # A retry after a crash before this commit sends the same Message-IDs: the
                # rows of a commit that did happen are never written twice.
                OutgoingMail.objects.bulk_create(sent, ignore_conflicts=True)
            Event.objects.filter(pk=event.pk).update(delivered_at=now)
    except Exception:
        _failed(event, "could not be sent")
        _reset(mail)
        return False
    threads.sent(sent)
    return True


class _Threads:
    """The Message-IDs the tickets of a batch have sent, oldest first, read once per
    batch and kept up to date as the batch sends."""

    def __init__(self, ticket_ids: set[int]) -> None:
        self._sent: dict[int, list[tuple[str, str]]] = {}
        if not ticket_ids:
            return
        rows = (
            OutgoingMail.objects.filter(ticket_id__in=ticket_ids)
            .order_by("created_at", "pk")
            .values_list("ticket_id", "recipient", "message_id")
        )
        for ticket_id, recipient, sent in rows:
            self._sent.setdefault(ticket_id, []).append((recipient, sent))

    def thread(
        self, email: EmailMultiAlternatives, *, ticket_id: int, event: Event, now: datetime
    ) -> OutgoingMail:
        """Set the e-mail's In-Reply-To and References; its row, to write once sent."""
        recipient = ticket_mail.recipient_key(email.to)
        own = email.extra_headers["Message-ID"]
        earlier = [pair for pair in self._sent.get(ticket_id, []) if pair[1] != own]
        email.extra_headers.update(ticket_mail.thread_headers(earlier, recipient))
        return OutgoingMail(
            ticket_id=ticket_id, event=event, recipient=recipient, message_id=own, created_at=now
        )

    def sent(self, rows: list[OutgoingMail]) -> None:
        for row in rows:
            self._sent.setdefault(row.ticket_id, []).append((row.recipient, row.message_id))


def _reset(mail: BaseEmailBackend) -> None:
    """Drop a connection a failure may have broken; the next send opens a new one."""
    try:
        mail.close()
    except Exception:
        logger.debug("closing the mail connection failed", exc_info=True)


def _failed(event: Event, what: str) -> None:
    attempts = event.delivery_attempts + 1
    log = logger.error if attempts >= MAX_ATTEMPTS else logger.warning
    log(
        "e-mails of event %s (%s) %s (attempt %d of %d)%s",
        event.pk,
        event.kind,
        what,
        attempts,
        MAX_ATTEMPTS,
        "; giving up" if attempts >= MAX_ATTEMPTS else "",
        exc_info=True,
    )
    try:
        Event.objects.undelivered().filter(pk=event.pk).update(
            delivery_attempts=F("delivery_attempts") + 1
        )
    except DatabaseError:
        logger.warning("could not count the failed attempt of event %s", event.pk, exc_info=True)


def _per_recipient(notification: Notification) -> list[Notification]:
    """A customer notification once per address: each gets their own reply address."""
    if not notification.customer or len(notification.to) < 2:
        return [notification]
    return [dataclasses.replace(notification, to=[address]) for address in notification.to]


def _email(
    notification: Notification, mail: BaseEmailBackend, *, event: Event | None = None
) -> EmailMultiAlternatives:
    """Render one notification (subject, text and HTML) in its reader's language; with
    its Event, the Message-ID and (for the customer) the reply address."""
    name = f"emails/{notification.template}"
    context = notification.context
    if notification.customer:
        # What the incoming mail service cuts a customer's answer at (tickets.mail).
        context = {**context, "reply_marker": ticket_mail.REPLY_ABOVE_MARKER}
    with translation.override(notification.language):
        subject = " ".join(render_to_string(f"{name}_subject.txt", context).split())
        text = render_to_string(f"{name}.txt", context)
        html = render_to_string(f"{name}.html", context)
    headers = dict(_HEADERS)
    reply_to: list[str] = []
    if event is not None and event.ticket_id is not None:
        headers["Message-ID"] = ticket_mail.message_id(event.ticket_id, event.pk, notification.to)
        if notification.customer and len(notification.to) == 1:
            reply_to = [ticket_mail.reply_address(event.ticket_id, notification.to[0])]
    email = EmailMultiAlternatives(
        subject=f"[{context['reference']}] {subject}",
        body=text,
        to=notification.to,
        headers=headers,
        reply_to=reply_to,
        connection=mail,
    )
    email.attach_alternative(html, "text/html")
    return email

"""The product's own settings, as one typed, immutable object: ``settings.SUPPORTDESK``.

``supportdesk.settings`` builds it from the environment (each field is the variable of
the same name; defaults and start-up validation live there, beside the other variables
in ``.env.example``). Code reads ``settings.SUPPORTDESK.SWEEP_INTERVAL_SECONDS``, which
mypy checks; a test changes one value with ``dataclasses.replace`` on a copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True, slots=True, kw_only=True)
class SupportdeskConfig:
    """Product policy values (POLICY.md "Default" lines), configurable per deployment."""

    TICKET_PREFIX: str
    DUTY_MANAGER_EMAIL: str

    # The address customers answer ticket mail at: its local part and domain make each
    # ticket's signed reply address (tickets.mail.reply_address).
    MAILIN_ADDRESS: str

    # Incoming mail transports (mailin.transports): the fetcher polls the IMAP mailbox
    # when one is configured, else the local Maildir, every MAILIN_POLL_SECONDS.
    MAILIN_POLL_SECONDS: float
    MAILIN_IMAP: ImapAccount | None
    MAILIN_MAILDIR: Path
    # The largest incoming message acted on, in bytes as stored (attachments encoded):
    # a larger one is refused from its size and header alone, never downloaded or parsed.
    MAILIN_MAX_MESSAGE_BYTES: int

    # The SLA sweep and its per-ticket deadline tasks.
    SWEEP_INTERVAL_SECONDS: float
    SWEEP_BATCH_SIZE: int
    SWEEP_PARALLELISM: int
    DEADLINE_TASKS: bool
    DEADLINE_TASK_HORIZON_SECONDS: int

    # Delivery of each Event's notifications (tickets.outbox).
    OUTBOX_TASKS: bool
    OUTBOX_PUBLISH_BATCH_SECONDS: float
    OUTBOX_RETRY_AFTER_SECONDS: int

    # Caller verification by PIN (POL-PIN-1..3); judged by verification.pins.PinPolicy.
    PIN_CODE_LENGTH: int
    PIN_VALID_MINUTES: int
    PIN_MAX_WRONG_PER_CODE: int
    PIN_MAX_CODES_PER_HOUR: int
    PIN_MAX_CODES_PER_DAY: int
    PIN_LOCK_AFTER_FAILURES: int
    PIN_CALL_MAX_MINUTES: int

    # Customer attachments, the reopen window, the REST API's Idempotency-Key memory.
    ATTACHMENT_MAX_BYTES: int
    ATTACHMENT_MAX_FILES: int
    REOPEN_WINDOW_DAYS: int
    AUTO_CLOSE_DAYS: int
    SURVEY_LINK_DAYS: int
    IDEMPOTENCY_TTL_HOURS: int

    # The desk: a public reply to an unassigned request assigns it to the replier.
    REPLY_ASSIGNS: bool

    # Outbound webhooks.
    WEBHOOK_TIMEOUT_SECONDS: float
    WEBHOOK_CONNECT_TIMEOUT_SECONDS: float
    WEBHOOK_MAX_ATTEMPTS: int
    WEBHOOK_RETRY_BASE_SECONDS: int
    WEBHOOK_ALLOW_PRIVATE_ADDRESSES: bool
    WEBHOOK_MAX_ENDPOINTS: int
    WEBHOOK_ORGANIZATION_CONCURRENCY: int
    WEBHOOK_CIRCUIT_FAILURES: int
    WEBHOOK_CIRCUIT_COOLDOWN_SECONDS: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ImapAccount:
    """The mailbox ``mail_fetch`` polls, from ``MAILIN_IMAP_URL``:
    ``imaps://user:password@host:993/INBOX`` (TLS from the first byte) or ``imap://…:143``
    (plain text: a server on the same host, or the tests' private one)."""

    host: str
    port: int
    username: str
    password: str = field(repr=False)
    folder: str
    tls: bool

    @classmethod
    def from_url(cls, url: str) -> ImapAccount:
        """Raises ValueError naming what is wrong (never echoing the password)."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in {"imap", "imaps"}:
            raise ValueError(f"the scheme {scheme!r} is not imaps or imap")
        if not parts.hostname:
            raise ValueError("it names no host")
        if not parts.username or parts.password is None:
            raise ValueError("it names no user and password (imaps://user:password@host/)")
        tls = scheme == "imaps"
        return cls(
            host=parts.hostname,
            port=parts.port or (993 if tls else 143),
            username=unquote(parts.username),
            password=unquote(parts.password),
            folder=unquote(parts.path.strip("/")) or "INBOX",
            tls=tls,
        )

"""How a verification code reaches a registered contact: e-mail and SMS backends.

E-mail goes through Django's own e-mail backend (``EMAIL_URL``). SMS goes through a
small pluggable backend chosen by ``SMS_BACKEND`` (a dotted path), in the manner of
Django's e-mail backends:

* ``verification.delivery.ConsoleSmsBackend`` (default): prints each message in full to
  stdout, like Django's console e-mail backend. For development only.
* ``verification.delivery.OutboxSmsBackend``: appends to :data:`outbox`, like Django's
  locmem e-mail backend. For tests.
* ``verification.delivery.HttpSmsBackend``: POSTs ``{"to", "text", "from"}`` as JSON
  with a bearer token to ``SMS_HTTP_URL`` (``SMS_HTTP_TOKEN``, ``SMS_SENDER``,
  ``SMS_HTTP_TIMEOUT``), the shape most SMS gateways accept.

Backends are called inline by the service that sends the code (never from a Celery task,
so the code never reaches a broker) and never log a message body.
"""

from __future__ import annotations

import json
import sys
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

DEFAULT_SMS_BACKEND = "verification.delivery.ConsoleSmsBackend"


class SmsDeliveryError(Exception):
    """The SMS could not be handed to the provider. The message never holds the body."""


@dataclass(frozen=True, slots=True)
class SmsMessage:
    to: str
    body: str
    sender: str = ""


class SmsBackend:
    """The interface: ``send`` hands one text message over or raises ``SmsDeliveryError``."""

    def __init__(self, **options: Any) -> None:
        self.sender: str = options.get("sender") or getattr(settings, "SMS_SENDER", "") or ""

    def send(self, to: str, body: str) -> None:
        raise NotImplementedError


class ConsoleSmsBackend(SmsBackend):
    """Development: the whole message on stdout, like Django's console e-mail backend."""

    def __init__(self, *, stream: TextIO | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.stream = stream
        self._lock = threading.Lock()

    def send(self, to: str, body: str) -> None:
        stream = self.stream or sys.stdout
        with self._lock:
            stream.write(f"SMS from: {self.sender or '-'}\nSMS to: {to}\n\n{body}\n{'-' * 79}\n")
            stream.flush()


# Messages sent with the OutboxSmsBackend, oldest first; tests empty it between tests.
outbox: list[SmsMessage] = []


class OutboxSmsBackend(SmsBackend):
    """Tests: keeps each message in :data:`outbox`, like Django's locmem e-mail backend."""

    def send(self, to: str, body: str) -> None:
        outbox.append(SmsMessage(to=to, body=body, sender=self.sender))


class HttpSmsBackend(SmsBackend):
    """A JSON-over-HTTPS SMS gateway: ``POST {url}`` with ``Authorization: Bearer …``.

    Any 2xx answer means accepted. Plain ``http://`` is allowed only to a loopback host
    (a local relay); the token must never cross a network in clear text.
    """

    def __init__(
        self,
        *,
        url: str | None = None,
        token: str | None = None,
        timeout: float | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.url = url if url is not None else getattr(settings, "SMS_HTTP_URL", "") or ""
        self.token = token if token is not None else getattr(settings, "SMS_HTTP_TOKEN", "") or ""
        self.timeout = float(
            timeout if timeout is not None else getattr(settings, "SMS_HTTP_TIMEOUT", 10)
        )
        problem = http_backend_problem(self.url, self.token)
        if problem:
            raise ImproperlyConfigured(problem)

    def send(self, to: str, body: str) -> None:
        payload: dict[str, str] = {"to": to, "text": body}
        if self.sender:
            payload["from"] = self.sender
        request = urllib.request.Request(  # noqa: S310 (scheme checked in __init__)
            self.url,
            data=json.dumps(payload).encode("utf-8"),
            method="POST",
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": "supportdesk-sms/1",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as exc:
            # Not ``str(exc)`` of the response body: a gateway may echo the message back.
            raise SmsDeliveryError(f"SMS gateway answered HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SmsDeliveryError(f"SMS gateway unreachable: {type(reason).__name__}") from None
        if not 200 <= status < 300:
            raise SmsDeliveryError(f"SMS gateway answered HTTP {status}")


_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def http_backend_problem(url: str, token: str) -> str | None:
    """Why ``HttpSmsBackend`` cannot run with these settings, or None."""
    if not url:
        return "HttpSmsBackend needs SMS_HTTP_URL."
    parts = urlsplit(url)
    if parts.scheme == "http" and (parts.hostname or "") not in _LOOPBACK:
        return "SMS_HTTP_URL must use https:// (http:// only to a loopback relay)."
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return f"SMS_HTTP_URL={url!r} is not an http(s) URL."
    if not token:
        return "HttpSmsBackend needs SMS_HTTP_TOKEN (or SMS_HTTP_TOKEN_FILE)."
    return None


def get_sms_backend(path: str | None = None, **options: Any) -> SmsBackend:
    """The backend named by ``path`` or ``settings.SMS_BACKEND`` (default: console)."""
    dotted = path or getattr(settings, "SMS_BACKEND", "") or DEFAULT_SMS_BACKEND
    try:
        backend_class = import_string(dotted)
    except ImportError as exc:
        raise ImproperlyConfigured(f"SMS_BACKEND={dotted!r} cannot be imported.") from exc
    if not (isinstance(backend_class, type) and issubclass(backend_class, SmsBackend)):
        raise ImproperlyConfigured(f"SMS_BACKEND={dotted!r} is not an SmsBackend.")
    return backend_class(**options)

"""SMS backends: console, outbox, the HTTP gateway adapter (against a local server), the
backend setting and the start-up checks."""

from __future__ import annotations

import dataclasses
import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from verification import checks, delivery
from verification.delivery import (
    ConsoleSmsBackend,
    HttpSmsBackend,
    OutboxSmsBackend,
    SmsDeliveryError,
    get_sms_backend,
)


def test_default_backend_is_the_console(settings: Any) -> None:
    del settings.SMS_BACKEND
    assert isinstance(get_sms_backend(), ConsoleSmsBackend)


def test_console_backend_prints_the_whole_message(capsys: pytest.CaptureFixture[str]) -> None:
    ConsoleSmsBackend(sender="supportdesk").send("+48600100123", "12345678 is your code")
    out = capsys.readouterr().out
    assert "SMS to: +48600100123" in out
    assert "SMS from: supportdesk" in out
    assert "12345678 is your code" in out


def test_console_backend_can_write_to_a_stream() -> None:
    stream = io.StringIO()
    ConsoleSmsBackend(stream=stream).send("+48600100123", "hello")
    assert "hello" in stream.getvalue()


def test_outbox_backend_keeps_messages(sms_outbox: list[delivery.SmsMessage]) -> None:
    backend = get_sms_backend()
    assert isinstance(backend, OutboxSmsBackend)
    backend.send("+48600100123", "one")
    backend.send("+48600100124", "two")
    assert [(m.to, m.body, m.sender) for m in sms_outbox] == [
        ("+48600100123", "one", "supportdesk"),
        ("+48600100124", "two", "supportdesk"),
    ]


@pytest.mark.parametrize("path", ["no.such.Backend", "verification.delivery.SmsMessage"])
def test_a_bad_backend_setting_is_refused(path: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        get_sms_backend(path)


def test_the_interface_must_be_implemented() -> None:
    with pytest.raises(NotImplementedError):
        delivery.SmsBackend().send("+48600100123", "x")


# --- The HTTP gateway ----------------------------------------------------------------------


class Gateway:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 202


@pytest.fixture
def gateway() -> Iterator[tuple[Gateway, str]]:
    state = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            state.requests.append(
                {
                    "path": self.path,
                    "headers": dict(self.headers),
                    "json": json.loads(self.rfile.read(length)),
                }
            )
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"echo": "the message body a gateway might echo"}')

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/v1/messages"
    finally:
        server.shutdown()
        server.server_close()


def test_http_backend_posts_json_with_a_bearer_token(
    gateway: tuple[Gateway, str], settings: Any
) -> None:
    state, url = gateway
    settings.SMS_HTTP_URL = url
    settings.SMS_HTTP_TOKEN = "s3cret-token"
    settings.SMS_SENDER = "Support"

    get_sms_backend("verification.delivery.HttpSmsBackend").send("+48600100123", "hello")

    [request] = state.requests
    assert request["path"] == "/v1/messages"
    assert request["headers"]["Authorization"] == "Bearer s3cret-token"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["json"] == {"to": "+48600100123", "text": "hello", "from": "Support"}


@pytest.mark.parametrize("status", [400, 401, 500, 503])
def test_http_backend_raises_on_an_error_answer_without_the_body(
    gateway: tuple[Gateway, str], status: int
) -> None:
    state, url = gateway
    state.status = status
    backend = HttpSmsBackend(url=url, token="t")
    with pytest.raises(SmsDeliveryError) as failure:
        backend.send("+48600100123", "12345678 secret body")
    assert str(status) in str(failure.value)
    assert "12345678" not in str(failure.value)
    assert failure.value.__cause__ is None


def test_http_backend_raises_when_the_gateway_is_unreachable() -> None:
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    backend = HttpSmsBackend(url="http://127.0.0.1:9/", token="t", timeout=2)
    with pytest.raises(SmsDeliveryError, match="unreachable"):
        backend.send("+48600100123", "body")


@pytest.mark.parametrize(
    ("url", "token", "problem"),
    [
        ("", "t", "needs SMS_HTTP_URL"),
        ("http://sms.example.com/send", "t", "must use https"),
        ("ftp://sms.example.com/send", "t", "not an http(s) URL"),
        ("https://sms.example.com/send", "", "needs SMS_HTTP_TOKEN"),
    ],
)
def test_http_backend_refuses_a_bad_configuration(url: str, token: str, problem: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=problem.replace("(", r"\(").replace(")", r"\)")):
        HttpSmsBackend(url=url, token=token)


def test_http_backend_accepts_https_and_loopback_http() -> None:
    assert HttpSmsBackend(url="https://sms.example.com/send", token="t").timeout == 10
    assert HttpSmsBackend(url="http://localhost:8025/", token="t", timeout=3).timeout == 3


# --- Start-up checks -----------------------------------------------------------------------


def test_checks_pass_with_the_defaults(settings: Any) -> None:
    assert checks.pin_settings() == []


def test_checks_report_a_bad_policy(settings: Any) -> None:
    settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, PIN_MAX_WRONG_PER_CODE=0)
    [error] = checks.pin_settings()
    assert error.id == "verification.E001"


def test_checks_report_a_bad_sms_backend(settings: Any) -> None:
    settings.SMS_BACKEND = "verification.delivery.HttpSmsBackend"
    settings.SMS_HTTP_URL = "https://sms.example.com/send"
    settings.SMS_HTTP_TOKEN = ""
    [error] = checks.pin_settings()
    assert error.id == "verification.E002"
    assert "SMS_HTTP_TOKEN" in error.msg
    settings.SMS_BACKEND = "no.such.Backend"
    [error] = checks.pin_settings()
    assert "cannot be imported" in error.msg

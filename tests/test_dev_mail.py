"""Development's mail: the file backend's folder read back, the /dev/mail/ page shown only
with DEBUG in development, never routed in production."""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.mail import EmailMessage, get_connection
from django.http import Http404
from django.test import Client
from django.urls import clear_url_caches

import supportdesk.urls
from supportdesk import devmail
from tests.conftest import T0, World
from tests.test_settings import SECRET, _manage
from tickets import outbox
from tickets.mail import reply_address
from tickets.models import EventKind

FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"


def _write(folder: Path, *messages: EmailMessage) -> None:
    """As the file backend writes them: one file per connection."""
    with get_connection(FILE_BACKEND, file_path=str(folder)) as connection:
        connection.send_messages(list(messages))


def _mail(subject: str, body: str, to: str = "anna@customer.test", **kw: Any) -> EmailMessage:
    return EmailMessage(subject=subject, body=body, to=[to], **kw)


def test_the_folder_is_read_back_newest_first(tmp_path: Path) -> None:
    # A body line of dashes like the backend's separator does not split the message.
    older = _mail("First", "Hello\n" + "-" * 79 + "\nstill the first mail")
    _write(tmp_path, older, _mail("Second", "Zażółć gęślą jaźń", reply_to=["r@x.test"]))
    [first_file] = tmp_path.glob("*.log")
    # A later connection writes a later file.
    os.utime(first_file, (time.time() - 60, time.time() - 60))
    _write(tmp_path, _mail("Third", "Newest", to="boss@provider.test"))

    mails = devmail.read_mail_folder(tmp_path)
    assert [mail.subject for mail in mails] == ["Third", "Second", "First"]
    assert {mail.subject for mail in mails} == {"First", "Second", "Third"}
    by_subject = {mail.subject: mail for mail in mails}
    assert by_subject["Second"].text.strip() == "Zażółć gęślą jaźń"
    assert by_subject["Second"].reply_to == "r@x.test"
    assert by_subject["Third"].to == "boss@provider.test"
    assert by_subject["First"].text.rstrip().endswith("still the first mail")
    assert all(mail.sent_at is not None and mail.message_id for mail in mails)
    assert devmail.read_mail_folder(tmp_path, limit=1)[0].subject == "Third"
    assert devmail.read_mail_folder(tmp_path / "missing") == []


@pytest.fixture
def debug_routes(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """DEBUG on, mail written to files in tmp_path, and the URLs built again under it."""
    settings.DEBUG = True
    settings.EMAIL_BACKEND = FILE_BACKEND
    settings.EMAIL_FILE_PATH = str(tmp_path)
    importlib.reload(supportdesk.urls)
    clear_url_caches()
    try:
        yield tmp_path
    finally:
        settings.DEBUG = False
        importlib.reload(supportdesk.urls)
        clear_url_caches()


@pytest.mark.django_db
def test_with_debug_the_page_lists_a_ticket_mail_with_its_text_and_reply_address(
    debug_routes: Path, world: World, client: Client
) -> None:
    ticket = world.file()
    event = ticket.events.get(kind=EventKind.CREATED)
    assert outbox.deliver_events([event.pk], now=T0) == 1
    assert list(debug_routes.glob("*.log"))

    response = client.get("/dev/mail/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"[{ticket.reference}] We received your request: Cannot send mail" in page
    assert world.admin_a.user.email in page
    assert reply_address(ticket.pk, world.admin_a.user.email) in page
    assert "We received your request" in page


@pytest.mark.django_db
def test_without_debug_there_is_no_page(client: Client, settings: Any) -> None:
    assert client.get("/dev/mail/").status_code == 404
    # Even if it were routed, the view itself refuses.
    request = Client().get("/").wsgi_request
    settings.DEBUG = False
    with pytest.raises(Http404):
        devmail.sent_mail(request)


def test_production_never_routes_the_page_even_with_debug(tmp_path: Path) -> None:
    probe = (
        "from django.urls import Resolver404, resolve\n"
        "try:\n    resolve('/dev/mail/')\nexcept Resolver404:\n    print('not routed')\n"
        "else:\n    print('ROUTED')\n"
    )
    for debug in ("0", "1"):
        result = _manage(
            "shell",
            "-c",
            probe,
            DJANGO_ENV="production",
            DEBUG=debug,
            SECRET_KEY=SECRET,
            ALLOWED_HOSTS="support.example.com",
            SUPPORTDESK_DATA_DIR=str(tmp_path),
            SMS_BACKEND="verification.delivery.HttpSmsBackend",
            SMS_HTTP_URL="https://sms.example.com/send",
            SMS_HTTP_TOKEN="sms-token-0123456789",
            EMAIL_URL="smtps://user:pass@smtp.example.com:465",
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[-1] == "not routed"


def test_development_without_email_url_writes_files_under_var_mail(tmp_path: Path) -> None:
    probe = (
        "from django.conf import settings; print(settings.EMAIL_BACKEND, settings.EMAIL_FILE_PATH)"
    )
    result = _manage(
        "shell",
        "-c",
        probe,
        DJANGO_ENV="development",
        EMAIL_URL="",
        SUPPORTDESK_DATA_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == [FILE_BACKEND, str(tmp_path / "mail")]

"""The incoming mail transports over the real ``mailin.services.ingest``: ``mail_ingest``
from a file and from an MTA's pipe, ``mail_fetch`` from the Maildir and from a real IMAP
server (dovecot), the beat task, and the at-least-once guarantees with real processes: a
fetcher SIGKILLed between the commit and the flag, and two fetchers at once (marked
``slow``: each starts ``manage.py`` processes)."""

from __future__ import annotations

import dataclasses
import io
import json
import mailbox
import os
import subprocess
import sys
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from mailin import services, transports
from mailin.tasks import fetch as fetch_task
from tests.conftest import World
from tests.mailin.imap_server import Dovecot
from tickets.mail import reply_address
from tickets.models import AuthorRole, Message, Ticket

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _private_folders(settings: Any, tmp_path: Path) -> None:
    """Stored originals and the Maildir live in the test's own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SUPPORTDESK = dataclasses.replace(
        settings.SUPPORTDESK, MAILIN_IMAP=None, MAILIN_MAILDIR=tmp_path / "maildir"
    )


def customer_reply(ticket: Ticket, text: str, *, sender: str | None = None) -> bytes:
    """The customer's answer to the ticket's mail, addressed to its signed reply address."""
    sender = sender or ticket.contact_email
    mail = EmailMessage()
    mail["From"] = f"Customer <{sender}>"
    mail["To"] = reply_address(ticket.pk, sender)
    mail["Subject"] = f"Re: [{ticket.reference}] {ticket.title}"
    mail["Message-ID"] = make_msgid(domain="customer.test")
    mail["Date"] = "Wed, 10 Jun 2026 10:30:00 +0000"
    mail.set_content(f"{text}\n")
    return mail.as_bytes()


def replies(ticket: Ticket, text: str) -> int:
    """How many customer messages of the ticket carry this text."""
    return Message.objects.filter(
        ticket=ticket, author_role=AuthorRole.CUSTOMER, body__contains=text
    ).count()


def deliver(maildir: Path, raw: bytes) -> str:
    """Delivered as an MTA does: written in tmp/, renamed into new/."""
    return mailbox.Maildir(maildir, factory=None, create=True).add(raw)


def fetch_command() -> dict[str, Any]:
    out = io.StringIO()
    call_command("mail_fetch", stdout=out)
    return dict(json.loads(out.getvalue()))


# --- Real processes against the test database ------------------------------------------------


def database_url() -> str:
    """The test database as a URL for another process (it must see the committed rows:
    the tests using it are transactional)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        options = {key: str(value) for key, value in db["OPTIONS"].items()}
        return f"sqlite:///{db['NAME']}?{urlencode(options)}"
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return f"postgres://{credentials}{host}:{port}/{quote(str(db['NAME']), safe='')}"


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    config = django_settings.SUPPORTDESK
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "supportdesk.settings",
        "DATABASE_URL": database_url(),
        # Reply addresses are signed with the secret: the same as this process's.
        "SECRET_KEY": django_settings.SECRET_KEY,
        "MAILIN_ADDRESS": config.MAILIN_ADDRESS,
        "MAILIN_MAILDIR": str(config.MAILIN_MAILDIR),
        "SUPPORTDESK_DATA_DIR": str(tmp_path / "data"),
        "MEDIA_ROOT": str(django_settings.MEDIA_ROOT),
        "EMAIL_URL": "locmem://",
        "OUTBOX_TASKS": "0",
        "DEADLINE_TASKS": "0",
        "DEBUG": "0",
        **extra,
    }


def run(
    argv: list[str], env: dict[str, str], stdin: bytes = b""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=PROJECT,
        env=env,
        input=stdin.decode(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def manage(*args: str) -> list[str]:
    return [sys.executable, "manage.py", *args]


# The fetcher that dies between the commit and the flag (tests/mailin/fetch_then_die.py).
FETCH_THEN_DIE = [sys.executable, "-m", "tests.mailin.fetch_then_die"]


# --- mail_ingest -------------------------------------------------------------------------------


def test_mail_ingest_reads_a_file_and_prints_the_outcome(world: World, tmp_path: Path) -> None:
    ticket = world.file()
    path = tmp_path / "reply.eml"
    path.write_bytes(customer_reply(ticket, "Restarting the connector fixed it."))
    out = io.StringIO()

    call_command("mail_ingest", str(path), stdout=out)

    outcome = json.loads(out.getvalue())
    assert outcome["action"] == "replied"
    assert outcome["ticket_id"] == ticket.pk
    assert outcome["message_id"].endswith("@customer.test>")
    assert replies(ticket, "Restarting the connector fixed it.") == 1


def test_mail_ingest_takes_a_message_twice_as_one(world: World, tmp_path: Path) -> None:
    ticket = world.file()
    path = tmp_path / "reply.eml"
    path.write_bytes(customer_reply(ticket, "Sent once, delivered twice."))
    call_command("mail_ingest", str(path), stdout=io.StringIO())
    out = io.StringIO()

    call_command("mail_ingest", str(path), stdout=out)

    assert json.loads(out.getvalue())["action"] == "duplicate"
    assert replies(ticket, "Sent once, delivered twice.") == 1


@pytest.mark.parametrize("content", [None, b"", b"\r\n \r\n"])
def test_mail_ingest_without_a_message_is_no_input(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "reply.eml"
    if content is not None:
        path.write_bytes(content)

    with pytest.raises(CommandError) as refused:
        call_command("mail_ingest", str(path), stdout=io.StringIO())

    assert refused.value.returncode == 66  # EX_NOINPUT


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_mail_ingest_from_an_mta_pipe(world: World, tmp_path: Path) -> None:
    ticket = world.file()
    raw = customer_reply(ticket, "Answered through the pipe.")
    env = environment(tmp_path)

    first = run(manage("mail_ingest", "-"), env, stdin=raw)
    again = run(manage("mail_ingest"), env, stdin=raw)

    assert first.returncode == 0, first.stderr
    outcome = json.loads(first.stdout)
    assert (outcome["action"], outcome["ticket_id"]) == ("replied", ticket.pk)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["action"] == "duplicate"
    assert replies(ticket, "Answered through the pipe.") == 1


@pytest.mark.slow
def test_mail_ingest_asks_the_mta_to_retry_while_the_database_is_away(tmp_path: Path) -> None:
    """EX_TEMPFAIL: the MTA keeps the message queued and hands it over again later."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "supportdesk.settings",
        # Nothing listens on port 1.
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/supportdesk",
        "SUPPORTDESK_DATA_DIR": str(tmp_path / "data"),
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    raw = b"From: someone@customer.test\r\nMessage-ID: <a@customer.test>\r\n\r\nHello\r\n"

    result = run(manage("mail_ingest", "-"), env, stdin=raw)

    assert result.returncode == 75, result.stdout + result.stderr
    assert json.loads(result.stdout)["action"] == "tempfail"


# --- mail_fetch: Maildir --------------------------------------------------------------------


def test_mail_fetch_ingests_the_maildir_and_moves_each_message_to_cur(world: World) -> None:
    maildir = django_settings.SUPPORTDESK.MAILIN_MAILDIR
    ticket = world.file()
    first = deliver(maildir, customer_reply(ticket, "First answer by mail."))
    second = deliver(maildir, customer_reply(ticket, "Second answer by mail."))

    report = fetch_command()

    assert report == {
        "source": "maildir",
        "ingested": 2,
        "replied": 2,
        "failed": 0,
    }
    assert replies(ticket, "First answer by mail.") == 1
    assert replies(ticket, "Second answer by mail.") == 1
    assert os.listdir(maildir / "new") == []
    assert sorted(os.listdir(maildir / "cur")) == sorted([f"{first}:2,S", f"{second}:2,S"])
    assert fetch_command()["ingested"] == 0


@pytest.mark.parametrize("exists", [False, True], ids=["missing", "empty"])
def test_the_maildir_is_created_on_demand(db: None, settings: Any, exists: bool) -> None:
    maildir = django_settings.SUPPORTDESK.MAILIN_MAILDIR / "deeper"
    settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, MAILIN_MAILDIR=maildir)
    if exists:
        maildir.mkdir(parents=True)

    assert fetch_command() == {"source": "maildir", "ingested": 0, "failed": 0}

    assert {path.name for path in maildir.iterdir()} == {"cur", "new", "tmp"}


def test_a_message_ingest_fails_on_stays_in_new_for_the_next_pass(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    maildir = django_settings.SUPPORTDESK.MAILIN_MAILDIR
    ticket = world.file()
    deliver(maildir, customer_reply(ticket, "This one breaks."))
    deliver(maildir, customer_reply(ticket, "This one is fine."))
    real = services.ingest

    def breaking_ingest(raw: bytes, **kwargs: Any) -> services.IngestOutcome:
        if b"This one breaks." in raw:
            raise RuntimeError("a bug in the parser")
        return real(raw, **kwargs)

    monkeypatch.setattr(services, "ingest", breaking_ingest)

    report = fetch_command()

    assert (report["replied"], report["failed"]) == (1, 1)
    assert [
        b"This one breaks." in (maildir / "new" / name).read_bytes()
        for name in os.listdir(maildir / "new")
    ] == [True]
    monkeypatch.setattr(services, "ingest", real)
    assert fetch_command()["replied"] == 1
    assert replies(ticket, "This one breaks.") == 1
    assert replies(ticket, "This one is fine.") == 1


def test_a_database_outage_ends_the_pass_and_leaves_the_messages(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import OperationalError

    maildir = django_settings.SUPPORTDESK.MAILIN_MAILDIR
    ticket = world.file()
    deliver(maildir, customer_reply(ticket, "Waiting for the database."))

    def unavailable(raw: bytes, **kwargs: Any) -> services.IngestOutcome:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "ingest", unavailable)

    with pytest.raises(CommandError) as failed:
        fetch_command()

    assert failed.value.returncode == 75
    assert len(os.listdir(maildir / "new")) == 1


def test_a_pass_starts_no_message_after_its_budget(world: World) -> None:
    maildir = django_settings.SUPPORTDESK.MAILIN_MAILDIR
    ticket = world.file()
    deliver(maildir, customer_reply(ticket, "Left for the next pass."))

    spent = transports.fetch(budget=0).as_dict()

    assert spent == {"source": "maildir", "ingested": 0, "failed": 0, "more": True}
    assert replies(ticket, "Left for the next pass.") == 0
    assert transports.fetch(budget=60).as_dict()["replied"] == 1


# --- mail_fetch: IMAP -------------------------------------------------------------------------


def test_mail_fetch_ingests_the_imap_inbox_and_flags_each_message_seen(
    world: World, dovecot: Dovecot, settings: Any
) -> None:
    settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, MAILIN_IMAP=dovecot.account)
    ticket = world.file()
    dovecot.append(customer_reply(ticket, "Answer over IMAP, one."))
    dovecot.append(customer_reply(ticket, "Answer over IMAP, two."))

    report = fetch_command()

    assert report == {"source": "imap", "ingested": 2, "replied": 2, "failed": 0}
    assert replies(ticket, "Answer over IMAP, one.") == 1
    assert replies(ticket, "Answer over IMAP, two.") == 1
    assert (dovecot.unseen(), dovecot.seen()) == (0, 2)
    assert fetch_command()["ingested"] == 0


def test_imap_keeps_the_original_bytes(world: World, dovecot: Dovecot, settings: Any) -> None:
    """The message reaches ingest exactly as stored on the server (BODY.PEEK[])."""
    settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, MAILIN_IMAP=dovecot.account)
    ticket = world.file()
    raw = customer_reply(ticket, "Byte for byte.").replace(b"\n", b"\r\n")
    dovecot.append(raw)
    seen: list[bytes] = []
    real = services.ingest

    def recording_ingest(message: bytes, **kwargs: Any) -> services.IngestOutcome:
        seen.append(message)
        return real(message, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "ingest", recording_ingest)
        fetch_command()

    assert seen == [raw]


def test_an_imap_pass_starts_no_message_after_its_budget(
    world: World, dovecot: Dovecot, settings: Any
) -> None:
    settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, MAILIN_IMAP=dovecot.account)
    ticket = world.file()
    dovecot.append(customer_reply(ticket, "Left unseen for the next pass."))

    assert transports.fetch(budget=0).as_dict()["more"] is True
    assert dovecot.unseen() == 1
    assert transports.fetch(budget=60).as_dict()["replied"] == 1
    assert dovecot.unseen() == 0


def test_an_imap_message_ingest_fails_on_stays_unseen(
    world: World, dovecot: Dovecot, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, MAILIN_IMAP=dovecot.account)
    ticket = world.file()
    dovecot.append(customer_reply(ticket, "Broken over IMAP."))
    dovecot.append(customer_reply(ticket, "Fine over IMAP."))
    real = services.ingest

    def breaking_ingest(raw: bytes, **kwargs: Any) -> services.IngestOutcome:
        if b"Broken over IMAP." in raw:
            raise RuntimeError("a bug in the parser")
        return real(raw, **kwargs)

    monkeypatch.setattr(services, "ingest", breaking_ingest)

    report = fetch_command()

    assert (report["replied"], report["failed"]) == (1, 1)
    assert (dovecot.unseen(), dovecot.seen()) == (1, 1)


def test_a_wrong_imap_password_fails_the_command(dovecot: Dovecot, settings: Any) -> None:
    account = dataclasses.replace(dovecot.account, password="wrong")
    settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, MAILIN_IMAP=account)

    with pytest.raises(CommandError) as failed:
        fetch_command()

    assert failed.value.returncode == 69  # EX_UNAVAILABLE


# --- Settings ---------------------------------------------------------------------------------


def _check(tmp_path: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(SUPPORTDESK_DATA_DIR=str(tmp_path), **environ)
    return run(manage("check"), env)


@pytest.mark.slow
def test_a_malformed_imap_url_stops_the_start(tmp_path: Path) -> None:
    result = _check(tmp_path, MAILIN_IMAP_URL="imaps://mail.example.com/INBOX")

    assert result.returncode != 0
    assert "MAILIN_IMAP_URL: it names no user and password" in result.stderr


@pytest.mark.slow
def test_production_refuses_plain_text_imap_to_another_host(tmp_path: Path) -> None:
    production = {
        "DJANGO_ENV": "production",
        "SECRET_KEY": "x" * 64,
        "ALLOWED_HOSTS": "support.example.com",
        "SMS_BACKEND": "verification.delivery.HttpSmsBackend",
        "SMS_HTTP_URL": "https://sms.example.com/send",
        "SMS_HTTP_TOKEN": "sms-token-0123456789",
        "EMAIL_URL": "smtps://user:pass@smtp.example.com:465",
    }
    remote = _check(tmp_path, MAILIN_IMAP_URL="imap://u:pw-4f1a@mail.example.com", **production)
    local = _check(tmp_path, MAILIN_IMAP_URL="imap://u:secret@127.0.0.1:1143", **production)

    assert remote.returncode != 0
    assert "imap:// sends the password in plain text" in remote.stderr
    assert "pw-4f1a" not in remote.stderr
    assert local.returncode == 0, local.stderr


# --- The beat task ------------------------------------------------------------------------------


def test_the_beat_polls_the_mailbox_every_mailin_poll_seconds() -> None:
    entry = django_settings.CELERY_BEAT_SCHEDULE["mailin-fetch"]
    assert entry["task"] == fetch_task.name == "mailin.tasks.fetch"
    assert entry["schedule"] == django_settings.SUPPORTDESK.MAILIN_POLL_SECONDS


def test_the_task_fetches_the_maildir(world: World) -> None:
    maildir = django_settings.SUPPORTDESK.MAILIN_MAILDIR
    ticket = world.file()
    deliver(maildir, customer_reply(ticket, "Fetched by the task."))

    assert fetch_task() == {"source": "maildir", "ingested": 1, "replied": 1, "failed": 0}
    assert replies(ticket, "Fetched by the task.") == 1


def test_the_task_reports_an_unreachable_mail_server_and_does_not_raise(
    db: None, settings: Any
) -> None:
    from core.config import ImapAccount

    nowhere = ImapAccount.from_url("imap://support:secret@127.0.0.1:1/INBOX")
    settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, MAILIN_IMAP=nowhere)

    result = fetch_task()

    assert "ConnectionRefusedError" in str(result["error"])


# --- At least once, with real processes ---------------------------------------------------------


def _killed_between_commit_and_flag(env: dict[str, str]) -> None:
    died = run(FETCH_THEN_DIE, env)
    assert died.returncode == -9, died.stdout + died.stderr  # SIGKILL


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_fetcher_killed_between_commit_and_flag_makes_one_reply_over_imap(
    world: World, dovecot: Dovecot, tmp_path: Path
) -> None:
    ticket = world.file()
    dovecot.append(customer_reply(ticket, "Killed before the flag."))
    dovecot.append(customer_reply(ticket, "The one after it."))
    env = environment(tmp_path, MAILIN_IMAP_URL=dovecot.url)

    _killed_between_commit_and_flag(env)

    # Committed, not flagged: the crash the transport must survive.
    assert replies(ticket, "Killed before the flag.") == 1
    assert replies(ticket, "The one after it.") == 0
    assert dovecot.unseen() == 2

    again = run(manage("mail_fetch"), env)

    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {
        "source": "imap",
        "ingested": 2,
        "duplicate": 1,
        "replied": 1,
        "failed": 0,
    }
    assert replies(ticket, "Killed before the flag.") == 1
    assert replies(ticket, "The one after it.") == 1
    assert (dovecot.unseen(), dovecot.seen()) == (0, 2)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_fetcher_killed_between_commit_and_move_makes_one_reply_from_the_maildir(
    world: World, tmp_path: Path
) -> None:
    maildir = django_settings.SUPPORTDESK.MAILIN_MAILDIR
    ticket = world.file()
    deliver(maildir, customer_reply(ticket, "Killed before the move."))
    env = environment(tmp_path)

    _killed_between_commit_and_flag(env)

    assert replies(ticket, "Killed before the move.") == 1
    assert len(os.listdir(maildir / "new")) == 1

    again = run(manage("mail_fetch"), env)

    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["duplicate"] == 1
    assert replies(ticket, "Killed before the move.") == 1
    assert os.listdir(maildir / "new") == []
    assert len(os.listdir(maildir / "cur")) == 1


MESSAGES_RACED = 8


def _two_fetchers_at_once(env: dict[str, str]) -> list[dict[str, Any]]:
    fetchers = [
        subprocess.Popen(
            manage("mail_fetch"),
            cwd=PROJECT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    reports = []
    for fetcher in fetchers:
        out, err = fetcher.communicate(timeout=120)
        assert fetcher.returncode == 0, err
        reports.append(json.loads(out))
    return reports


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_fetchers_at_once_on_the_maildir_make_one_reply_per_message(
    world: World, tmp_path: Path
) -> None:
    maildir = django_settings.SUPPORTDESK.MAILIN_MAILDIR
    ticket = world.file()
    texts = [f"Raced answer number {n}." for n in range(MESSAGES_RACED)]
    for text in texts:
        deliver(maildir, customer_reply(ticket, text))

    reports = _two_fetchers_at_once(environment(tmp_path))

    assert sum(report.get("replied", 0) for report in reports) == MESSAGES_RACED
    assert all(report["failed"] == 0 for report in reports)
    assert [replies(ticket, text) for text in texts] == [1] * MESSAGES_RACED
    assert os.listdir(maildir / "new") == []
    assert len(os.listdir(maildir / "cur")) == MESSAGES_RACED


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_fetchers_at_once_on_imap_make_one_reply_per_message(
    world: World, dovecot: Dovecot, tmp_path: Path
) -> None:
    ticket = world.file()
    texts = [f"Raced IMAP answer number {n}." for n in range(MESSAGES_RACED)]
    for text in texts:
        dovecot.append(customer_reply(ticket, text))

    reports = _two_fetchers_at_once(environment(tmp_path, MAILIN_IMAP_URL=dovecot.url))

    assert sum(report.get("replied", 0) for report in reports) == MESSAGES_RACED
    assert all(report["failed"] == 0 for report in reports)
    assert [replies(ticket, text) for text in texts] == [1] * MESSAGES_RACED
    assert (dovecot.unseen(), dovecot.seen()) == (0, MESSAGES_RACED)


def test_fetch_reports_count_each_action() -> None:
    report = transports.FetchReport(source="imap")
    report.actions.update(["replied", "duplicate", "replied"])
    report.failed = 1

    assert report.as_dict() == {
        "source": "imap",
        "ingested": 3,
        "duplicate": 1,
        "replied": 2,
        "failed": 1,
    }

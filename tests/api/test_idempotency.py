"""``Idempotency-Key``: a retry returns the first response and writes nothing twice."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from rest_framework.test import APIClient

from tenants.credentials import IdempotencyRecord
from tenants.idempotency import REPLAY_HEADER, purge_expired
from tests.api.conftest import NEW_TICKET, Keys, bearer
from tests.conftest import T0, World
from tickets.models import Attachment, Message, Ticket


def _post(client: APIClient, key: str, body: dict, url: str = "/api/v1/tickets/"):  # type: ignore[no-untyped-def]
    return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_retry_returns_the_first_response_without_a_second_ticket(
    keys: Keys, client_a: APIClient
) -> None:
    first = _post(client_a, "retry-1", NEW_TICKET)
    again = _post(client_a, "retry-1", NEW_TICKET)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again[REPLAY_HEADER] == "true"
    assert REPLAY_HEADER not in first
    assert Ticket.objects.count() == 1


def test_the_same_body_in_another_key_order_is_the_same_request(
    keys: Keys, client_a: APIClient
) -> None:
    _post(client_a, "order", NEW_TICKET)
    reordered = dict(reversed(list(NEW_TICKET.items())))
    assert _post(client_a, "order", reordered)[REPLAY_HEADER] == "true"
    assert Ticket.objects.count() == 1


def test_the_same_key_with_another_body_is_422(keys: Keys, client_a: APIClient) -> None:
    _post(client_a, "reused", NEW_TICKET)
    other = _post(client_a, "reused", {**NEW_TICKET, "title": "Something else"})
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert Ticket.objects.count() == 1


def test_the_same_key_on_another_path_is_422(world: World, keys: Keys, client_a: APIClient) -> None:
    ticket = world.file()
    _post(client_a, "k", {"body": "one"}, f"/api/v1/tickets/{ticket.reference}/messages/")
    refused = _post(client_a, "k", {"body": "one"}, "/api/v1/tickets/")
    assert refused.status_code == 422


def test_replies_are_idempotent_too(world: World, keys: Keys, client_a: APIClient) -> None:
    ticket = world.file()
    url = f"/api/v1/tickets/{ticket.reference}/messages/"
    first = _post(client_a, "reply-1", {"body": "Logs attached."}, url)
    again = _post(client_a, "reply-1", {"body": "Logs attached."}, url)
    assert first.json() == again.json()
    assert Message.objects.count() == 1


# A retry of a multipart reply is the same request only with the same files: same names
# *and* same bytes (hashed chunk by chunk, so a large upload is not read whole).


def _post_files(client: APIClient, key: str, url: str, *files: tuple[str, bytes]):  # type: ignore[no-untyped-def]
    return client.post(
        url,
        {"body": "Logs attached.", "files": [SimpleUploadedFile(n, c) for n, c in files]},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY=key,
    )


@pytest.fixture
def _uploads_on_disk(settings: Any, tmp_path: Path) -> None:
    """Stored files in the test's folder; every upload spooled to a temporary file, as a
    large one is (the hash must read it in chunks, and leave it whole for the service)."""
    settings.MEDIA_ROOT = str(tmp_path)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 16


@pytest.mark.usefixtures("_uploads_on_disk")
def test_the_same_key_with_another_file_of_the_same_name_is_422(
    world: World, keys: Keys, client_a: APIClient
) -> None:
    ticket = world.file()
    url = f"/api/v1/tickets/{ticket.reference}/messages/"
    first = _post_files(client_a, "files-1", url, ("app.log", b"first run: error 17\n"))
    other = _post_files(client_a, "files-1", url, ("app.log", b"second run: all fine\n"))
    assert first.status_code == 201, first.content
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert Message.objects.count() == 1
    stored = Attachment.objects.get()
    with stored.file.open("rb") as content:
        assert content.read() == b"first run: error 17\n"  # hashing left the upload whole


@pytest.mark.usefixtures("_uploads_on_disk")
def test_the_same_key_with_the_same_files_replays_the_first_response(
    world: World, keys: Keys, client_a: APIClient
) -> None:
    ticket = world.file()
    url = f"/api/v1/tickets/{ticket.reference}/messages/"
    files = (("app.log", b"error 17\n" * 1000), ("notes.txt", b"tried twice\n"))
    first = _post_files(client_a, "files-2", url, *files)
    again = _post_files(client_a, "files-2", url, *files)
    assert first.status_code == again.status_code == 201, first.content
    assert again.json() == first.json()
    assert again[REPLAY_HEADER] == "true"
    assert (Message.objects.count(), Attachment.objects.count()) == (1, 2)


@pytest.mark.usefixtures("_uploads_on_disk")
def test_the_same_key_with_a_second_file_changed_is_422(
    world: World, keys: Keys, client_a: APIClient
) -> None:
    """Every file of the field counts, not only the last one."""
    ticket = world.file()
    url = f"/api/v1/tickets/{ticket.reference}/messages/"
    first = _post_files(client_a, "files-3", url, ("a.txt", b"one\n"), ("b.txt", b"two\n"))
    other = _post_files(client_a, "files-3", url, ("a.txt", b"one\n"), ("b.txt", b"2\n"))
    assert first.status_code == 201, first.content
    assert other.status_code == 422
    assert Message.objects.count() == 1


def test_keys_are_scoped_by_organization(
    world: World, keys: Keys, client_a: APIClient, client_b: APIClient
) -> None:
    a = _post(client_a, "shared-key", NEW_TICKET)
    b = _post(client_b, "shared-key", {**NEW_TICKET, "title": "B's own"})
    assert a.status_code == b.status_code == 201
    assert REPLAY_HEADER not in b
    assert Ticket.objects.filter(organization=world.org_b).count() == 1


def test_a_refused_request_is_not_recorded(keys: Keys, client_a: APIClient) -> None:
    invalid = _post(client_a, "fix-and-retry", {**NEW_TICKET, "category": "nope"})
    assert invalid.status_code == 400
    fixed = _post(client_a, "fix-and-retry", NEW_TICKET)
    assert fixed.status_code == 201
    assert REPLAY_HEADER not in fixed


@pytest.mark.parametrize("key", ["", " ", "x" * 256])
def test_malformed_keys_are_400(keys: Keys, client_a: APIClient, key: str) -> None:
    response = _post(client_a, key, NEW_TICKET)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert not Ticket.objects.exists()


def test_keys_expire_after_a_day(keys: Keys, client_a: APIClient) -> None:
    with time_machine.travel(T0, tick=False):
        _post(client_a, "daily", NEW_TICKET)
    with time_machine.travel(T0 + timedelta(hours=23), tick=False):
        assert _post(client_a, "daily", NEW_TICKET)[REPLAY_HEADER] == "true"
    with time_machine.travel(T0 + timedelta(hours=25), tick=False):
        fresh = _post(client_a, "daily", NEW_TICKET)
    assert REPLAY_HEADER not in fresh
    assert Ticket.objects.count() == 2


def test_the_purge_removes_only_expired_records(keys: Keys, client_a: APIClient) -> None:
    with time_machine.travel(T0, tick=False):
        _post(client_a, "old", NEW_TICKET)
    with time_machine.travel(T0 + timedelta(hours=20), tick=False):
        _post(client_a, "new", NEW_TICKET)
    assert purge_expired(now=T0 + timedelta(hours=25)) == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def test_the_purge_is_in_the_beat_schedule(settings: pytest.FixtureRequest) -> None:
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "tenants.tasks.purge_idempotency_records" in tasks
    from tenants.tasks import purge_idempotency_records

    assert purge_idempotency_records.name == "tenants.tasks.purge_idempotency_records"


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_file_one_ticket(world: World, keys: Keys) -> None:
    """Eight clients send the same keyed request at once: one ticket, eight equal answers."""
    results: list[tuple[int, dict]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def send() -> None:
        try:
            client = bearer(keys.a_secret)
            start.wait()
            response = _post(client, "storm", NEW_TICKET)
            results.append((response.status_code, response.json()))
        except BaseException as error:  # reported below, with the thread's own error
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Ticket.objects.count() == 1
    assert {status for status, _ in results} == {201}
    assert len({body["number"] for _, body in results}) == 1

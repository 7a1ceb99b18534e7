"""Human ticket numbers stay unique when many requests are filed at once."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from tests.conftest import T0, World
from tickets.models import Ticket


# Concurrent writers need PostgreSQL: SQLite serialises every write.
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_numbers_are_unique_under_concurrent_filing(world: World) -> None:
    workers, per_worker = 8, 15
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def file_many() -> None:
        try:
            barrier.wait()
            for _ in range(per_worker):
                world.file(now=T0)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=file_many) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    references = [t.reference for t in Ticket.objects.all()]
    assert len(references) == workers * per_worker
    assert len(set(references)) == len(references)


def test_reference_parsing() -> None:
    from tickets.models import parse_reference

    assert parse_reference("SR-000123") == 123
    assert parse_reference("000123") == 123
    assert parse_reference(" 42 ") == 42
    assert parse_reference(7) == 7
    for bad in ("SR-", "abc", "12a", "", "-1", "SR-1234567890123"):
        assert parse_reference(bad) is None, bad
    assert parse_reference(0) is None

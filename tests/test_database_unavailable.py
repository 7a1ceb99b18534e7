"""A lost database connection answers 503 with Retry-After, never a 500 (production issue)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from tests.conftest import World

# Terminating a server connection needs PostgreSQL.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def _kill_this_connection() -> None:
    """Terminate the test's own server process from a second connection, as a database
    restart would."""
    import psycopg2

    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    settings = connection.settings_dict
    other = psycopg2.connect(
        dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"],
        port=settings["PORT"] or 5432, password=settings["PASSWORD"],
    )  # fmt: skip
    other.autocommit = True
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    other.close()


def test_portal_page_answers_503_and_the_next_request_reconnects(
    world: World, client: Client
) -> None:
    client.force_login(world.admin_a.user)
    url = f"/portal/{world.org_a.slug}/requests/"
    assert client.get(url).status_code == 200
    _kill_this_connection()
    response = client.get(url)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "briefly unavailable" in response.content.decode()
    assert client.get(url).status_code == 200  # reconnected


def test_api_answers_503_json(world: World, client: Client) -> None:
    client.force_login(world.admin_a.user)
    assert client.get("/healthz").status_code in (200, 503)
    _kill_this_connection()
    response = client.get("/api/v1/tickets/")
    assert response.status_code == 503
    assert response.json()["code"] == "unavailable"

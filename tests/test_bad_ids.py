"""Out-of-range and malformed ids answer 404 (or a normal page), never a 500."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import World

pytestmark = pytest.mark.django_db

HUGE = "9" * 25  # beyond every integer column


def test_desk_and_api_ids(world: World, client: Client) -> None:
    client.force_login(world.agent)
    for url in (
        f"/desk/calls/{HUGE}/verify/",
        f"/desk/calls/{HUGE}/account/",
        f"/desk/tickets/{HUGE}/",
        "/desk/tickets/SR-999999999999/",
        "/desk/tickets/SR-%00/",
        f"/api/v1/calls/{HUGE}/",
    ):
        assert client.get(url).status_code == 404, url


def test_portal_ids_and_filters(world: World, client: Client) -> None:
    client.force_login(world.admin_a.user)
    for url in (
        f"/portal/alpha/requests/{HUGE}/",
        "/portal/alpha/requests/999999999999/",
        f"/portal/alpha/contacts/phone/{HUGE}/remove/",
        "/portal/alpha/contacts/pigeon/1/remove/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.get("/portal/alpha/requests/?status=%00&page=-1").status_code == 200

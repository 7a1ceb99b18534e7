"""Sign-in brute-force protection (production issue, django-axes)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import World
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def sign_in(client: Client, email: str, password: str) -> int:
    return client.post("/accounts/login/", {"username": email, "password": password}).status_code


def test_five_wrong_passwords_pause_the_account_from_that_address(
    world: World, client: Client, settings: pytest.FixtureRequest
) -> None:
    email = world.admin_a.user.email
    assert [sign_in(client, email, "wrong-guess") for _ in range(4)] == [200] * 4  # form errors
    locked = client.post("/accounts/login/", {"username": email, "password": "wrong-guess"})
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.content.decode()
    assert "15 minutes" in locked.content.decode()
    # The right password does not get through while the pause lasts.
    assert sign_in(client, email, PASSWORD) == 429
    assert "_auth_user_id" not in client.session


def test_a_successful_sign_in_clears_earlier_failures(world: World, client: Client) -> None:
    email = world.admin_a.user.email
    for _ in range(3):
        sign_in(client, email, "wrong-guess")
    assert sign_in(client, email, PASSWORD) == 302
    client.logout()
    assert [sign_in(client, email, "wrong-guess") for _ in range(4)] == [200] * 4


def test_another_account_is_not_locked_by_someone_elses_failures(
    world: World, client: Client
) -> None:
    for _ in range(5):
        sign_in(client, world.admin_a.user.email, "wrong-guess")
    assert sign_in(client, world.admin_b.user.email, PASSWORD) == 302

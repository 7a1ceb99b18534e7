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


def test_letter_case_variants_count_as_one_account(world: World, client: Client) -> None:
    """Probe finding (issue 17): three wrong passwords as each of three spellings left the
    account open, and every further variant bought more guesses."""
    email = world.admin_a.user.email
    spellings = [email, email.capitalize(), email.upper(), f"  {email.title()} "]
    results = [sign_in(client, spelling, "wrong-guess") for spelling in spellings]
    assert results == [200] * 4
    assert sign_in(client, email.swapcase(), "wrong-guess") == 429
    # Locked for every spelling, the right password included.
    assert sign_in(client, email, PASSWORD) == 429
    assert sign_in(client, email.upper(), PASSWORD) == 429
    assert "_auth_user_id" not in client.session


def test_the_admin_sign_in_counts_per_account_too(world: World, client: Client) -> None:
    email = world.supervisor.email
    for spelling in [email, email.upper(), email.title(), email.capitalize()]:
        client.post("/admin/login/", {"username": spelling, "password": "wrong-guess"})
    response = client.post("/admin/login/", {"username": email.swapcase(), "password": "x"})
    assert response.status_code == 429

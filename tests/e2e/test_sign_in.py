"""Sign in in a real browser and land on the right home page."""

from __future__ import annotations

import pytest

from tests.conftest import World
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_signs_in_and_sees_their_request(world: World, page: object) -> None:
    ticket = world.file(title="Shared mailbox permissions are lost")
    sign_in(page, world.admin_a.user.email)
    assert page.url.endswith("/portal/alpha/")  # type: ignore[attr-defined]
    page.get_by_role("link", name=ticket.reference).click()  # type: ignore[attr-defined]
    assert page.get_by_role("heading", name=ticket.title).is_visible()  # type: ignore[attr-defined]


def test_agent_lands_on_the_desk_queue(world: World, page: object) -> None:
    ticket = world.file(title="Teams meetings cannot be joined")
    sign_in(page, world.agent.email)
    assert page.url.endswith("/desk/")  # type: ignore[attr-defined]
    assert page.get_by_text(ticket.title).is_visible()  # type: ignore[attr-defined]


def test_wrong_password_shows_an_error(world: World, page: object) -> None:
    sign_in(page, world.admin_a.user.email, password="not-the-password")
    assert "/accounts/login/" in page.url  # type: ignore[attr-defined]
    assert page.get_by_role("alert").is_visible()  # type: ignore[attr-defined]

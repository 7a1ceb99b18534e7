"""Two agents on one request in two browsers: each sees the other ("is viewing", "is
replying"), and the reply written before the other's answer is held."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import World
from tests.e2e.conftest import sign_in
from tickets.models import Message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The page beats every 10 s; give a beat and a half.
BEAT_MS = 15_000


def test_two_agents_see_each_other_and_a_stale_reply_is_held(
    world: World, page: object, browser: object, live_server: object
) -> None:
    from playwright.sync_api import expect

    ticket = world.file(now=timezone.now() - timedelta(hours=1))
    first, second = world.agent, world.supervisor
    context = browser.new_context(  # type: ignore[attr-defined]
        base_url=live_server.url,  # type: ignore[attr-defined]
        locale="en-GB",
        timezone_id="UTC",
    )
    context.set_default_timeout(10_000)
    other = context.new_page()
    try:
        url = f"/desk/tickets/{ticket.pk}/"
        sign_in(page, first.email)
        page.goto(url)  # type: ignore[attr-defined]
        sign_in(other, second.email)
        other.goto(url)
        # The second sees the first at once; the first sees the second on the next beat.
        expect(other.locator("#presence")).to_contain_text(f"{first.get_full_name()} is viewing")
        expect(page.locator("#presence")).to_contain_text(  # type: ignore[attr-defined]
            f"{second.get_full_name()} is viewing", timeout=BEAT_MS
        )

        # One composer: the switch shows the note's button instead of the reply's.
        page.get_by_label("Internal note").check()  # type: ignore[attr-defined]
        expect(page.get_by_role("button", name="Add internal note")).to_be_visible()  # type: ignore[attr-defined]
        expect(page.get_by_role("button", name="Send reply", exact=True)).to_be_hidden()  # type: ignore[attr-defined]
        page.get_by_label("Public reply").check()  # type: ignore[attr-defined]

        # The first starts a reply: the second sees them replying.
        box = page.get_by_label("Reply to the customer")  # type: ignore[attr-defined]
        box.fill("The connector is restarted, please try again.")
        expect(other.locator("#presence")).to_contain_text(
            f"{first.get_full_name()} is replying", timeout=BEAT_MS
        )

        # The second answers first.
        other.get_by_label("Reply to the customer").fill("We are restarting the connector.")
        other.get_by_role("button", name="Send reply", exact=True).click()
        expect(other.get_by_text("Your reply was sent to the customer")).to_be_visible()

        # The first's reply is held, the draft kept, with what is new.
        page.get_by_role("button", name="Send reply", exact=True).click()  # type: ignore[attr-defined]
        held = page.locator("#held-news")  # type: ignore[attr-defined]
        expect(held).to_contain_text("New activity since you started")
        expect(held).to_contain_text("We are restarting the connector.")
        expect(box).to_have_value("The connector is restarted, please try again.")
        assert not Message.objects.filter(body__startswith="The connector is restarted").exists()

        # Sent anyway, it goes out.
        page.get_by_role("button", name="Send anyway").click()  # type: ignore[attr-defined]
        expect(page.get_by_text("Your reply was sent to the customer")).to_be_visible()  # type: ignore[attr-defined]
        assert Message.objects.filter(body__startswith="The connector is restarted").exists()
    finally:
        context.close()

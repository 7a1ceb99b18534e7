"""Staff notices in a real browser (issue 14): a customer files a Severity A request,
the agent's bell counts it without a reload, the list shows it, opening it marks it read."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from tests.conftest import World
from tests.e2e.conftest import sign_in
from tickets import outbox

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_bell_shows_a_new_severity_a_request(world: World, page: object) -> None:
    from playwright.sync_api import expect

    sign_in(page, world.agent.email)
    page.goto("/desk/")  # type: ignore[attr-defined]
    bell = page.locator("#notice-bell .badge")  # type: ignore[attr-defined]
    expect(bell).to_have_text("0")

    now = timezone.now()
    ticket = world.file(
        title="Nobody can send mail",
        impact="service_down",
        scope="many",
        business_impact="No one in the company can send mail.",
        contact_24x7="+48 600 100 200",
        now=now,
    )
    assert ticket.severity == "A"
    # What the worker does after the commit: hand the Events to the outbox.
    outbox.deliver_events(ticket.events.values_list("pk", flat=True), now=now)

    # The bell polls every 10 s, like the queue.
    expect(bell).to_have_text("1", timeout=15_000)
    page.locator("#notice-bell").click()  # type: ignore[attr-defined]
    expect(page).to_have_url(re.compile(r"/desk/notices/$"))
    item = page.locator("#notice-list .notice-unread")  # type: ignore[attr-defined]
    expect(item).to_contain_text("New Severity A request")
    expect(item).to_contain_text(ticket.reference)
    item.get_by_role("button").click()
    expect(page).to_have_url(re.compile(rf"/desk/tickets/{ticket.pk}/$"))
    expect(page.locator("#notice-bell .badge")).to_have_text("0")  # type: ignore[attr-defined]
    page.goto("/desk/notices/")  # type: ignore[attr-defined]
    expect(page.locator("#notice-list .notice-unread")).to_have_count(0)  # type: ignore[attr-defined]

"""An agent reads the SLA ledger and overrides the severity in a real browser."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import World
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_sees_the_ledger_and_changes_severity(world: World, page: object) -> None:
    ticket = world.file(
        world.admin_b, impact="minimal", scope="one", now=timezone.now() - timedelta(hours=3)
    )
    sign_in(page, world.agent.email)
    page.get_by_role("link", name=ticket.reference).click()  # type: ignore[attr-defined]
    # The ledger is folded below the conversation; the strip above says what is due.
    assert page.locator("#sla-strip").is_visible()  # type: ignore[attr-defined]
    page.locator("#ledger > summary").click()  # type: ignore[attr-defined]
    assert page.locator("table.ledger tbody tr").count() >= 1  # type: ignore[attr-defined]
    page.get_by_label("New severity").select_option("A")  # type: ignore[attr-defined]
    page.get_by_label(re.compile(r"^Why:?$")).fill("Customer confirmed every mailbox is down")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Change severity").click()  # type: ignore[attr-defined]
    page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    assert page.get_by_text("Severity changed; the deadlines").is_visible()  # type: ignore[attr-defined]
    # Bravo has the standard contract: A is capped at B, and the page says why.
    assert page.get_by_text("advanced support agreement").first.is_visible()  # type: ignore[attr-defined]
    ticket.refresh_from_db()
    assert ticket.severity == "B"
    if os.environ.get("SUPPORTDESK_SCREENSHOTS"):
        page.screenshot(
            path=os.environ["SUPPORTDESK_SCREENSHOTS"] + "/desk-ticket.png", full_page=True
        )  # type: ignore[attr-defined]

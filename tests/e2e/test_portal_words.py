"""The portal's second pass in a real browser (issue 16, items 6 and 7): a file over the
size limit is refused before anything is uploaded, the severity reason is one line with
"why?" to unfold, a billing admin cannot pick Technical, and a resolved request is rated
with one click on a star. Screenshots go to ``test-results/screenshots/``."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from tenants.models import Role
from tests.conftest import World
from tests.e2e.conftest import sign_in
from tests.factories import MembershipFactory
from tests.helpcenter.conftest import make_article
from tickets import services
from tickets.actors import Actor
from tickets.models import Rating, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_a_file_over_the_limit_is_refused_before_the_upload(
    world: World, page: Any, settings: Any
) -> None:
    settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, ATTACHMENT_MAX_BYTES=1000)
    sign_in(page, world.admin_a.user.email)
    page.goto("/portal/alpha/requests/new/")
    upload = page.locator("#id_attachments")
    upload.set_input_files(
        [
            {"name": "small.txt", "mimeType": "text/plain", "buffer": b"x" * 10},
            {"name": "huge.log", "mimeType": "text/plain", "buffer": b"x" * 5000},
        ]
    )
    message = page.locator("#id_attachments-size-error")
    message.wait_for()
    assert "“huge.log” is larger than" in message.inner_text()
    assert "small.txt" not in message.inner_text()
    assert upload.get_attribute("aria-invalid") == "true"
    shot(page, "16-upload-too-large")
    page.get_by_role("button", name="Contact me").click()
    page.wait_for_timeout(300)
    assert page.url.endswith("/portal/alpha/requests/new/")
    assert not Ticket.objects.exists()
    # A file within the limit clears the message.
    upload.set_input_files([{"name": "small.txt", "mimeType": "text/plain", "buffer": b"x"}])
    assert not message.is_visible()
    assert upload.get_attribute("aria-invalid") is None


def test_a_billing_admin_cannot_pick_technical(world: World, page: Any) -> None:
    billing = MembershipFactory(organization=world.org_a, role=Role.BILLING_ADMIN)
    sign_in(page, billing.user.email)
    page.goto("/portal/alpha/requests/new/")
    assert page.get_by_label("Technical").is_disabled()
    assert page.get_by_text("you cannot file Technical requests").first.is_visible()
    page.get_by_label("Billing and subscription", exact=False).check()
    page.get_by_label("Unavailable or unusable").check()
    page.get_by_label("Several users or services").check()
    page.wait_for_function(
        "() => document.querySelector('#assessed-severity')?.textContent.trim() === 'B'"
    )
    shot(page, "16-billing-admin-categories")


def test_reason_unfolds_and_one_click_rates(world: World, page: Any) -> None:
    ticket = world.file(now=timezone.now(), category="billing", impact="service_down", scope="many")
    services.ticket_resolve(
        ticket=ticket, actor=Actor.for_user(world.agent), reason="Refunded", now=timezone.now()
    )
    sign_in(page, world.admin_a.user.email)
    page.goto(f"/portal/alpha/requests/{ticket.pk}/")
    reason = page.locator("#severity-reason")
    assert "severity A is for technical requests only" in reason.inner_text()
    assert not page.get_by_text("billing and subscription requests are handled").is_visible()
    reason.get_by_text("why?").click()
    assert page.get_by_text("billing and subscription requests are handled").is_visible()
    assert "POL-" not in page.locator("main").inner_text()
    shot(page, "16-resolved-panel")
    page.get_by_role("button", name="4 – Satisfied").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("You rated the support 4 out of 5.").is_visible()
    assert Rating.objects.get(ticket=ticket).score == 4


def test_home_searches_first_and_users_see_their_admins(world: World, page: Any) -> None:
    make_article("password-never-expires", "Set a password that never expires", "Policy.")
    sign_in(page, world.user_a.user.email)
    page.goto("/portal/alpha/")
    box = page.get_by_label("Describe your problem or type keywords")
    assert box.is_visible()
    box.fill("password")
    page.locator("#help-suggestions a").first.wait_for()
    shot(page, "16-home-search-first")
    page.goto("/portal/alpha/requests/")
    assert page.locator("#organization-admins").get_by_text(world.admin_a.user.email).is_visible()
    assert page.get_by_role("link", name="Use self-help.").is_visible()
    shot(page, "16-ask-your-admin")

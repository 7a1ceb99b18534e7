"""The whole desk call flow in a real browser (issue 5 "Done when"): an agent takes a
call from an unregistered number, sends a code to a registered e-mail address, types
the code the caller reads out, reaches the account page, files a request on the
organization's behalf, ends the call, and the account closes again.

The live server runs in a thread of this process with Django's locmem e-mail backend, so
the code is read from ``django.core.mail.outbox``, the way the caller reads it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from tenants.models import RegisteredEmail
from tests.conftest import World
from tests.e2e.conftest import sign_in
from tests.verification.conftest import last_code, wrong
from tickets.models import Channel, Ticket
from verification.models import Call

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CALLER = "+48 512 345 678"
SCREENSHOT = "/tmp/phone-call.png"


@pytest.fixture
def registered_email(world: World) -> RegisteredEmail:
    now = timezone.now()
    return RegisteredEmail.objects.create(
        organization=world.org_a,
        email=world.admin_a.user.email,
        label="IT",
        created_at=now - timedelta(days=30),
        active_from=now - timedelta(days=28),
    )


def start_call_and_send_code(page: object, registered_email: RegisteredEmail) -> None:
    """From the desk queue to a code sent to the registered e-mail address."""
    page.get_by_role("link", name="Phone call").click()  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(r"/desk/calls/$"))  # type: ignore[attr-defined]
    # The search narrows the list server-side (htmx) and picks the single match.
    page.get_by_label("Find the organization").fill("alph")  # type: ignore[attr-defined]
    organization = page.locator("#id_organization")  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => document.querySelectorAll('#id_organization option[value]:not([value=\"\"])')"
        ".length === 1"
    )
    assert organization.input_value() != ""
    page.get_by_label("Caller's number").fill(CALLER)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Start call").click()  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(r"/desk/calls/\d+/verify/$"))  # type: ignore[attr-defined]

    masked = "p***@example.test"
    assert registered_email.email.startswith("p")  # the factories' addresses
    assert page.get_by_text(masked).is_visible()  # type: ignore[attr-defined]
    assert page.get_by_text(registered_email.email).count() == 0  # type: ignore[attr-defined]
    page.get_by_label(masked).check()  # type: ignore[attr-defined]
    page.get_by_role("button", name="Send code").click()  # type: ignore[attr-defined]
    page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    sent = page.get_by_role("status").get_by_text("Code sent by e-mail to p***@example.test")  # type: ignore[attr-defined]
    assert sent.is_visible()


def test_an_agent_verifies_a_caller_by_code_and_files_a_request(
    world: World, registered_email: RegisteredEmail, page: object
) -> None:
    open_ticket = world.file(title="Shared mailbox permissions are lost")
    sign_in(page, world.agent.email)
    start_call_and_send_code(page, registered_email)

    # The caller reads the code from their mailbox.
    assert len(mail.outbox) >= 1
    page.get_by_label("Code the caller reads out").fill(last_code())  # type: ignore[attr-defined]
    page.get_by_role("button", name="Check code").click()  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(r"/desk/calls/\d+/account/$"))  # type: ignore[attr-defined]
    account_url = page.url  # type: ignore[attr-defined]

    assert page.get_by_role("heading", name="Alpha Corp", level=1).is_visible()  # type: ignore[attr-defined]
    assert page.get_by_text("Verified: code.").is_visible()  # type: ignore[attr-defined]
    assert page.get_by_text("Advanced (premium)").is_visible()  # type: ignore[attr-defined]
    assert page.get_by_role("cell", name=open_ticket.reference).is_visible()  # type: ignore[attr-defined]
    assert page.get_by_text("60 minutes left").is_visible()  # type: ignore[attr-defined]
    page.screenshot(path=SCREENSHOT, full_page=True)  # type: ignore[attr-defined]

    # A request filed on the organization's behalf.
    page.get_by_role("link", name="New request for this organization").click()  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(r"/intake/$"))  # type: ignore[attr-defined]
    assert page.get_by_label("Contact phone").input_value() == "512 345 678"  # type: ignore[attr-defined]
    page.get_by_label("Title").fill("Nobody can send mail")  # type: ignore[attr-defined]
    page.get_by_label("Description").fill("Every outgoing message bounces.")  # type: ignore[attr-defined]
    page.get_by_label("Category").select_option("technical")  # type: ignore[attr-defined]
    # A technical request names its product (tickets.intake), on the phone too.
    page.get_by_label("Product").select_option(label="Exchange Online")  # type: ignore[attr-defined]
    page.locator("#id_impact").select_option("service_down")  # type: ignore[attr-defined]
    page.get_by_label("Who is affected").select_option("many")  # type: ignore[attr-defined]
    page.get_by_label("Contact e-mail").fill("ops@alpha.test")  # type: ignore[attr-defined]
    page.get_by_role("button", name="File the request").click()  # type: ignore[attr-defined]
    page.wait_for_url(account_url)  # type: ignore[attr-defined]

    ticket = Ticket.objects.get(title="Nobody can send mail")
    assert ticket.channel == Channel.PHONE
    assert str(ticket.caller_phone) == "+48512345678"
    success = f"Request {ticket.reference} filed for Alpha Corp with severity"
    assert page.get_by_text(success).is_visible()  # type: ignore[attr-defined]
    assert page.get_by_role("cell", name=ticket.reference).is_visible()  # type: ignore[attr-defined]

    # Ending the call closes the account.
    page.get_by_role("button", name="End call").click()  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(r"/desk/calls/$"))  # type: ignore[attr-defined]
    assert page.get_by_text("Access to its account is closed.").is_visible()  # type: ignore[attr-defined]
    assert Call.objects.get().ended_at is not None
    response = page.goto(account_url)  # type: ignore[attr-defined]
    assert response.status == 403
    assert page.get_by_role("heading", name="Verify the caller first").is_visible()  # type: ignore[attr-defined]
    assert page.get_by_text(open_ticket.title).count() == 0  # type: ignore[attr-defined]


def test_a_wrong_code_gets_the_generic_message(
    world: World, registered_email: RegisteredEmail, page: object
) -> None:
    sign_in(page, world.agent.email)
    start_call_and_send_code(page, registered_email)
    verify_url = page.url  # type: ignore[attr-defined]

    page.get_by_label("Code the caller reads out").fill(wrong(last_code()))  # type: ignore[attr-defined]
    page.get_by_role("button", name="Check code").click()  # type: ignore[attr-defined]
    page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]

    assert page.url == verify_url  # type: ignore[attr-defined]
    assert page.get_by_text("That code is not valid.").is_visible()  # type: ignore[attr-defined]
    assert Call.objects.get().verified_at is None
    response = page.goto(verify_url.replace("/verify/", "/account/"))  # type: ignore[attr-defined]
    assert response.status == 403
    assert page.get_by_role("heading", name="Verify the caller first").is_visible()  # type: ignore[attr-defined]

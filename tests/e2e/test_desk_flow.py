"""The agent desk in a real browser (issue 7): the queue's keyboard, live countdowns and
refresh, the ask-the-customer round trip with the portal, severity override with the
ledger, and the supervisors' reports."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import World
from tests.e2e.conftest import sign_in
from tickets.models import Macro, Status, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _expect() -> object:
    from playwright.sync_api import expect

    return expect


@pytest.fixture
def customer_page(browser: object, live_server: object) -> Iterator[object]:
    """A second browser context: the customer's admin, signed in beside the agent."""
    context = browser.new_context(  # type: ignore[attr-defined]
        base_url=live_server.url,  # type: ignore[attr-defined]
        locale="en-GB",
        timezone_id="UTC",
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def _screenshot(page: object, name: str) -> None:
    if os.environ.get("SUPPORTDESK_SCREENSHOTS"):
        page.screenshot(  # type: ignore[attr-defined]
            path=os.environ["SUPPORTDESK_SCREENSHOTS"] + f"/{name}.png", full_page=True
        )


def test_agent_claims_asks_the_customer_and_resolves(
    world: World, page: object, customer_page: object
) -> None:
    expect = _expect()
    now = timezone.now()
    # Severity A: after the first response its "continued work" clock keeps running.
    urgent = world.file(
        title="Nobody can send mail",
        impact="service_down",
        scope="many",
        business_impact="No one in the company can send mail.",
        contact_24x7="+48 600 100 200",
        now=now - timedelta(days=3),
    )
    assert urgent.severity == "A"
    Macro.objects.create(name="Ask for scope", language="en", body="Which users are affected?")
    calm = world.file(world.admin_b, title="How do I set a password", now=now)
    assert urgent.response_due_at < calm.response_due_at  # type: ignore[operator]

    sign_in(page, world.agent.email)
    page.goto("/desk/")  # type: ignore[attr-defined]
    rows = page.locator("#queue-table tbody tr")  # type: ignore[attr-defined]
    expect(rows.first).to_contain_text(urgent.reference)  # type: ignore[operator]
    # Breached: one red chip with the time over, not a badge beside it saying it again.
    expect(rows.first.locator("time.sla-breached")).to_contain_text("overdue")  # type: ignore[attr-defined]
    # j picks the most urgent request, c claims it.
    page.keyboard.press("j")  # type: ignore[attr-defined]
    expect(rows.first).to_have_class("queue-row is-current")  # type: ignore[operator]
    page.keyboard.press("c")  # type: ignore[attr-defined]
    expect(page.get_by_text(f"{urgent.reference} is assigned to")).to_be_visible()  # type: ignore[operator]
    urgent.refresh_from_db()
    assert urgent.assignee == world.agent

    # Enter opens the current request.
    page.keyboard.press("j")  # type: ignore[attr-defined]
    page.keyboard.press("Enter")  # type: ignore[attr-defined]
    expect(page.get_by_role("heading", name="Nobody can send mail")).to_be_visible()  # type: ignore[operator]
    expect(page.locator("#response-clock time.countdown")).to_contain_text("breached")  # type: ignore[operator]

    # A canned reply goes into the reply box, to be edited before sending.
    page.get_by_label("Insert a canned reply").select_option(label="Ask for scope")  # type: ignore[attr-defined]
    expect(page.get_by_label("Reply to the customer")).to_have_value(  # type: ignore[operator]
        "Which users are affected?"
    )
    page.get_by_label("Reply to the customer").fill("Which mailboxes are affected?")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Send and wait for the customer").click()  # type: ignore[attr-defined]
    expect(page.get_by_text("The request now waits on the customer")).to_be_visible()  # type: ignore[operator]
    expect(page.locator("#response-clock")).to_contain_text("Response clock paused")  # type: ignore[operator]
    urgent.refresh_from_db()
    assert urgent.status == Status.AWAITING_CUSTOMER
    assert urgent.response_due_at is None

    # The customer answers in the portal.
    sign_in(customer_page, world.admin_a.user.email)
    customer_page.goto(f"/portal/alpha/requests/{urgent.pk}/")  # type: ignore[attr-defined]
    customer_page.get_by_label("Your reply").fill("All of them, since this morning.")  # type: ignore[attr-defined]
    customer_page.get_by_role("button", name="Send reply").click()  # type: ignore[attr-defined]
    expect(customer_page.get_by_text("Your reply was sent")).to_be_visible()  # type: ignore[operator]

    # Back on the desk the clock runs again; the agent replies and resolves.
    page.reload()  # type: ignore[attr-defined]
    expect(page.get_by_text("All of them, since this morning.")).to_be_visible()  # type: ignore[operator]
    expect(page.locator("#response-clock time.countdown")).to_be_visible()  # type: ignore[operator]
    page.get_by_label("Reply to the customer").fill("Fixed: the connector was restarted.")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Send reply", exact=True).click()  # type: ignore[attr-defined]
    expect(page.get_by_text("Your reply was sent to the customer")).to_be_visible()  # type: ignore[operator]
    page.get_by_label("Resolution summary").fill("Connector restarted")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Mark as resolved").click()  # type: ignore[attr-defined]
    expect(page.get_by_text("Resolved. The customer is asked to rate")).to_be_visible()  # type: ignore[operator]
    urgent.refresh_from_db()
    assert urgent.status == Status.RESOLVED
    assert list(urgent.messages.values_list("author_role", flat=True)) == [
        "agent",
        "customer",
        "agent",
    ]
    _screenshot(page, "desk-workspace")


def test_supervisor_changes_severity_and_the_ledger_follows(world: World, page: object) -> None:
    expect = _expect()
    ticket = world.file(
        impact="minimal", scope="one", now=timezone.now() - timedelta(hours=20)
    )  # Alpha (advanced): Severity C, three business days
    assert ticket.severity == "C"
    sign_in(page, world.supervisor.email)
    page.goto(f"/desk/tickets/{ticket.pk}/")  # type: ignore[attr-defined]
    target = page.locator(".ledger-summary")  # type: ignore[attr-defined]
    expect(target).to_contain_text("45 h")  # type: ignore[operator]
    expect(page.locator(".ledger-bar svg rect.seg").first).to_be_attached()  # type: ignore[operator]
    page.get_by_label("New severity").select_option("B")  # type: ignore[attr-defined]
    page.get_by_label(re.compile(r"^Why:?$")).fill("Two more users are affected now")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Change severity").click()  # type: ignore[attr-defined]
    expect(page.get_by_text("Severity changed; the deadlines")).to_be_visible()  # type: ignore[operator]
    expect(target).to_contain_text("15 h")  # type: ignore[operator]
    expect(page.locator(".thread")).to_contain_text("C → B")  # type: ignore[operator]
    ticket.refresh_from_db()
    assert ticket.severity == "B"
    _screenshot(page, "desk-ledger")


def test_countdowns_tick_and_new_requests_appear_without_a_reload(
    world: World, page: object
) -> None:
    expect = _expect()
    ticket = world.file(title="Ticking", impact="service_down", scope="many")
    Ticket.objects.filter(pk=ticket.pk).update(
        response_due_at=timezone.now() + timedelta(minutes=30)
    )
    sign_in(page, world.agent.email)
    page.goto("/desk/")  # type: ignore[attr-defined]
    countdown = page.locator("#queue-table time.countdown").first  # type: ignore[attr-defined]
    first = countdown.inner_text()
    assert first.startswith("29 min") or first.startswith("30 min"), first
    assert first.endswith("left"), first
    expect(countdown).not_to_have_text(first)  # type: ignore[operator]
    # A ticked box survives the live refresh.
    page.get_by_label(f"Select {ticket.reference}").check()  # type: ignore[attr-defined]
    # Filed after the page was drawn: the next poll (every 10 s) shows it.
    newer = world.file(world.admin_b, title="Filed while the agent watches")
    expect(page.get_by_role("link", name=newer.reference)).to_be_visible(timeout=25_000)  # type: ignore[operator]
    expect(page.get_by_label(f"Select {ticket.reference}")).to_be_checked()  # type: ignore[operator]
    expect(page.get_by_label(f"Select {newer.reference}")).not_to_be_checked()  # type: ignore[operator]
    _screenshot(page, "desk-queue")


def test_reports_render_their_charts(world: World, page: object) -> None:
    expect = _expect()
    world.file()
    sign_in(page, world.supervisor.email)
    page.goto("/desk/")  # type: ignore[attr-defined]
    page.get_by_role("link", name="Reports").click()  # type: ignore[attr-defined]
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()  # type: ignore[operator]
    expect(page.get_by_role("heading", name="First responses within target")).to_be_visible()  # type: ignore[operator]
    charts = page.locator("svg.chart")  # type: ignore[attr-defined]
    assert charts.count() >= 3
    # Each chart is a group of links, one per bar, named by what it counts.
    chart = page.get_by_role("group", name="By severity when filed")  # type: ignore[attr-defined]
    expect(chart).to_be_visible()  # type: ignore[operator]
    page.get_by_label("From").fill("2026-01-01")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Show").click()  # type: ignore[attr-defined]
    expect(page).to_have_url(re.compile(r"start=2026-01-01"))  # type: ignore[operator]
    _screenshot(page, "desk-reports")
    # A bar opens the queue with the requests behind it, closed ones included.
    bar = chart.get_by_role("link", name=re.compile(r"^B – high: .*1 requests filed"))
    bar.click()
    expect(page).to_have_url(re.compile(r"/desk/\?.*original_severity=B.*status=all"))  # type: ignore[operator]
    expect(page.get_by_text("Cannot send mail")).to_be_visible()  # type: ignore[operator]
    page.go_back()  # type: ignore[attr-defined]
    # Agents have no reports.
    page.context.clear_cookies()  # type: ignore[attr-defined]
    sign_in(page, world.agent.email)
    page.goto("/desk/")  # type: ignore[attr-defined]
    assert page.get_by_role("link", name="Reports").count() == 0  # type: ignore[attr-defined]

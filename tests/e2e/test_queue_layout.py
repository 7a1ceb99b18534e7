"""The desk queue fits (issue 16), in a real browser: at 1024 px, in English and in Polish
(switched with the page's own language control), in both densities, every row is one line
and the last column (Claim / Take over) is inside the viewport; quick filters apply with
the filter form folded."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tests.conftest import World
from tests.e2e.conftest import sign_in
from tests.factories import AgentFactory
from tickets.models import AuthorRole, Message, MessageKind, Status, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_TITLE = (
    "Outbound mail from the shared finance mailbox is stuck in the outbox since the tenant "
    "migration last weekend and the connector log shows repeated 451 4.4.0 errors"
)

# Per row: whether any cell wraps (its content is taller than 1.8 lines), where the row's
# last cell ends, and the table against its scroll box and the page against the viewport.
MEASURE = """() => {
  const rows = Array.from(document.querySelectorAll('#queue-table tr.queue-row'));
  const wrap = document.querySelector('#queue-table').closest('.table-wrap');
  return {
    viewport: window.innerWidth,
    page: document.documentElement.scrollWidth,
    table: document.querySelector('#queue-table').scrollWidth,
    box: wrap.clientWidth,
    rows: rows.map((row) => {
      const cells = Array.from(row.cells);
      const wrapped = cells.filter((cell) => {
        const style = getComputedStyle(cell);
        const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.5;
        const inner = cell.clientHeight - parseFloat(style.paddingTop)
          - parseFloat(style.paddingBottom);
        return inner > line * 1.8;
      }).map((cell) => cell.className + ': ' + cell.innerText);
      const last = cells[cells.length - 1].getBoundingClientRect();
      const button = row.querySelector('button.queue-claim');
      return {
        ticket: row.dataset.ticket,
        wrapped: wrapped,
        lastRight: last.right,
        buttonRight: button ? button.getBoundingClientRect().right : 0,
        height: row.getBoundingClientRect().height,
      };
    }),
  };
}"""


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _screenshot(page: Any, name: str) -> None:
    if os.environ.get("SUPPORTDESK_SCREENSHOTS"):
        page.screenshot(path=os.environ["SUPPORTDESK_SCREENSHOTS"] + f"/{name}.png", full_page=True)
        page.locator("#queue-table").screenshot(
            path=os.environ["SUPPORTDESK_SCREENSHOTS"] + f"/{name}-table.png"
        )


def _busy_queue(world: World) -> None:
    """Every kind of row: long title, breached, at risk, waiting on the customer, no
    running clock, escalated, customer replied, mine, a colleague's, unassigned."""
    now = timezone.now()
    colleague = AgentFactory(full_name="Przemysław Grzegorz Brzęczyszczykiewicz")
    rows: list[dict[str, Any]] = [
        {"response_due_at": now - timedelta(days=12, hours=23), "escalation_level": 2},
        {"response_due_at": now + timedelta(minutes=9), "response_warning_at": now},
        {
            "response_due_at": now + timedelta(days=2, hours=5),
            "response_warning_at": now + timedelta(days=1),
        },
        {
            "status": Status.AWAITING_CUSTOMER,
            "response_due_at": None,
            "customer_due_at": now + timedelta(days=6, hours=23),
        },
        {"status": Status.OPEN, "response_due_at": None},
        {"response_due_at": now - timedelta(hours=3), "assignee": colleague},
        {
            "response_due_at": now + timedelta(hours=4),
            "response_warning_at": now + timedelta(hours=3),
            "assignee": world.agent,
        },
    ]
    for index, values in enumerate(rows):
        ticket = world.file(
            world.admin_a if index % 2 else world.admin_b,
            title=LONG_TITLE if index % 3 == 0 else f"Teams calls drop after {index} minutes",
        )
        Ticket.objects.filter(pk=ticket.pk).update(**values)
        if index in (1, 5):
            Message.objects.create(
                ticket=ticket,
                kind=MessageKind.REPLY,
                author_role=AuthorRole.CUSTOMER,
                body="Any news? It is still broken for the whole finance team.",
            )


def _switch_language(page: Any, code: str) -> None:
    page.locator("#language-select").select_option(code)
    page.locator("form:has(#language-select) button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.lang") == code


def _check_one_line(page: Any, label: str) -> None:
    found = page.evaluate(MEASURE)
    assert found["rows"], label
    assert found["page"] <= found["viewport"], f"{label}: the page scrolls sideways"
    assert found["table"] <= found["box"], f"{label}: the table is wider than its box"
    heights = [row["height"] for row in found["rows"]]
    for row in found["rows"]:
        where = f"{label}, request {row['ticket']}"
        assert not row["wrapped"], f"{where}: cells on two lines: {row['wrapped']}"
        assert row["lastRight"] <= found["viewport"], f"{where}: last column cut off"
        assert row["buttonRight"] <= found["viewport"], f"{where}: button cut off"
    # One line each: every row as tall as the others.
    assert max(heights) - min(heights) <= 2, f"{label}: row heights {heights}"


@pytest.mark.parametrize("width", [1024, 1366])
def test_each_row_is_one_line_in_english_and_polish(world: World, page: Any, width: int) -> None:
    expect = _expect()
    _busy_queue(world)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, world.supervisor.email)
    page.goto("/desk/")
    rows = page.locator("#queue-table tr.queue-row")
    expect(rows).to_have_count(7)
    # The supervisor takes over a colleague's request; nobody's is claimed.
    expect(page.locator("button.queue-take-over")).to_have_count(2)
    for language in ("en", "pl"):
        if language == "pl":
            _switch_language(page, "pl")
        for density in ("compact", "comfortable"):
            page.locator(f'.density-toggle button[value="{density}"]').click()
            page.wait_for_load_state("networkidle")
            expect(page.locator(f"#queue-table.density-{density}")).to_be_visible()
            _screenshot(page, f"desk-queue-{language}-{density}-{width}")
            _check_one_line(page, f"{language} {density} {width}px")
    # The chips: amber before red, one badge each.
    expect(page.locator("#queue-table time.sla-at_risk")).to_have_count(1)
    expect(page.locator("#queue-table time.sla-breached")).to_have_count(2)
    expect(page.locator("#queue-table .badge-breached")).to_have_count(0)


def test_quick_filters_keep_the_form_folded(world: World, page: Any) -> None:
    expect = _expect()
    _busy_queue(world)
    page.set_viewport_size({"width": 1024, "height": 900})
    sign_in(page, world.agent.email)
    page.goto("/desk/")
    quick = page.get_by_label("Quick filters")
    quick.get_by_role("link", name="Breached").click()
    expect(page.locator("#queue-table tr.queue-row")).to_have_count(2)
    quick.get_by_role("link", name="Unassigned").click()
    assert "assignee=none" in page.url and "breached=1" in page.url
    expect(page.locator("#queue-table tr.queue-row")).to_have_count(1)
    expect(page.locator("details.queue-more")).not_to_have_attribute("open", "")
    expect(page.locator("#queue-filters, form.queue-filters")).to_be_hidden()
    expect(page.locator(".active-filters")).to_contain_text("Assignee")
    # A severity card narrows the list and the cards follow.
    page.locator(".queue-stats .stat-link").first.click()
    assert "severity=A" in page.url
    # j / c still claim from the keyboard.
    page.goto("/desk/?assignee=none")
    page.keyboard.press("j")
    page.keyboard.press("c")
    expect(page.get_by_text("is assigned to")).to_be_visible()


def test_below_1024_px_rows_wrap_inside_the_screen(world: World, page: Any) -> None:
    expect = _expect()
    _busy_queue(world)
    page.set_viewport_size({"width": 390, "height": 900})
    sign_in(page, world.supervisor.email)
    page.goto("/desk/")
    expect(page.locator("#queue-table tr.queue-row")).to_have_count(7)
    _screenshot(page, "desk-queue-en-390")
    found = page.evaluate(MEASURE)
    assert found["page"] <= found["viewport"], "the page scrolls sideways"
    assert found["table"] <= found["box"], "the table is wider than its box"
    for row in found["rows"]:
        assert row["lastRight"] <= found["viewport"], row
        assert row["buttonRight"] <= found["viewport"], row

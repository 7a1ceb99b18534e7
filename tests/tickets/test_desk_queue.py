"""The desk queue (issue 7): order, filters, counts, saved views, assignment, live refresh."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.conftest import World
from tests.factories import AgentFactory, OrganizationFactory
from tickets import services
from tickets.actors import Actor
from tickets.models import EventKind, SavedView, Status, Ticket
from tickets.selectors import QUEUE_PAGE_SIZE

pytestmark = pytest.mark.django_db


def _set(ticket: Ticket, **values: object) -> Ticket:
    """Put a ticket's clocks where a test needs them (the services compute real ones)."""
    Ticket.objects.filter(pk=ticket.pk).update(**values)
    ticket.refresh_from_db()
    return ticket


def _queue(client: Client, query: str = "") -> list[int]:
    response = client.get(reverse("desk:home") + (f"?{query}" if query else ""))
    assert response.status_code == 200
    return [t.pk for t in response.context["page"].rows]


def test_the_queue_is_ordered_by_urgency(world: World, client: Client) -> None:
    now = timezone.now()
    soon = _set(world.file(title="soon"), response_due_at=now + timedelta(minutes=14))
    later = _set(world.file(title="later"), response_due_at=now + timedelta(hours=5))
    breached_long = _set(
        world.file(title="breached long ago"), response_due_at=now - timedelta(hours=2)
    )
    breached_just = _set(
        world.file(title="just breached"), response_due_at=now - timedelta(minutes=3)
    )
    waiting_late = _set(
        world.file(title="waiting, later"),
        status=Status.AWAITING_CUSTOMER,
        response_due_at=None,
        customer_due_at=now + timedelta(days=2),
    )
    waiting_soon = _set(
        world.file(title="waiting, sooner"),
        status=Status.AWAITING_CUSTOMER,
        response_due_at=None,
        customer_due_at=now + timedelta(hours=1),
    )
    no_clock = _set(world.file(title="no running clock"), status=Status.OPEN, response_due_at=None)
    _set(world.file(title="resolved"), status=Status.RESOLVED, response_due_at=None)
    client.force_login(world.agent)
    assert _queue(client) == [
        breached_long.pk,
        breached_just.pk,
        soon.pk,
        later.pk,
        waiting_soon.pk,
        waiting_late.pk,
        no_clock.pk,
    ]


def test_rows_show_a_live_countdown_with_an_iso_deadline(world: World, client: Client) -> None:
    now = timezone.now()
    breached = _set(world.file(), response_due_at=now - timedelta(minutes=3, seconds=10))
    waiting = _set(
        world.file(),
        status=Status.AWAITING_CUSTOMER,
        response_due_at=None,
        customer_due_at=now + timedelta(hours=2),
    )
    client.force_login(world.agent)
    body = client.get(reverse("desk:home")).content.decode()
    assert f'datetime="{breached.response_due_at.isoformat()}"' in body
    assert 'data-countdown="queue"' in body
    # One red chip says it: no separate "Breached" badge beside "breached … ago".
    assert "3 min 10 s overdue" in body or "3 min 11 s overdue" in body
    assert "sla-breached" in body
    assert "badge-breached" not in body.split('id="queue-table"')[1]
    assert 'data-countdown="queue-customer"' in body
    assert "customer: 1 h 59 min left" in body or "customer: 2 h 0 min left" in body
    assert waiting.reference in body
    assert "js/desk.js" in body
    assert 'id="countdown-texts"' in body


def test_counts_per_severity_and_breaches(world: World, client: Client) -> None:
    now = timezone.now()
    _set(world.file(), severity="A", response_due_at=now - timedelta(minutes=1))
    _set(world.file(), severity="A", response_due_at=now + timedelta(hours=1))
    _set(world.file(), severity="C", response_due_at=now + timedelta(hours=1))
    _set(world.file(), severity="C", status=Status.CLOSED, response_due_at=None)
    client.force_login(world.agent)
    counts = {c.severity: c for c in client.get(reverse("desk:home")).context["page"].counts}
    assert (counts["A"].total, counts["A"].breached) == (2, 1)
    assert (counts["B"].total, counts["C"].total) == (0, 1)
    # The cards count what the list shows: with a severity chosen, the others are 0.
    page = client.get(reverse("desk:home") + "?severity=A").context["page"]
    assert page.total == 2
    assert {c.severity: c.total for c in page.counts} == {"A": 2, "B": 0, "C": 0}


def test_every_filter_narrows_the_queue(world: World, client: Client) -> None:
    now = timezone.now()
    other_agent = AgentFactory()
    a = _set(world.file(title="Mailbox full"), severity="A", response_due_at=now - timedelta(1))
    b = _set(
        world.file(world.admin_b, title="Invoice wrong", category="billing"),
        status=Status.AWAITING_CUSTOMER,
        customer_due_at=now + timedelta(hours=3),
        response_due_at=None,
    )
    c = _set(world.file(title="Teams down"), response_due_at=now + timedelta(hours=3))
    services.ticket_assign(
        ticket=a, actor=Actor.for_user(world.agent), assignee=world.agent, now=now
    )
    services.ticket_assign(
        ticket=c, actor=Actor.for_user(world.supervisor), assignee=other_agent, now=now
    )
    client.force_login(world.agent)
    assert _queue(client, "severity=A") == [a.pk]
    assert _queue(client, "category=billing") == [b.pk]
    assert _queue(client, f"organization={world.org_b.pk}") == [b.pk]
    assert _queue(client, "status=awaiting_customer") == [b.pk]
    assert _queue(client, "assignee=me") == [a.pk]
    assert _queue(client, "assignee=none") == [b.pk]
    assert _queue(client, f"assignee={other_agent.pk}") == [c.pk]
    assert _queue(client, "breached=1") == [a.pk]
    assert _queue(client, "waiting=1") == [b.pk]
    assert _queue(client, "q=mailbox") == [a.pk]
    assert _queue(client, "q=bravo") == [b.pk]
    assert _queue(client, f"q={c.reference}") == [c.pk]
    assert _queue(client, f"q={c.pk}") == [c.pk]
    assert _queue(client, "severity=A&breached=1&assignee=me") == [a.pk]


def test_bad_filter_values_are_ignored_not_errors(world: World, client: Client) -> None:
    ticket = world.file()
    client.force_login(world.agent)
    for query in (
        "severity=Z",
        "organization=abc",
        "organization=999999",
        "assignee=123456",
        "status=closed",
        "product=-1",
        "page=abc",
        "page=-5",
        "page=9999",
        "q=" + "x" * 500,
    ):
        response = client.get(reverse("desk:home") + "?" + query)
        assert response.status_code == 200, query
        if "page=" not in query:
            assert response.context["filter_form"].ignored, query
            assert [t.pk for t in response.context["page"].rows] == [ticket.pk], query
    assert "Ignored filters" in client.get(reverse("desk:home") + "?severity=Z").content.decode()
    # The live fragment takes the page's own query string; malformed values there are
    # ignored too, and a well-formed unknown id matches nothing.
    for query in ("organization=abc", "assignee=x", "product=0", "severity=Z"):
        response = client.get(reverse("desk:queue_rows") + "?" + query)
        assert response.status_code == 200, query
        assert ticket.reference in response.content.decode(), query
    response = client.get(reverse("desk:queue_rows") + "?organization=999999")
    assert response.status_code == 200
    assert ticket.reference not in response.content.decode()


def test_the_queue_is_paginated(world: World, client: Client) -> None:
    for i in range(QUEUE_PAGE_SIZE + 3):
        world.file(title=f"Request {i}")
    client.force_login(world.agent)
    first = client.get(reverse("desk:home")).context["page"]
    assert (len(first.rows), first.total, first.pages) == (QUEUE_PAGE_SIZE, QUEUE_PAGE_SIZE + 3, 2)
    second = client.get(reverse("desk:home") + "?page=2").context["page"]
    assert len(second.rows) == 3
    assert not {t.pk for t in first.rows} & {t.pk for t in second.rows}
    assert client.get(reverse("desk:home") + "?page=99").context["page"].page == 2


def _many(world: World, n: int) -> None:
    for i in range(n):
        ticket = world.file(world.admin_a if i % 2 else world.admin_b, title=f"Request {i}")
        if i % 3 == 0:
            services.ticket_assign(
                ticket=ticket, actor=Actor.for_user(world.agent), assignee=world.agent,
                now=ticket.created_at,
            )  # fmt: skip


# Session, user, the session's second factor (mfa), navigation, heartbeat, unread notices
# (the bell), organizations, products, agents (the filter lists, until cached), counts,
# ids, rows, saved views: a constant, whatever the number of tickets.
QUEUE_PAGE_QUERIES = 13
# The fragment: session, user, second factor, counts, ids, rows.
QUEUE_ROWS_QUERIES = 6


@pytest.mark.parametrize("tickets", [5, 50])
@pytest.mark.parametrize(
    "query", ["", "severity=B&assignee=me", "breached=1&waiting=1", "q=Request&page=2"]
)
def test_queue_queries_are_constant(
    world: World,
    client: Client,
    django_assert_max_num_queries: object,
    tickets: int,
    query: str,
) -> None:
    _many(world, tickets)
    SavedView.objects.create(user=world.agent, name="Mine", query="assignee=me")
    client.force_login(world.agent)
    with django_assert_max_num_queries(QUEUE_PAGE_QUERIES):  # type: ignore[operator]
        page = client.get(reverse("desk:home") + "?" + query)
    assert page.status_code == 200
    with django_assert_max_num_queries(QUEUE_ROWS_QUERIES):  # type: ignore[operator]
        rows = client.get(reverse("desk:queue_rows") + "?" + query)
    assert rows.status_code == 200
    if not query:
        assert len(page.context["page"].rows) == min(tickets, QUEUE_PAGE_SIZE)


def test_the_cached_filter_lists_follow_new_and_renamed_organizations_and_agents(
    world: World, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(world.supervisor)
    first = client.get(reverse("desk:home")).content.decode()
    assert "Fabrikam Ventures" not in first
    assert f'<option value="{world.agent.pk}">' in first
    # The lists are cached now: a second visit does not read them.
    with CaptureQueriesContext(connection) as cached:
        client.get(reverse("desk:home"))
    assert not [q for q in cached.captured_queries if 'FROM "tenants_organization"' in q["sql"]]
    with django_capture_on_commit_callbacks(execute=True):
        OrganizationFactory(name="Fabrikam Ventures")
        world.agent.full_name = "Renamed Agent"
        world.agent.save(update_fields=["full_name"])
    body = client.get(reverse("desk:home")).content.decode()
    assert "Fabrikam Ventures" in body
    assert f'<option value="{world.agent.pk}">Renamed Agent</option>' in body


def test_the_live_fragment_keeps_the_filters(world: World, client: Client) -> None:
    a = world.file(title="Alpha thing")
    world.file(world.admin_b, title="Bravo thing")
    client.force_login(world.agent)
    page = client.get(reverse("desk:home") + f"?organization={world.org_a.pk}&bogus=1")
    body = page.content.decode()
    assert f'hx-get="/desk/queue/rows/?organization={world.org_a.pk}"' in body
    assert 'hx-trigger="every 10s"' in body
    fragment = client.get(reverse("desk:queue_rows") + f"?organization={world.org_a.pk}")
    assert fragment.status_code == 200
    text = fragment.content.decode()
    assert "<html" not in text
    assert 'id="queue-live"' in text
    assert a.reference in text
    assert "Bravo thing" not in text
    # A ticket filed after the page was drawn shows up on the next poll.
    newer = world.file(title="Filed a moment ago")
    again = client.get(reverse("desk:queue_rows") + f"?organization={world.org_a.pk}")
    assert newer.reference in again.content.decode()


def test_saved_views_belong_to_their_agent(world: World, client: Client) -> None:
    client.force_login(world.agent)
    url = reverse("desk:saved_view_create")
    response = client.post(url, {"name": " My breaches ", "query": "breached=1&severity=A"})
    assert response.status_code == 302
    view = SavedView.objects.get(user=world.agent)
    assert (view.name, view.query) == ("My breaches", "severity=A&breached=1")
    assert response["Location"].endswith("?severity=A&breached=1")
    # Same name again: refused, nothing added.
    client.post(url, {"name": "My breaches", "query": "severity=B"})
    assert SavedView.objects.filter(user=world.agent).count() == 1
    # No name: refused.
    client.post(url, {"name": "  ", "query": "severity=B"})
    assert SavedView.objects.filter(user=world.agent).count() == 1
    # Only filters the queue knows are kept, re-encoded: nothing else reaches a link.
    response = client.post(
        url, {"name": "Odd", "query": "severity=Z&x=\r\nSet-Cookie:1&q=a b&waiting=on"}
    )
    assert response.status_code == 302
    assert SavedView.objects.get(name="Odd").query == "q=a+b&waiting=1"
    page = client.get(reverse("desk:home")).content.decode()
    assert "My breaches" in page
    # Another agent neither sees nor deletes it.
    other = AgentFactory()
    client.force_login(other)
    assert "My breaches" not in client.get(reverse("desk:home")).content.decode()
    delete = reverse("desk:saved_view_delete", kwargs={"view": view.pk})
    assert client.post(delete).status_code == 404
    assert SavedView.objects.filter(pk=view.pk).exists()
    huge = reverse("desk:saved_view_delete", kwargs={"view": 10**30})
    assert client.post(huge).status_code == 404
    client.force_login(world.agent)
    assert client.get(delete).status_code == 405
    assert client.post(delete).status_code == 302
    assert not SavedView.objects.filter(pk=view.pk).exists()


def test_claim_from_the_queue_returns_to_the_filtered_queue(world: World, client: Client) -> None:
    ticket = world.file()
    client.force_login(world.agent)
    url = reverse("desk:ticket_assign", kwargs={"number": ticket.pk})
    response = client.post(url, {"assignee": world.agent.pk, "next": "/desk/?severity=B"})
    assert response.status_code == 302
    assert response["Location"] == "/desk/?severity=B"
    ticket.refresh_from_db()
    assert ticket.assignee == world.agent
    # A foreign or malformed "next" is not followed.
    for target in ("https://evil.example/", "/desk/\r\nSet-Cookie: x=1"):
        response = client.post(url, {"assignee": "", "next": target})
        assert response.status_code == 302
        assert response["Location"] == reverse("desk:ticket", kwargs={"number": ticket.pk})


def test_agents_claim_but_do_not_hand_over(world: World, client: Client) -> None:
    ticket = world.file()
    other = AgentFactory()
    client.force_login(world.agent)
    url = reverse("desk:ticket_assign", kwargs={"number": ticket.pk})
    client.post(url, {"assignee": other.pk})
    ticket.refresh_from_db()
    assert ticket.assignee is None
    assert not ticket.events.filter(kind=EventKind.ASSIGNED).exists()
    client.force_login(world.supervisor)
    client.post(url, {"assignee": other.pk})
    ticket.refresh_from_db()
    assert ticket.assignee == other
    # A customer is not an agent: not in the list, nothing changes.
    response = client.post(url, {"assignee": world.admin_a.user.pk})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == other


def test_bulk_assign_is_all_or_none(world: World, client: Client) -> None:
    first, second = world.file(), world.file()
    other = AgentFactory()
    services.ticket_resolve(
        ticket=second, actor=Actor.for_user(world.agent), reason="", now=timezone.now()
    )
    client.force_login(world.supervisor)
    url = reverse("desk:bulk_assign")
    # One of the two is resolved: assigning it is refused, so the first stays unassigned.
    client.post(url, {"tickets": [first.pk, second.pk], "assignee": other.pk})
    first.refresh_from_db()
    assert first.assignee is None
    third = world.file()
    response = client.post(
        url, {"tickets": [first.pk, third.pk], "assignee": other.pk, "next": "/desk/?q=x"}
    )
    assert response["Location"] == "/desk/?q=x"
    assert set(Ticket.objects.filter(assignee=other).values_list("pk", flat=True)) == {
        first.pk,
        third.pk,
    }
    for bad in (
        {"tickets": [], "assignee": other.pk},
        {"tickets": ["abc"], "assignee": other.pk},
        {"tickets": [999_999], "assignee": world.agent.pk},
        {"tickets": [10**30], "assignee": world.agent.pk},
        {"tickets": [-1], "assignee": world.agent.pk},
        {"tickets": [first.pk], "assignee": "not-a-number"},
    ):
        assert client.post(url, bad).status_code == 302
    assert set(Ticket.objects.filter(assignee=other).values_list("pk", flat=True)) == {
        first.pk,
        third.pk,
    }


def test_agents_bulk_claim_for_themselves_only(world: World, client: Client) -> None:
    first, second = world.file(), world.file()
    client.force_login(world.agent)
    url = reverse("desk:bulk_assign")
    client.post(url, {"tickets": [first.pk, second.pk], "assignee": world.supervisor.pk})
    assert not Ticket.objects.filter(assignee__isnull=False).exists()
    client.post(url, {"tickets": [first.pk, second.pk], "assignee": world.agent.pk})
    assert Ticket.objects.filter(assignee=world.agent).count() == 2


def test_the_worker_banner_shows_on_desk_pages_when_the_sweep_is_stale(
    world: World, client: Client
) -> None:
    from tickets.models import WorkerHeartbeat

    ticket = world.file()
    client.force_login(world.agent)
    for url in (reverse("desk:home"), reverse("desk:ticket", kwargs={"number": ticket.pk})):
        assert "The SLA workers are not running" in client.get(url).content.decode()
    WorkerHeartbeat.objects.create(name="sweep", last_run_at=timezone.now())
    for url in (reverse("desk:home"), reverse("desk:ticket", kwargs={"number": ticket.pk})):
        assert "The SLA workers are not running" not in client.get(url).content.decode()


def test_customers_never_see_the_queue(world: World, client: Client) -> None:
    world.file()
    client.force_login(world.admin_a.user)
    for name in ("desk:home", "desk:queue_rows"):
        assert client.get(reverse(name)).status_code == 404
    assert client.post(reverse("desk:saved_view_create"), {"name": "x"}).status_code == 404
    assert not SavedView.objects.exists()

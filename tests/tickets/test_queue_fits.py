"""The desk queue that fits (issue 16): counts that follow the filters, at risk before
breached, the requester and "customer replied", Claim only where it applies (supervisors
take over), quick filters that leave the filter form folded, a remembered row density, and
a pinned number of queries."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from django.http import QueryDict
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import World
from tests.factories import AgentFactory
from tickets import selectors, services
from tickets.actors import Actor
from tickets.desk_forms import QueueFilterForm
from tickets.models import AuthorRole, Message, MessageKind, SavedView, Status, Ticket
from tickets.selectors import (
    CLOCK_AT_RISK,
    CLOCK_BREACHED,
    CLOCK_OK,
    QueueFilters,
    response_clock_state,
    response_warning_moment,
)

pytestmark = pytest.mark.django_db


def _set(ticket: Ticket, **values: object) -> Ticket:
    Ticket.objects.filter(pk=ticket.pk).update(**values)
    ticket.refresh_from_db()
    return ticket


def _row(body: str, ticket: Ticket) -> str:
    """The queue row of ``ticket`` in a rendered page."""
    match = re.search(
        rf'<tr class="queue-row[^"]*" data-ticket="{ticket.pk}">(.*?)</tr>', body, re.S
    )
    assert match, ticket.reference
    return match.group(1)


# --- Selectors -----------------------------------------------------------------------------


def test_counts_follow_every_filter(world: World) -> None:
    now = timezone.now()
    other = AgentFactory()
    a_mine = _set(world.file(), severity="A", response_due_at=now - timedelta(minutes=5))
    a_other = _set(world.file(), severity="A", response_due_at=now + timedelta(hours=1))
    b_mine = _set(world.file(world.admin_b), severity="B", response_due_at=now + timedelta(hours=2))
    _set(world.file(world.admin_b), severity="C", response_due_at=now - timedelta(hours=1))
    _set(world.file(), severity="A", status=Status.CLOSED, response_due_at=None)
    Ticket.objects.filter(pk__in=[a_mine.pk, b_mine.pk]).update(assignee=world.agent)
    Ticket.objects.filter(pk=a_other.pk).update(assignee=other)

    def counts(filters: QueueFilters) -> dict[str, tuple[int, int]]:
        page = selectors.queue_page(filters, user=world.agent, now=now)
        result = {c.severity: (c.total, c.breached) for c in page.counts}
        # The cards and the list below them count the same tickets.
        assert page.total == sum(total for total, _ in result.values())
        assert page.total == len(page.rows)
        return result

    assert counts(QueueFilters()) == {"A": (2, 1), "B": (1, 0), "C": (1, 1)}
    assert counts(QueueFilters(assignee="me")) == {"A": (1, 1), "B": (1, 0), "C": (0, 0)}
    assert counts(QueueFilters(assignee="none")) == {"A": (0, 0), "B": (0, 0), "C": (1, 1)}
    assert counts(QueueFilters(organization_id=world.org_b.pk)) == {
        "A": (0, 0),
        "B": (1, 0),
        "C": (1, 1),
    }
    assert counts(QueueFilters(breached=True)) == {"A": (1, 1), "B": (0, 0), "C": (1, 1)}
    assert counts(QueueFilters(severity="A")) == {"A": (2, 1), "B": (0, 0), "C": (0, 0)}
    assert counts(QueueFilters(severity="B", assignee="none")) == {
        "A": (0, 0),
        "B": (0, 0),
        "C": (0, 0),
    }


def _clock(
    now: datetime,
    *,
    due: timedelta | None,
    warning: timedelta | None = None,
    filed: timedelta = timedelta(hours=-8),
    answered: timedelta | None = None,
) -> Ticket:
    """An unsaved ticket with its response clock placed relative to ``now``."""
    return Ticket(
        created_at=now + filed,
        response_due_at=now + due if due is not None else None,
        response_warning_at=now + warning if warning is not None else None,
        last_agent_update_at=now + answered if answered is not None else None,
    )


def test_at_risk_comes_before_breached() -> None:
    now = timezone.now()
    hour = timedelta(hours=1)
    # The stored warning moment decides while it is set.
    assert response_clock_state(_clock(now, due=2 * hour, warning=hour), now) == CLOCK_OK
    assert response_clock_state(_clock(now, due=2 * hour, warning=-hour), now) == CLOCK_AT_RISK
    assert response_clock_state(_clock(now, due=timedelta(0), warning=-hour), now) == (
        CLOCK_BREACHED
    )
    assert response_clock_state(_clock(now, due=-hour, warning=-2 * hour), now) == CLOCK_BREACHED
    # Without one (the workers clear it once the warning is sent), 75 % of the way from the
    # clock's start: filed 8 h ago, due in 8 h → amber 4 h from now; due in 2 h → amber.
    quiet = _clock(now, due=8 * hour)
    assert response_warning_moment(quiet) == now + 4 * hour
    assert response_clock_state(quiet, now) == CLOCK_OK
    assert response_clock_state(_clock(now, due=2 * hour), now) == CLOCK_AT_RISK
    # After support's last update the clock starts again from that update.
    answered = _clock(now, due=3 * hour, answered=-hour)
    assert response_warning_moment(answered) == now + 2 * hour
    assert response_clock_state(answered, now) == CLOCK_OK
    # No running response clock: nothing to be at risk of.
    assert response_clock_state(_clock(now, due=None), now) == CLOCK_OK


def test_at_risk_is_counted_apart_from_breached_and_filters_the_queue(
    world: World, client: Client
) -> None:
    """The cards count amber (past the warning moment, before the deadline) apart from
    red, following the active filters; "At risk" narrows the list to the amber ones. The
    database's condition agrees with ``response_clock_state`` ticket by ticket."""
    now = timezone.now()
    hour = timedelta(hours=1)
    filed = {"created_at": now - 8 * hour, "last_agent_update_at": None}
    # Stored warning moment passed; deadline ahead → amber.
    stored = _set(
        world.file(), severity="A", **filed, response_due_at=now + hour,
        response_warning_at=now - hour,
    )  # fmt: skip
    # No stored moment; 8 h in of 10 h (80 % ≥ 75 %) → amber (organization B).
    share = _set(
        world.file(world.admin_b), severity="A", **filed, response_due_at=now + 2 * hour,
        response_warning_at=None,
    )  # fmt: skip
    # 8 h in of 16 h (50 %) → not yet; a stored moment ahead → not yet.
    calm = _set(
        world.file(), severity="B", **filed, response_due_at=now + 8 * hour,
        response_warning_at=None,
    )  # fmt: skip
    later = _set(
        world.file(), severity="B", **filed, response_due_at=now + hour,
        response_warning_at=now + timedelta(minutes=30),
    )  # fmt: skip
    # Support answered an hour ago: the clock starts again from there (1 h of 4 h).
    answered = _set(
        world.file(), severity="C", created_at=now - 8 * hour,
        last_agent_update_at=now - hour, response_due_at=now + 3 * hour,
        response_warning_at=None,
    )  # fmt: skip
    # Past the deadline: red only, never amber too.
    breached = _set(
        world.file(), severity="A", **filed, response_due_at=now - hour,
        response_warning_at=now - 2 * hour,
    )  # fmt: skip
    # Waiting on the customer: the response clock does not run.
    waiting = _set(
        world.file(), severity="C", **filed, status=Status.AWAITING_CUSTOMER,
        response_due_at=now + hour, response_warning_at=now - hour,
        customer_due_at=now + 2 * hour,
    )  # fmt: skip
    states = {
        t.pk: response_clock_state(t, now) for t in (stored, share, calm, later, answered, breached)
    }
    amber = {pk for pk, state in states.items() if state == CLOCK_AT_RISK}
    assert amber == {stored.pk, share.pk}

    def counts(filters: QueueFilters) -> dict[str, tuple[int, int, int]]:
        # This queue fits on one page, so the page counts its rows in Python; the count
        # query, which a longer queue runs, must say the same.
        page = selectors.queue_page(filters, user=world.agent, now=now)
        shown = {c.severity: (c.total, c.breached, c.at_risk) for c in page.counts}
        base = selectors._queue_base(filters, user=world.agent, now=now)
        counted = {
            c.severity: (c.total, c.breached, c.at_risk)
            for c in selectors.queue_counts(base, now=now)
        }
        assert shown == counted
        return shown

    assert counts(QueueFilters()) == {"A": (3, 1, 2), "B": (2, 0, 0), "C": (2, 0, 0)}
    assert counts(QueueFilters(organization_id=world.org_a.pk)) == {
        "A": (2, 1, 1),
        "B": (2, 0, 0),
        "C": (2, 0, 0),
    }
    assert counts(QueueFilters(at_risk=True)) == {"A": (2, 0, 2), "B": (0, 0, 0), "C": (0, 0, 0)}
    assert counts(QueueFilters(breached=True)) == {"A": (1, 1, 0), "B": (0, 0, 0), "C": (0, 0, 0)}
    page = selectors.queue_page(QueueFilters(at_risk=True), user=world.agent, now=now)
    assert {t.pk for t in page.rows} == amber
    assert waiting.pk not in {t.pk for t in page.rows}

    client.force_login(world.agent)
    body = client.get(reverse("desk:home")).content.decode()
    # The quick filter, and the card's amber note beside its red one.
    assert 'href="/desk/?at_risk=1"' in body
    assert "2 at risk" in body and "1 breached" in body
    narrowed = client.get(reverse("desk:home") + "?at_risk=1&severity=A")
    assert {t.pk for t in narrowed.context["page"].rows} == amber
    assert 'href="/desk/?severity=A" aria-current="true"' in narrowed.content.decode()


def test_customer_replied_is_a_customer_reply_newer_than_supports_last_update(
    world: World,
) -> None:
    now = timezone.now()
    replied = _set(world.file(title="replied"), last_agent_update_at=now - timedelta(hours=2))
    answered = _set(world.file(title="answered"), last_agent_update_at=now - timedelta(minutes=5))
    noted = _set(world.file(title="only a note"), last_agent_update_at=now - timedelta(hours=2))
    never_answered = world.file(title="follow-up before any answer")
    for ticket in (replied, answered):
        Message.objects.create(
            ticket=ticket,
            kind=MessageKind.REPLY,
            author_role=AuthorRole.CUSTOMER,
            body="Any news?",
            created_at=now - timedelta(hours=1),
        )
    Message.objects.create(
        ticket=noted,
        kind=MessageKind.NOTE,
        author_role=AuthorRole.AGENT,
        body="Looking",
        created_at=now - timedelta(hours=1),
    )
    Message.objects.create(
        ticket=never_answered,
        kind=MessageKind.REPLY,
        author_role=AuthorRole.CUSTOMER,
        body="Also the calendar",
        created_at=never_answered.created_at + timedelta(minutes=1),
    )
    rows = selectors.queue_page(QueueFilters(), user=world.agent, now=now).rows
    flags = {t.title: t.customer_replied for t in rows}  # type: ignore[attr-defined]
    assert flags == {
        "replied": True,
        "answered": False,
        "only a note": False,
        "follow-up before any answer": True,
    }


# --- The page ------------------------------------------------------------------------------


def test_rows_show_the_requester_customer_replied_and_one_clock_badge(
    world: World, client: Client
) -> None:
    now = timezone.now()
    at_risk = _set(
        world.file(title="At risk"),
        response_due_at=now + timedelta(minutes=20),
        response_warning_at=now - timedelta(minutes=5),
    )
    calm = _set(
        world.file(world.admin_b, title="Calm"),
        response_due_at=now + timedelta(hours=20),
        response_warning_at=now + timedelta(hours=15),
    )
    breached = _set(world.file(title="Long overdue"), response_due_at=now - timedelta(days=3))
    Message.objects.create(
        ticket=calm, kind=MessageKind.REPLY, author_role=AuthorRole.CUSTOMER, body="Hello?"
    )
    client.force_login(world.agent)
    body = client.get(reverse("desk:home")).content.decode()
    row = _row(body, at_risk)
    assert "sla-at_risk" in row and "19 min" in row and "left" in row
    assert world.admin_a.user.get_full_name() in row
    assert world.org_a.name in row
    assert "Customer replied" not in row
    row = _row(body, calm)
    assert "sla-ok" in row and "Customer replied" in row
    assert world.admin_b.user.get_full_name() in row
    row = _row(body, breached)
    assert "sla-breached" in row and "3 d 0 h overdue" in row
    # One badge: the state is the chip's colour, not a second "Breached" label.
    assert row.count("Breached") <= 1  # the chip's tooltip
    assert "badge-breached" not in row
    assert at_risk.response_warning_at is not None
    assert f'data-warning="{at_risk.response_warning_at.isoformat()}"' in body


def _actions(body: str, ticket: Ticket) -> tuple[bool, bool]:
    row = _row(body, ticket)
    return ("queue-claim" in row and "queue-take-over" not in row, "queue-take-over" in row)


def test_claim_only_where_it_applies_and_supervisors_take_over(
    world: World, client: Client
) -> None:
    other = AgentFactory()
    unassigned = world.file(title="Nobody's")
    mine = world.file(title="Mine")
    theirs = world.file(title="A colleague's")
    supervisors = world.file(title="The supervisor's")
    now = timezone.now()
    Ticket.objects.filter(pk=mine.pk).update(assignee=world.agent)
    Ticket.objects.filter(pk=theirs.pk).update(assignee=other)
    Ticket.objects.filter(pk=supervisors.pk).update(assignee=world.supervisor)

    client.force_login(world.agent)
    body = client.get(reverse("desk:home")).content.decode()
    assert _actions(body, unassigned) == (True, False)
    assert _actions(body, mine) == (False, False)
    assert _actions(body, theirs) == (False, False)
    assert _actions(body, supervisors) == (False, False)
    assert "Take over" not in body

    client.force_login(world.supervisor)
    body = client.get(reverse("desk:home")).content.decode()
    assert _actions(body, unassigned) == (True, False)
    assert _actions(body, mine) == (False, True)
    assert _actions(body, theirs) == (False, True)
    assert _actions(body, supervisors) == (False, False)
    # Taking over is the assign service: the ticket is the supervisor's, with its Event.
    url = reverse("desk:ticket_assign", kwargs={"number": theirs.pk})
    assert f'formaction="{url}"' in _row(body, theirs)
    response = client.post(url, {"assignee": world.supervisor.pk, "next": "/desk/?assignee=me"})
    assert response["Location"] == "/desk/?assignee=me"
    theirs.refresh_from_db()
    assert theirs.assignee == world.supervisor
    assert now <= theirs.events.latest("pk").created_at


def test_quick_filters_apply_without_unfolding_the_form(world: World, client: Client) -> None:
    a = _set(world.file(title="Alpha"), severity="A")
    b = _set(world.file(world.admin_b, title="Bravo"), severity="B")
    services.ticket_assign(
        ticket=a, actor=Actor.for_user(world.agent), assignee=world.agent, now=timezone.now()
    )
    client.force_login(world.agent)
    for query in ("", "assignee=me", "severity=A&assignee=me", f"organization={world.org_b.pk}"):
        body = client.get(reverse("desk:home") + "?" + query).content.decode()
        assert '<details class="queue-more">' in body, query
        assert '<details class="queue-more" open' not in body, query
    response = client.get(reverse("desk:home") + "?severity=A")
    body = response.content.decode()
    # "Mine" keeps the severity and adds itself; pressed, it removes itself.
    assert 'href="/desk/?severity=A&amp;assignee=me"' in body
    body = client.get(reverse("desk:home") + "?severity=A&assignee=me").content.decode()
    assert 'href="/desk/?severity=A" aria-current="true"' in body
    # The filters that are on show as chips, each removing itself.
    assert 'class="filter-chip" href="/desk/?assignee=me"' in body  # severity removed
    assert 'class="filter-chip" href="/desk/?severity=A"' in body  # assignee removed
    # A severity card narrows to its severity, keeping the other filters; again widens.
    cards = client.get(reverse("desk:home") + f"?organization={world.org_b.pk}").context["cards"]
    by_severity = {card["count"].severity: card for card in cards}
    assert by_severity["B"]["query"] == f"severity=B&organization={world.org_b.pk}"
    assert by_severity["B"]["count"].total == 1
    assert by_severity["A"]["count"].total == 0
    page = client.get(reverse("desk:home") + "?severity=B").context
    assert [t.pk for t in page["page"].rows] == [b.pk]
    assert {c["count"].severity: c["current"] for c in page["cards"]}["B"] is True
    assert {c["count"].severity: c["query"] for c in page["cards"]}["B"] == ""


def test_the_density_is_remembered_for_the_agent(world: World, client: Client) -> None:
    world.file()
    client.force_login(world.agent)
    body = client.get(reverse("desk:home")).content.decode()
    assert "density-compact" in body
    url = reverse("desk:queue_density")
    assert client.get(url).status_code == 405
    response = client.post(url, {"density": "comfortable", "next": "/desk/?assignee=me"})
    assert response["Location"] == "/desk/?assignee=me"
    assert "density-comfortable" in client.get(reverse("desk:home")).content.decode()
    # The live refresh keeps it.
    assert "density-comfortable" in client.get(reverse("desk:queue_rows")).content.decode()
    client.post(url, {"density": "huge"})
    assert "density-comfortable" in client.get(reverse("desk:home")).content.decode()
    client.post(url, {"density": "compact"})
    assert "density-compact" in client.get(reverse("desk:home")).content.decode()


# Session, user, the session's second factor (mfa), navigation, unread notices (the bell),
# counts, ids, rows, saved views; the filter lists (organizations, products, agents) and
# the banner's sweep heartbeat are cached since the first visit (tickets.desk_forms,
# tickets.health). A queue that fits on its first page is counted from its rows: one
# query fewer.
QUEUE_PAGE_QUERIES = 9
# The fragment: session, user, second factor, counts, ids, rows.
QUEUE_ROWS_QUERIES = 6


@pytest.mark.parametrize("tickets", [3, 30, 60])
@pytest.mark.parametrize("query", ["", "severity=B&assignee=none&breached=1", "q=Request"])
def test_the_queue_page_runs_a_pinned_number_of_queries(
    world: World,
    client: Client,
    django_assert_num_queries: object,
    tickets: int,
    query: str,
) -> None:
    other = AgentFactory()
    for i in range(tickets):
        ticket = world.file(world.admin_a if i % 2 else world.admin_b, title=f"Request {i}")
        if i % 3 == 0:
            Ticket.objects.filter(pk=ticket.pk).update(assignee=world.agent if i % 2 else other)
        Message.objects.create(
            ticket=ticket, kind=MessageKind.REPLY, author_role=AuthorRole.CUSTOMER, body="?"
        )
    SavedView.objects.create(user=world.agent, name="Mine", query="assignee=me")
    filters = QueueFilterForm(QueryDict(query)).filters()
    shown = selectors.queue_page(filters, user=world.supervisor, now=timezone.now())
    fits = shown.total <= selectors.QUEUE_PAGE_SIZE
    client.force_login(world.supervisor)
    client.get(reverse("desk:home"))  # the session's first save
    with django_assert_num_queries(QUEUE_PAGE_QUERIES - fits):  # type: ignore[operator]
        response = client.get(reverse("desk:home") + "?" + query)
    assert response.status_code == 200
    assert response.context["page"].rows  # an empty page skips the rows query
    assert response.context["page"].total == shown.total
    with django_assert_num_queries(QUEUE_ROWS_QUERIES - fits):  # type: ignore[operator]
        assert client.get(reverse("desk:queue_rows") + "?" + query).status_code == 200

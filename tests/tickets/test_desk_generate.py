"""``manage.py generate_tickets``: the scale data set for bench/desk.py."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from tenants.models import Membership, Organization, Role, User
from tests.factories import AgentFactory
from tickets.models import Status, Ticket

pytestmark = pytest.mark.django_db


def test_it_creates_mostly_closed_history_and_an_active_share() -> None:
    out = io.StringIO()
    call_command("generate_tickets", 3000, organizations=5, open_share=0.1, agents=3, stdout=out)
    assert Ticket.objects.count() == 3000
    assert Organization.objects.filter(slug__startswith="gen-org-").count() == 5
    assert Membership.objects.filter(role=Role.GLOBAL_ADMIN).count() == 5
    assert User.objects.filter(staff_role="agent").count() == 3
    active = Ticket.objects.active()
    assert 200 <= active.count() <= 400  # about 10 %
    assert Ticket.objects.filter(status=Status.CLOSED).count() == 3000 - active.count()
    # Active tickets carry the clocks the queue sorts by; the history is answered.
    assert not active.filter(status=Status.AWAITING_CUSTOMER, customer_due_at=None).exists()
    assert active.filter(status=Status.NEW).exclude(response_due_at=None).exists()
    closed = Ticket.objects.filter(status=Status.CLOSED)
    assert not closed.filter(first_response_at=None).exists()
    # Ids grow with the filing time, as in a real table.
    first, last = Ticket.objects.order_by("pk").first(), Ticket.objects.order_by("pk").last()
    assert first.created_at < last.created_at  # type: ignore[union-attr]
    # A second run reuses the organizations and people.
    call_command("generate_tickets", 10, organizations=5, agents=3, stdout=out)
    assert Organization.objects.filter(slug__startswith="gen-org-").count() == 5
    assert Ticket.objects.count() == 3010


def test_the_queue_reads_the_generated_tickets(client: Client) -> None:
    call_command("generate_tickets", 500, organizations=3, open_share=0.2, stdout=io.StringIO())
    client.force_login(AgentFactory())
    page = client.get(reverse("desk:home")).context["page"]
    assert page.total == Ticket.objects.active().count()
    assert len(page.rows) == 50


@pytest.mark.parametrize(
    "options", [{"count": 0}, {"count": 10, "open_share": 1.5}, {"count": 10, "organizations": 0}]
)
def test_bad_arguments_are_refused(options: dict[str, object]) -> None:
    count = options.pop("count")
    with pytest.raises(CommandError):
        call_command("generate_tickets", count, stdout=io.StringIO(), **options)
    assert not Ticket.objects.exists()


@pytest.mark.postgres
def test_postgresql_reads_the_top_of_the_queue_off_its_index() -> None:
    """The queue's order and its breached filter are range scans of ``ticket_queue``; the
    counts are index-only scans of it (DESIGN.md "Performance facts")."""
    from django.db import connection
    from django.utils import timezone

    from tickets import selectors
    from tickets.models import queue_bucket, queue_due

    call_command(
        "generate_tickets", 20_000, organizations=10, open_share=0.05, stdout=io.StringIO()
    )
    agent = AgentFactory()
    now = timezone.now()

    def plan(queryset: object) -> str:
        sql, params = queryset.query.sql_with_params()  # type: ignore[attr-defined]
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + sql, params)
            return "\n".join(row[0] for row in cursor.fetchall())

    for filters in (selectors.QueueFilters(), selectors.QueueFilters(breached=True)):
        base = selectors._queue_base(filters, user=agent, now=now)
        ordered = base.order_by(queue_bucket().asc(), queue_due().asc(), "id").values_list(
            "pk", flat=True
        )[:50]
        assert "ticket_queue" in plan(ordered), filters
        assert "Sort" not in plan(ordered).split("ticket_queue")[0], filters

"""The desk's ticket page: the SLA ledger and the agent's severity override."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import World
from tickets import services
from tickets.actors import Actor
from tickets.models import EventKind

pytestmark = pytest.mark.django_db


def test_the_page_shows_the_ledger_and_the_conversation(world: World, client: Client) -> None:
    now = timezone.now()
    ticket = world.file(now=now - timedelta(hours=2))
    services.ticket_internal_note(
        ticket=ticket, actor=Actor.for_user(world.agent), body="Checked the connector", now=now
    )
    client.force_login(world.agent)
    response = client.get(reverse("desk:ticket", kwargs={"number": ticket.reference}))
    assert response.status_code == 200
    ledger = response.context["ledger"]
    assert ledger.calendar == "B/C technical"
    assert ledger.segments, "a two-hour-old request has a ledger"
    body = response.content.decode()
    assert "SLA ledger" in body
    assert "Checked the connector" in body
    assert "Internal note" in body


def test_an_agent_changes_severity_with_a_reason_and_caps_apply(
    world: World, client: Client
) -> None:
    ticket = world.file(world.admin_b, impact="minimal", scope="one")  # Bravo: standard
    client.force_login(world.agent)
    url = reverse("desk:ticket_severity", kwargs={"number": ticket.pk})
    response = client.post(url, {"severity": "A", "reason": "The whole tenant is down"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.severity == "B"  # POL-SEV-5: standard contract caps at B
    event = ticket.events.get(kind=EventKind.SEVERITY_CHANGED)
    assert event.reason == "The whole tenant is down"
    page = client.get(reverse("desk:ticket", kwargs={"number": ticket.pk}))
    assert "advanced support agreement" in page.content.decode()


def test_bad_severity_input_is_a_form_error_and_changes_nothing(
    world: World, client: Client
) -> None:
    ticket = world.file()
    client.force_login(world.agent)
    url = reverse("desk:ticket_severity", kwargs={"number": ticket.pk})
    for data in ({}, {"severity": "Z", "reason": "x"}, {"severity": "C", "reason": "  "}):
        response = client.post(url, data)
        assert response.status_code == 400, data
        assert response.context["form"].errors
    same = client.post(url, {"severity": ticket.severity, "reason": "no change"})
    assert same.status_code == 400
    ticket.refresh_from_db()
    assert ticket.severity == ticket.original_severity
    assert not ticket.events.filter(kind=EventKind.SEVERITY_CHANGED).exists()
    assert client.get(url).status_code == 405


def test_customers_and_unknown_numbers_get_404(world: World, client: Client) -> None:
    ticket = world.file()
    client.force_login(world.admin_a.user)
    assert client.get(reverse("desk:ticket", kwargs={"number": ticket.pk})).status_code == 404
    client.force_login(world.agent)
    assert client.get(reverse("desk:ticket", kwargs={"number": "SR-999999"})).status_code == 404
    assert client.get(reverse("desk:ticket", kwargs={"number": "nonsense"})).status_code == 404


def test_the_ticket_page_queries_stay_bounded(
    world: World, client: Client, django_assert_max_num_queries: object
) -> None:
    ticket = world.file()
    agent = Actor.for_user(world.agent)
    for i in range(10):
        services.ticket_internal_note(
            ticket=ticket, actor=agent, body=f"note {i}", now=ticket.created_at
        )
    client.force_login(world.agent)
    # 17 (with the ledger's policy and the session's second factor): the ticket's files
    # (of the request and of every message) are one query.
    with django_assert_max_num_queries(17):  # type: ignore[operator]
        client.get(reverse("desk:ticket", kwargs={"number": ticket.pk}))


def test_working_time_reads_like_an_sla() -> None:
    from tickets.templatetags.sla import working_time

    assert working_time(timedelta(hours=15)) == "15 h"
    assert working_time(timedelta(hours=1, minutes=18, seconds=4.4)) == "1 h 18 min"
    assert working_time(timedelta(minutes=42, seconds=59)) == "42 min"
    assert working_time(timedelta(seconds=20)) == "under a minute"
    assert working_time(None) == "—"
    assert working_time(-timedelta(hours=2, minutes=5)) == "overdue by 2 h 5 min"

"""Supervisors' reports (issue 7): SLA compliance, breaches and downgrades, satisfaction."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from tenants.models import Membership
from tests.conftest import T0, World
from tickets import services
from tickets.actors import Actor
from tickets.models import ActorKind, Event, EventKind, Rating, Status, Ticket

pytestmark = pytest.mark.django_db

PERIOD = {"start": "2026-06-01", "end": "2026-06-30", "granularity": "day"}


def _answered(
    world: World, membership: Membership | None = None, *, late: bool, **overrides: object
) -> Ticket:
    ticket = world.file(membership, now=T0, **overrides)
    assert ticket.response_due_at is not None
    when = ticket.response_due_at + timedelta(minutes=5) if late else T0 + timedelta(minutes=5)
    services.ticket_agent_reply(
        ticket=ticket, actor=Actor.for_user(world.agent), body="Looking", now=when
    )
    ticket.refresh_from_db()
    return ticket


def _step(ticket: Ticket, kind: EventKind, level: int, days: int) -> None:
    at = T0 + timedelta(days=days)
    Event.objects.create(
        organization_id=ticket.organization_id,
        ticket=ticket,
        kind=kind,
        actor_kind=ActorKind.SYSTEM,
        actor_label="sweep",
        step_level=level,
        step_lapse_at=at,
        created_at=at,
        after={"level": level},
    )


def test_agents_get_404_and_supervisors_the_charts(world: World, client: Client) -> None:
    client.force_login(world.agent)
    assert client.get(reverse("desk:reports")).status_code == 404
    assert client.get(reverse("desk:reports_csv", kwargs={"report": "severity"})).status_code == 404
    client.force_login(world.supervisor)
    response = client.get(reverse("desk:reports"))
    assert response.status_code == 200
    body = response.content.decode()
    # Severity and category charts (every row shown, even empty ones) and the trend.
    assert body.count("<svg") >= 3
    # Groups of links, not images: every bar opens the requests behind it.
    assert 'role="group"' in body
    assert 'class="chart-link"' in body
    assert "<script" not in body.split("</header>", 1)[1]


def test_compliance_counts_first_responses_within_target(world: World, client: Client) -> None:
    on_time = _answered(world, late=False)
    late = _answered(world, late=True)
    _answered(world, late=False, title="Billing", category="billing")
    _answered(world, world.admin_b, late=True)
    world.file(now=T0)  # never answered, and its deadline is long past: missed
    assert on_time.first_response_at <= on_time.first_response_due_at
    assert late.first_response_at > late.first_response_due_at
    client.force_login(world.supervisor)
    compliance = client.get(reverse("desk:reports"), PERIOD).context["compliance"]
    assert (compliance.overall.total, compliance.overall.met) == (5, 2)
    assert (compliance.overall.late, compliance.overall.overdue) == (2, 1)
    by_category = {row.key: row for row in compliance.by_category}
    assert (by_category["technical"].total, by_category["technical"].met) == (4, 1)
    assert by_category["billing"].percent == 100.0
    assert by_category["presales"].percent is None
    by_org = {row.label: row for row in compliance.by_organization}
    assert by_org["Bravo Inc"].percent == 0.0
    assert by_org["Alpha Corp"].met == 2
    # Lowest compliance first, so the organizations that need attention lead.
    assert compliance.by_organization[0].label == "Bravo Inc"
    # Another period holds none of them.
    other = client.get(
        reverse("desk:reports"), {"start": "2026-05-01", "end": "2026-05-31", "granularity": "day"}
    )
    assert other.context["compliance"].overall.total == 0


def test_breaches_and_downgrades_per_day_and_week(world: World, client: Client) -> None:
    ticket = world.file(now=T0)
    _step(ticket, EventKind.ESCALATED, 1, 0)
    _step(ticket, EventKind.ESCALATED, 2, 0)  # the second level is not a new breach
    _step(ticket, EventKind.ESCALATED, 1, 2)
    _step(ticket, EventKind.DOWNGRADED, 0, 2)
    _step(ticket, EventKind.WARNED, 0, 3)
    services.ticket_escalate(
        ticket=ticket, actor=Actor.for_user(world.agent), reason="by hand", now=T0
    )  # a hand escalation is no deadline lapse
    client.force_login(world.supervisor)
    trend = client.get(reverse("desk:reports"), PERIOD).context["trend"].columns
    assert len(trend) == 30
    by_day = {c.day.isoformat(): (c.breaches, c.downgrades) for c in trend}
    assert by_day["2026-06-10"] == (1, 0)
    assert by_day["2026-06-12"] == (1, 1)
    assert by_day["2026-06-13"] == (0, 0)
    weekly = (
        client.get(reverse("desk:reports"), {**PERIOD, "granularity": "week"})
        .context["trend"]
        .columns
    )
    assert weekly[0].day.isoformat() == "2026-06-01"  # weeks start on Monday
    assert {c.day.isoformat(): c.breaches for c in weekly}["2026-06-08"] == 2


def test_satisfaction_averages_and_comments(world: World, client: Client) -> None:
    for score, comment in ((5, "Quick and kind"), (2, ""), (4, "Fine")):
        ticket = world.file(now=T0)
        Ticket.objects.filter(pk=ticket.pk).update(status=Status.RESOLVED)
        Rating.objects.create(ticket=ticket, score=score, comment=comment, created_at=T0)
    client.force_login(world.supervisor)
    response = client.get(reverse("desk:reports"), PERIOD)
    result = response.context["satisfaction"]
    assert result.count == 3
    assert result.average == pytest.approx(11 / 3)
    assert dict(result.distribution) == {5: 1, 4: 1, 3: 0, 2: 1, 1: 0}
    assert [r.comment for r in result.comments] == ["Quick and kind", "Fine"] or [
        r.comment for r in result.comments
    ] == ["Fine", "Quick and kind"]
    assert "Quick and kind" in response.content.decode()


def test_csv_exports(world: World, client: Client) -> None:
    _answered(world, late=False)
    _answered(world, world.admin_b, late=True)
    client.force_login(world.supervisor)
    response = client.get(reverse("desk:reports_csv", kwargs={"report": "organization"}), PERIOD)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "organization-2026-06-01-2026-06-30.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "organization",
        "filed",
        "met",
        "missed",
        "missed_answered_late",
        "missed_unanswered_overdue",
        "pending",
        "no_response_needed",
        "not_measured",
        "percent_met",
    ]
    assert ["Bravo Inc", "1", "0", "1", "1", "0", "0", "0", "0", "0.0"] in rows
    assert ["Alpha Corp", "1", "1", "0", "0", "0", "0", "0", "0", "100.0"] in rows
    for report in (
        "severity",
        "original_severity",
        "category",
        "agents",
        "resolution",
        "backlog",
        "trend",
        "satisfaction",
        "deflection",
    ):
        response = client.get(reverse("desk:reports_csv", kwargs={"report": report}), PERIOD)
        assert response.status_code == 200, report
        assert len(list(csv.reader(io.StringIO(response.content.decode())))) > 1
    assert client.get(reverse("desk:reports_csv", kwargs={"report": "nope"})).status_code == 404


def test_csv_cells_cannot_be_formulas(world: World, client: Client) -> None:
    world.org_b.name = "=HYPERLINK(1)"
    world.org_b.save()
    _answered(world, world.admin_b, late=False)
    client.force_login(world.supervisor)
    response = client.get(reverse("desk:reports_csv", kwargs={"report": "organization"}), PERIOD)
    assert "'=HYPERLINK(1)" in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"start": "2026-06-30", "end": "2026-06-01", "granularity": "day"},
        {"start": "2024-01-01", "end": "2026-06-01", "granularity": "day"},
        {"start": "yesterday", "end": "2026-06-01", "granularity": "day"},
        {"start": "2026-06-01", "end": "2026-06-30", "granularity": "hour"},
        {"start": "9999-12-30", "end": "9999-12-31", "granularity": "week"},
        {"start": "0001-01-01", "end": "0001-01-02", "granularity": "week"},
    ],
)
def test_a_bad_period_is_a_form_error(world: World, client: Client, query: dict) -> None:
    client.force_login(world.supervisor)
    response = client.get(reverse("desk:reports"), query)
    assert response.status_code == 400
    assert response.context["form"].errors
    csv_response = client.get(reverse("desk:reports_csv", kwargs={"report": "trend"}), query)
    assert csv_response.status_code == 400


@pytest.mark.parametrize("tickets", [2, 12])
def test_report_queries_are_constant(
    world: World, client: Client, django_assert_max_num_queries: object, tickets: int
) -> None:
    for i in range(tickets):
        ticket = _answered(world, world.admin_a if i % 2 else world.admin_b, late=bool(i % 3))
        _step(ticket, EventKind.ESCALATED, 1, i % 5)
        Ticket.objects.filter(pk=ticket.pk).update(status=Status.RESOLVED)
        Rating.objects.create(ticket=ticket, score=1 + i % 5, comment=f"c{i}", created_at=T0)
    client.force_login(world.supervisor)
    # Session, user, navigation, heartbeat, unread notices (the bell), compliance and its
    # names, resolution times and their names, backlog (counts and the oldest), first
    # responses per agent, trend, ratings, comments, and the help centre's two deflection
    # aggregates.
    with django_assert_max_num_queries(17):  # type: ignore[operator]
        response = client.get(reverse("desk:reports"), PERIOD)
    assert response.status_code == 200
    assert response.context["compliance"].overall.total == tickets


def test_deflection_comes_from_the_help_centre(world: World, client: Client) -> None:
    from helpcenter.models import HelpSearch

    for index in range(4):
        HelpSearch.objects.create(
            organization=world.org_a,
            user=world.admin_a.user,
            query=f"mail {index}",
            language="en",
            result_count=index,
            searched_at=T0,
        )
    client.force_login(world.supervisor)
    response = client.get(reverse("desk:reports"), PERIOD)
    stats = response.context["deflection"]
    assert (stats.searches, stats.searches_without_results) == (4, 1)
    body = response.content.decode()
    assert "Self-help deflection" in body
    assert "100 %" in body  # no search was followed by a request

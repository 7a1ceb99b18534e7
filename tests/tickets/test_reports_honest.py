"""Honest reports (issue 15): compliance by the severity a request was filed with and by
its severity now, unanswered requests past their deadline counted as missed, resolution
time, backlog age, per agent, per organization, and each customer organization's own
service report on the portal."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from time_machine import TimeMachineFixture

from tenants.models import Membership, Organization
from tests.conftest import T0, World
from tests.factories import AgentFactory
from tickets import selectors, services
from tickets.actors import Actor
from tickets.models import Status, Ticket

pytestmark = pytest.mark.django_db

UTC_ZONE = ZoneInfo("UTC")
JUNE = selectors.Period(date(2026, 6, 1), date(2026, 6, 30), UTC_ZONE)
PERIOD = {"start": "2026-06-01", "end": "2026-06-30", "granularity": "day"}
NOW = T0 + timedelta(days=2)  # Friday 2026-06-12 10:00 UTC
H = timedelta(hours=1)
M = timedelta(minutes=1)


def _set(ticket: Ticket, **fields: object) -> Ticket:
    """Put a ticket's stored times where a case needs them (the services set them from
    the SLA targets; these cases are about how the reports read them)."""
    Ticket.objects.filter(pk=ticket.pk).update(**fields)
    ticket.refresh_from_db()
    return ticket


def _reply(world: World, ticket: Ticket, at: datetime, agent: object = None) -> Ticket:
    services.ticket_agent_reply(
        ticket=ticket, actor=Actor.for_user(agent or world.agent), body="Looking", now=at
    )
    ticket.refresh_from_db()
    return ticket


def _filed(
    world: World, membership: Membership | None = None, *, at: datetime = T0, **fields: object
) -> Ticket:
    ticket = world.file(membership, now=at)
    return _set(ticket, **fields) if fields else ticket


# --- First-response compliance --------------------------------------------------------------


def test_a_lowered_a_that_met_its_hour_is_a_met_a_and_a_met_c(world: World) -> None:
    ticket = _filed(world, severity="A", original_severity="A", response_due_at=T0 + H)
    _reply(world, ticket, T0 + 30 * M)
    services.ticket_change_severity(
        ticket=ticket,
        actor=Actor.for_user(world.agent),
        severity="C",
        reason="A workaround holds",
        now=T0 + 2 * H,
    )
    ticket.refresh_from_db()
    assert (ticket.original_severity, ticket.severity) == ("A", "C")
    compliance = selectors.sla_compliance(JUNE, now=NOW)
    original = {row.key: row for row in compliance.by_original_severity}
    current = {row.key: row for row in compliance.by_severity}
    assert (original["A"].met, original["A"].total) == (1, 1)
    assert original["C"].total == 0
    assert (current["C"].met, current["C"].total) == (1, 1)
    assert current["A"].total == 0
    assert compliance.overall.met == 1


def test_a_lowered_a_answered_late_is_a_missed_a(world: World) -> None:
    ticket = _filed(world, severity="A", original_severity="A", response_due_at=T0 + H)
    _reply(world, ticket, T0 + 3 * H)
    _set(ticket, severity="C")  # lowered afterwards (a downgrade by the sweep alike)
    compliance = selectors.sla_compliance(JUNE, now=NOW)
    original = {row.key: row for row in compliance.by_original_severity}
    current = {row.key: row for row in compliance.by_severity}
    assert (original["A"].met, original["A"].late, original["A"].percent) == (0, 1, 0.0)
    assert (current["C"].met, current["C"].missed) == (0, 1)


def test_unanswered_requests_past_their_deadline_are_missed_and_others_pending(
    world: World,
) -> None:
    overdue = _filed(world, response_due_at=NOW - M)
    _filed(world, response_due_at=NOW + H)  # still inside its deadline
    no_response = world.file(now=T0)
    services.ticket_resolve(
        ticket=no_response, actor=Actor.for_user(world.agent), reason="duplicate", now=T0 + H
    )
    answered = _reply(world, world.file(now=T0), T0 + 5 * M)
    assert answered.first_response_at <= answered.first_response_due_at
    overall = selectors.sla_compliance(JUNE, now=NOW).overall
    assert (overall.met, overall.late, overall.overdue) == (1, 0, 1)
    assert (overall.missed, overall.pending, overall.not_needed) == (1, 1, 1)
    assert (overall.total, overall.filed) == (2, 4)
    assert overall.percent == 50.0
    # Two minutes earlier the overdue request was still pending: nothing was missed yet.
    earlier = selectors.sla_compliance(JUNE, now=NOW - 2 * M).overall
    assert (earlier.missed, earlier.pending, earlier.percent) == (0, 2, 100.0)
    # The moment its deadline passes, it counts (as the queue's "breached" does).
    at_deadline = selectors.sla_compliance(JUNE, now=overdue.response_due_at).overall
    assert at_deadline.overdue == 1


def test_a_request_waiting_on_the_customer_was_answered(world: World) -> None:
    ticket = world.file(now=T0)
    services.ticket_request_information(
        ticket=ticket, actor=Actor.for_user(world.agent), body="Which mailbox?", now=T0 + M
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.AWAITING_CUSTOMER
    overall = selectors.sla_compliance(JUNE, now=NOW).overall
    assert (overall.met, overall.missed, overall.pending) == (1, 0, 0)


def test_compliance_counts_requests_filed_in_the_period(world: World) -> None:
    may = _filed(world, at=T0 - timedelta(days=30))
    _reply(world, may, T0)  # answered in June, filed in May: May's request
    june = world.file(now=T0)
    _reply(world, june, T0 + M)
    overall = selectors.sla_compliance(JUNE, now=NOW).overall
    assert overall.filed == 1


def test_compliance_by_category_organization_and_agent(world: World) -> None:
    second = AgentFactory(email="second@provider.test", full_name="Zed Second")
    supervisor = Actor.for_user(world.supervisor)
    mine = _reply(world, world.file(now=T0), T0 + M)
    services.ticket_assign(ticket=mine, actor=supervisor, assignee=world.agent, now=T0 + 2 * M)
    theirs = _filed(world, world.admin_b, response_due_at=NOW - H)
    services.ticket_assign(ticket=theirs, actor=supervisor, assignee=second, now=T0 + M)
    _filed(world, category="billing", response_due_at=NOW + H)  # unassigned, pending
    compliance = selectors.sla_compliance(JUNE, now=NOW)
    agents = [(row.label, row.met, row.missed, row.pending) for row in compliance.by_agent]
    assert agents == [
        (world.agent.get_full_name(), 1, 0, 0),
        ("Zed Second", 0, 1, 0),
        ("Unassigned", 0, 0, 1),
    ]
    organizations = [(row.label, row.percent) for row in compliance.by_organization]
    assert organizations == [("Bravo Inc", 0.0), ("Alpha Corp", 100.0)]
    categories = {row.key: (row.total, row.pending) for row in compliance.by_category}
    assert categories["technical"] == (2, 0)
    assert categories["billing"] == (0, 1)


# --- Resolution time, backlog, agents --------------------------------------------------------


def test_resolution_time_median_and_90th_percentile(world: World) -> None:
    for hours, severity in ((2, "A"), (4, "B"), (10, "B"), (6, "B")):
        _filed(
            world,
            at=T0,
            original_severity=severity,
            status=Status.RESOLVED,
            resolved_at=T0 + hours * H,
        )
    # Resolved in July: not this period's.
    _filed(world, at=T0, status=Status.CLOSED, resolved_at=datetime(2026, 7, 1, 1, tzinfo=UTC))
    # Bravo's request, resolved in June after three days: wall time, weekend included.
    _filed(world, world.admin_b, at=T0, status=Status.RESOLVED, resolved_at=T0 + 72 * H)
    result = selectors.resolution_times(JUNE)
    assert result.overall.count == 5
    assert result.overall.median == pytest.approx(6.0)
    by_severity = {row.key: row for row in result.by_original_severity}
    assert (by_severity["A"].count, by_severity["A"].median) == (1, 2.0)
    b = by_severity["B"]  # 4, 6, 10 (and Bravo's 72 h request, filed as B too)
    assert b.count == 4
    assert b.median == pytest.approx(8.0)
    assert b.p90 == pytest.approx(10 + (72 - 10) * 0.7)
    assert b.median_time == timedelta(hours=8)
    assert by_severity["C"].median is None
    by_org = {row.label: row for row in result.by_organization}
    assert by_org["Alpha Corp"].median == pytest.approx(5.0)
    assert by_org["Bravo Inc"].median == pytest.approx(72.0)
    assert [row.label for row in result.by_agent] == ["Unassigned"]


def test_percentile_interpolates_like_postgresql() -> None:
    assert selectors.percentile([], 0.5) is None
    assert selectors.percentile([3.0], 0.9) == 3.0
    assert selectors.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == pytest.approx(2.5)
    assert selectors.percentile([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 0.9) == (
        pytest.approx(9.1)
    )


def test_backlog_buckets_by_age_and_severity(world: World) -> None:
    ages = {
        "fresh": timedelta(hours=23),
        "one_day": timedelta(days=1),  # exactly a day old: the second bucket
        "two_days": timedelta(days=2),
        "five_days": timedelta(days=5),
        "ten_days": timedelta(days=10),
        "forty_days": timedelta(days=40),
    }
    tickets = {name: _filed(world, at=NOW - age, title=name) for name, age in ages.items()}
    _set(tickets["five_days"], severity="A")
    _set(tickets["ten_days"], status=Status.AWAITING_CUSTOMER)  # waiting: still open
    _filed(world, at=NOW - timedelta(days=50), status=Status.RESOLVED)  # not open
    result = selectors.backlog(now=NOW)
    assert [key for key, _label in result.buckets] == [
        "under_1d",
        "1d_3d",
        "3d_7d",
        "7d_30d",
        "over_30d",
    ]
    assert result.overall.counts == [1, 2, 1, 1, 1]
    assert result.overall.total == 6
    by_severity = {row.key: row.counts for row in result.by_severity}
    assert by_severity["A"] == [0, 0, 1, 0, 0]
    assert by_severity["B"] == [1, 2, 0, 1, 1]
    assert by_severity["C"] == [0, 0, 0, 0, 0]
    assert result.oldest is not None
    assert result.oldest.title == "forty_days"


def test_backlog_of_an_empty_desk(world: World) -> None:
    result = selectors.backlog(now=NOW)
    assert result.overall.total == 0
    assert result.oldest is None


def test_per_agent_assigned_written_and_resolved(world: World) -> None:
    second = AgentFactory(email="second@provider.test", full_name="Zed Second")
    supervisor = Actor.for_user(world.supervisor)
    # Assigned to the second agent, but the first answered it (a colleague covering).
    covered = world.file(now=T0)
    services.ticket_assign(ticket=covered, actor=supervisor, assignee=second, now=T0 + M)
    _reply(world, covered, T0 + 2 * M, agent=world.agent)
    _reply(world, covered, T0 + 3 * M, agent=second)  # not a first response
    # The second agent answers one of their own late, and it is resolved in 10 hours.
    late = world.file(now=T0)
    services.ticket_assign(ticket=late, actor=supervisor, assignee=second, now=T0 + M)
    _reply(world, late, late.response_due_at + M, agent=second)
    services.ticket_resolve(
        ticket=late, actor=Actor.for_user(second), reason="fixed", now=T0 + 10 * H
    )
    compliance = selectors.sla_compliance(JUNE, now=NOW)
    resolution = selectors.resolution_times(JUNE)
    responses = selectors.first_responses_by_agent(JUNE)
    rows = {row.label: row for row in selectors.agent_rows(compliance, resolution, responses)}
    first = rows[world.agent.get_full_name()]
    assert (first.assigned, first.first_responses, first.first_responses_met) == (0, 1, 1)
    assert first.resolution is None
    zed = rows["Zed Second"]
    assert (zed.assigned, zed.compliance.met, zed.compliance.missed) == (2, 1, 1)
    assert (zed.first_responses, zed.first_responses_met) == (1, 0)
    assert zed.resolution is not None
    assert (zed.resolution.count, zed.resolution.median) == (1, pytest.approx(10.0))
    # First responses outside the period are not this period's.
    july = selectors.Period(date(2026, 7, 1), date(2026, 7, 31), UTC_ZONE)
    assert selectors.first_responses_by_agent(july) == {}


def test_per_organization_rows_join_compliance_and_resolution(world: World) -> None:
    _reply(world, world.file(now=T0), T0 + M)
    # Filed in May, resolved in June: in the resolution figures only.
    _filed(world, world.admin_b, at=T0 - timedelta(days=30), status=Status.RESOLVED,
           resolved_at=T0)  # fmt: skip
    compliance = selectors.sla_compliance(JUNE, now=NOW)
    rows = selectors.organization_rows(compliance, selectors.resolution_times(JUNE))
    assert [(row.label, row.compliance.filed) for row in rows] == [
        ("Alpha Corp", 1),
        ("Bravo Inc", 0),
    ]
    bravo = rows[1]
    assert bravo.resolution is not None
    assert bravo.resolution.median == pytest.approx(30 * 24.0)


# --- A customer organization's own report ----------------------------------------------------

NEW_YORK = ZoneInfo("America/New_York")


def _ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)  # type: ignore[misc]


def test_organization_report_reads_months_in_the_organizations_zone(world: World) -> None:
    bravo = world.admin_b
    now = _ny(2026, 7, 15, 12, 0)
    # Late on 30 June in New York is already 1 July in UTC: still June for Bravo.
    last_evening = _filed(world, bravo, at=_ny(2026, 6, 30, 23, 30), response_due_at=now - H)
    _reply(world, _filed(world, bravo, at=_ny(2026, 6, 1, 0, 30)), _ny(2026, 6, 1, 2, 30))
    _filed(world, bravo, at=_ny(2026, 5, 31, 23, 30))  # May
    july = _filed(world, bravo, at=_ny(2026, 7, 1, 0, 30), response_due_at=now + H)
    # Alpha's requests never appear in Bravo's report.
    _filed(world, at=_ny(2026, 6, 15, 12, 0), response_due_at=now - H)
    assert last_evening.created_at.astimezone(UTC).month == 7

    june = selectors.organization_report(world.org_b, month_start=date(2026, 6, 1), now=now)
    assert june.start_at == _ny(2026, 6, 1, 0, 0)
    assert june.end_at == _ny(2026, 7, 1, 0, 0)
    assert june.overall.filed == 2
    assert (june.overall.compliance.met, june.overall.compliance.overdue) == (1, 1)
    assert june.overall.first_response.median == pytest.approx(2.0)
    assert june.overall.compliance.percent == 50.0

    this_month = selectors.organization_report(world.org_b, month_start=date(2026, 7, 1), now=now)
    assert this_month.overall.filed == 1
    assert this_month.overall.compliance.pending == 1
    assert this_month.overall.compliance.percent is None
    assert july.original_severity in {row.key for row in this_month.by_original_severity}

    # Resolved in June (New York) after filing in May: June's resolution, May's filing.
    may = Ticket.objects.get(organization=world.org_b, created_at=_ny(2026, 5, 31, 23, 30))
    _set(may, status=Status.RESOLVED, resolved_at=_ny(2026, 6, 1, 5, 30))
    june = selectors.organization_report(world.org_b, month_start=date(2026, 6, 1), now=now)
    assert (june.overall.filed, june.overall.resolved) == (2, 1)
    assert june.overall.resolution.median == pytest.approx(6.0)
    by_severity = {row.key: row for row in june.by_original_severity}
    assert by_severity[may.original_severity].resolved == 1


def test_months_across_a_daylight_saving_change() -> None:
    start, end = selectors.month_bounds(date(2026, 3, 17), NEW_YORK)
    assert (start, end) == (_ny(2026, 3, 1, 0, 0), _ny(2026, 4, 1, 0, 0))
    # Clocks went forward on 8 March: the month is an hour short.
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(days=31) - H
    assert selectors.previous_month(date(2026, 1, 1)) == date(2025, 12, 1)
    assert selectors.previous_month(date(2026, 3, 31)) == date(2026, 2, 1)


# --- The desk page and its CSV ---------------------------------------------------------------


def _desk_data(world: World, agents: int) -> None:
    supervisor = Actor.for_user(world.supervisor)
    for index in range(agents):
        agent = AgentFactory(email=f"agent{index}@provider.test", full_name=f"Agent {index}")
        membership = world.admin_a if index % 2 else world.admin_b
        ticket = world.file(membership, now=T0)
        services.ticket_assign(ticket=ticket, actor=supervisor, assignee=agent, now=T0 + M)
        if index % 3:
            _reply(world, ticket, T0 + index * M, agent=agent)
        if index % 4 == 1:
            services.ticket_resolve(
                ticket=ticket, actor=Actor.for_user(agent), reason="", now=T0 + index * H
            )


def test_the_desk_page_shows_the_honest_figures(
    world: World, client: Client, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(NOW, tick=False)
    lowered = _filed(world, severity="A", original_severity="A", response_due_at=T0 + H)
    _reply(world, lowered, T0 + 30 * M)
    _set(lowered, severity="C")
    _filed(world, world.admin_b, at=T0 - H, response_due_at=NOW - H, title="Overdue <b>request</b>")
    client.force_login(world.supervisor)
    response = client.get(reverse("desk:reports"), PERIOD)
    assert response.status_code == 200
    body = response.content.decode()
    for table in ("compliance-by-severity", "resolution-by-severity", "backlog-by-age"):
        assert f'id="{table}"' in body
    assert 'id="agents"' in body
    assert 'id="organizations"' in body
    assert "still unanswered past their deadline" in body
    assert "Overdue &lt;b&gt;request&lt;/b&gt;" in body  # the oldest open request, escaped
    pairs = response.context["severity_pairs"]
    assert [(o.key, o.met, c.key, c.met) for o, c in pairs] == [
        ("A", 1, "A", 0),
        ("B", 0, "B", 0),
        ("C", 0, "C", 1),
    ]
    assert response.context["compliance"].overall.overdue == 1
    for report in ("original_severity", "agents", "resolution", "backlog"):
        assert reverse("desk:reports_csv", kwargs={"report": report}) + "?" in body, report


def _csv(client: Client, report: str) -> list[list[str]]:
    response = client.get(reverse("desk:reports_csv", kwargs={"report": report}), PERIOD)
    assert response.status_code == 200, report
    assert response["Content-Type"].startswith("text/csv")
    assert f"{report}-2026-06-01-2026-06-30.csv" in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_csv_reports_of_the_new_tables(
    world: World, client: Client, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(NOW, tick=False)
    second = AgentFactory(email="second@provider.test", full_name="=Zed Second")
    lowered = _filed(world, severity="A", original_severity="A", response_due_at=T0 + H)
    services.ticket_assign(
        ticket=lowered, actor=Actor.for_user(world.supervisor), assignee=second, now=T0 + M
    )
    _reply(world, lowered, T0 + 30 * M, agent=second)
    _set(lowered, severity="C")
    services.ticket_resolve(ticket=lowered, actor=Actor.for_user(second), reason="", now=T0 + 4 * H)
    _filed(world, world.admin_b, response_due_at=NOW - H)  # overdue, unanswered
    client.force_login(world.supervisor)

    original = _csv(client, "original_severity")
    assert original[0][:4] == ["original_severity", "filed", "met", "missed"]
    assert original[1][:3] == ["A – critical", "1", "1"]
    current = {row[0]: row for row in _csv(client, "severity")}
    assert current["C – non-critical"][2] == "1"

    agents = {row[0]: row for row in _csv(client, "agents")}
    zed = agents["'=Zed Second"]  # never a formula
    header = _csv(client, "agents")[0]
    assert zed[header.index("assigned_met")] == "1"
    assert zed[header.index("first_responses_written")] == "1"
    assert zed[header.index("resolved")] == "1"
    assert zed[header.index("median_resolution_hours")] == "4.0"
    unassigned = agents["Unassigned"]
    assert unassigned[header.index("assigned_missed_unanswered_overdue")] == "1"

    resolution = _csv(client, "resolution")
    assert resolution[0] == ["group", "name", "resolved", "median_hours", "p90_hours"]
    assert ["all", "All requests", "1", "4.0", "4.0"] in resolution
    assert ["original_severity", "A – critical", "1", "4.0", "4.0"] in resolution

    backlog = _csv(client, "backlog")
    assert backlog[0] == ["severity", "under_1d", "1d_3d", "3d_7d", "7d_30d", "over_30d", "total"]
    assert backlog[-1][0] == "all"
    assert backlog[-1][-1] == "1"  # the overdue request is the one open


@pytest.mark.parametrize("agents", [2, 12])
def test_desk_report_queries_do_not_grow_with_agents(
    world: World,
    client: Client,
    time_machine: TimeMachineFixture,
    django_assert_max_num_queries: object,
    agents: int,
) -> None:
    time_machine.move_to(NOW, tick=False)
    _desk_data(world, agents)
    client.force_login(world.supervisor)
    # Session, user, the session's second factor, navigation, heartbeat, unread notices,
    # compliance and its names, resolution and its names, backlog (counts, oldest), first
    # responses per agent, trend, ratings, comments, and the help centre's two deflection
    # aggregates.
    with django_assert_max_num_queries(18):  # type: ignore[operator]
        response = client.get(reverse("desk:reports"), PERIOD)
    assert response.status_code == 200
    assert len(response.context["agents"]) == agents


def test_agents_get_404_for_the_new_csv_reports(world: World, client: Client) -> None:
    client.force_login(world.agent)
    for report in ("original_severity", "agents", "resolution", "backlog"):
        url = reverse("desk:reports_csv", kwargs={"report": report})
        assert client.get(url, PERIOD).status_code == 404


# --- The portal's service report -------------------------------------------------------------

JULY_NOW = datetime(2026, 7, 15, 10, 0, tzinfo=UTC)


def _report_url(organization: Organization) -> str:
    return reverse("portal:service_report", kwargs={"org": organization.slug})


def test_an_admin_sees_only_their_organizations_report(
    world: World, client: Client, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(JULY_NOW, tick=False)
    # Alpha (Warsaw): one request in June answered in time, one in July still unanswered
    # past its deadline.
    _reply(world, world.file(now=T0), T0 + 90 * M)
    _filed(world, at=JULY_NOW - 5 * H, response_due_at=JULY_NOW - H)
    # Bravo: three June requests, all answered late, with a title of its own.
    for _index in range(3):
        late = _filed(world, world.admin_b, at=T0, title="Bravo secret project")
        _reply(world, late, late.response_due_at + H)
    client.force_login(world.admin_a.user)
    response = client.get(_report_url(world.org_a))
    assert response.status_code == 200
    current, previous = response.context["current"], response.context["previous"]
    assert (current.month_start, previous.month_start) == (date(2026, 7, 1), date(2026, 6, 1))
    assert (current.overall.filed, current.overall.compliance.overdue) == (1, 1)
    assert (previous.overall.filed, previous.overall.compliance.met) == (1, 1)
    assert previous.overall.compliance.late == 0
    assert previous.overall.first_response.median == pytest.approx(1.5)
    body = response.content.decode()
    assert "Bravo" not in body
    assert "July 2026" in body
    assert "June 2026" in body
    assert "1 h 30 min" in body
    # The navigation links the report for admins.
    assert f'href="{_report_url(world.org_a)}"' in body

    client.force_login(world.admin_b.user)
    bravo = client.get(_report_url(world.org_b))
    assert bravo.context["previous"].overall.compliance.late == 3
    assert bravo.context["current"].overall.filed == 0


def test_another_organizations_report_is_404(world: World, client: Client) -> None:
    client.force_login(world.admin_a.user)
    assert client.get(_report_url(world.org_b)).status_code == 404
    client.force_login(world.agent)
    assert client.get(_report_url(world.org_a)).status_code == 404


def test_a_plain_member_is_sent_to_their_admin(world: World, client: Client) -> None:
    client.force_login(world.user_a.user)
    response = client.get(_report_url(world.org_a))
    assert "portal/ask_admin.html" in [t.name for t in response.templates]
    assert "current" not in response.context
    home = client.get(reverse("portal:home", kwargs={"org": world.org_a.slug}))
    assert f'href="{_report_url(world.org_a)}"' not in home.content.decode()


def test_the_report_needs_a_sign_in(world: World, client: Client) -> None:
    response = client.get(_report_url(world.org_a))
    assert response.status_code == 302
    assert "login" in response["Location"]


@pytest.mark.parametrize("tickets", [2, 12])
def test_portal_report_queries_are_constant(
    world: World,
    client: Client,
    time_machine: TimeMachineFixture,
    django_assert_max_num_queries: object,
    tickets: int,
) -> None:
    time_machine.move_to(JULY_NOW, tick=False)
    for index in range(tickets):
        ticket = world.file(now=T0 + index * H if index % 2 else JULY_NOW - index * H)
        if index % 3:
            _reply(world, ticket, ticket.created_at + 10 * M)
    client.force_login(world.admin_a.user)
    # Session, user, whether they have a second factor (mfa), membership, the
    # navigation's memberships, and one query per month.
    with django_assert_max_num_queries(7):  # type: ignore[operator]
        response = client.get(_report_url(world.org_a))
    assert response.status_code == 200
    assert (
        response.context["current"].overall.filed + response.context["previous"].overall.filed
        == tickets
    )

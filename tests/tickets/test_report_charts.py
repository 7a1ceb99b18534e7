"""The reports' charts: axes with ticks, x labels that never overlap, and every bar a
link whose queue filters list exactly the requests the bar counts."""

from __future__ import annotations

import itertools
import re
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import T0, World
from tickets import report_charts, selectors
from tickets.models import ActorKind, Event, EventKind, Status, Ticket

PERIOD = {"start": "2026-06-01", "end": "2026-06-30", "granularity": "day"}


def _queue_total(client: Client, href: str) -> int:
    parts = urlsplit(href)
    assert parts.path == reverse("desk:home")
    response = client.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 200
    assert not response.context["filter_form"].ignored  # every drill-down filter understood
    return int(response.context["page"].total)


def _step(ticket: Ticket, kind: EventKind, level: int, at: object) -> None:
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


@pytest.fixture
def requests_of_june(world: World) -> list[Ticket]:
    """Requests filed in June across organizations, categories and severities, one of
    them lowered since, one resolved and one closed; and two filed outside June."""
    filed = [
        world.file(now=T0),
        world.file(now=T0 + timedelta(days=3), title="Slow search"),
        world.file(now=T0, title="Invoice", category="billing"),
        world.file(world.admin_b, now=T0 + timedelta(days=19)),
        world.file(world.admin_b, now=T0, title="Which plan", category="presales"),
    ]
    Ticket.objects.filter(pk=filed[1].pk).update(severity="C")  # lowered after filing
    Ticket.objects.filter(pk=filed[2].pk).update(status=Status.RESOLVED)
    Ticket.objects.filter(pk=filed[4].pk).update(status=Status.CLOSED)
    world.file(now=T0 - timedelta(days=20))  # May
    world.file(now=T0 + timedelta(days=25))  # July
    return filed


@pytest.mark.django_db
def test_every_compliance_bar_links_to_exactly_the_requests_it_counts(
    world: World, client: Client, requests_of_june: list[Ticket]
) -> None:
    client.force_login(world.supervisor)
    context = client.get(reverse("desk:reports"), PERIOD).context
    compliance = context["compliance"]
    rows = {
        "original_severity": compliance.by_original_severity,
        "severity": compliance.by_severity,
        "category": compliance.by_category,
        "organization": compliance.by_organization,
    }
    checked = 0
    for key, _title, chart in context["charts"]:
        for row, bar in zip(rows[key], chart.bars, strict=True):
            assert _queue_total(client, bar.href) == row.filed, (key, row.label, bar.href)
            assert f"{row.filed} requests filed" in bar.title
            checked += bool(row.filed)
    assert checked >= 8
    # The groups really differ: filed as B, one of them is C now; closed ones count.
    by_original = {r.key: r.filed for r in compliance.by_original_severity}
    by_current = {r.key: r.filed for r in compliance.by_severity}
    assert by_original != by_current
    assert sum(by_original.values()) == 5


@pytest.mark.django_db
def test_the_bars_are_named_links_on_a_labelled_axis(
    world: World, client: Client, requests_of_june: list[Ticket]
) -> None:
    client.force_login(world.supervisor)
    body = client.get(reverse("desk:reports"), PERIOD).content.decode()
    chart = body.split('id="chart-category-title"', 1)[1].split("</svg>", 1)[0]
    links = re.findall(r'<a class="chart-link" href="([^"]+)" aria-label="([^"]+)">', chart)
    assert len(links) == 3  # every category, even an empty one
    assert all("status=all" in href and "filed_from=2026-06-01" in href for href, _ in links)
    assert all(label.strip() for _, label in links)
    assert chart.count("<title>") == 3
    # The x axis: 0 to 100 % in ticks, and its title.
    for tick in ("0 %", "25 %", "50 %", "75 %", "100 %"):
        assert f">{tick}</text>" in chart
    assert "First responses within target (%)" in chart


@pytest.mark.django_db
def test_every_trend_column_links_to_the_requests_breached_or_downgraded_that_day(
    world: World, client: Client
) -> None:
    zone = timezone.get_current_timezone()
    first, second, third = (world.file(now=T0, title=f"Request {n}") for n in range(3))
    noon = lambda day: timezone.make_aware(  # noqa: E731
        timezone.datetime(2026, 6, day, 12), zone
    )
    _step(first, EventKind.ESCALATED, 1, noon(10))
    _step(second, EventKind.ESCALATED, 1, noon(10))
    _step(second, EventKind.ESCALATED, 2, noon(10))  # a second level is no new breach
    _step(third, EventKind.ESCALATED, 1, noon(12))
    _step(third, EventKind.DOWNGRADED, 0, noon(12))
    Ticket.objects.filter(pk=first.pk).update(status=Status.CLOSED)  # closed ones count
    client.force_login(world.supervisor)

    for granularity in ("day", "week"):
        trend = client.get(reverse("desk:reports"), {**PERIOD, "granularity": granularity}).context[
            "trend"
        ]
        for column in trend.columns:
            assert _queue_total(client, column.breach_href) == column.breaches, column.day
            assert _queue_total(client, column.downgrade_href) == column.downgrades, column.day
        assert sum(c.breaches for c in trend.columns) == 3


@pytest.mark.django_db
def test_the_trend_has_a_y_axis_with_ticks(world: World, client: Client) -> None:
    client.force_login(world.supervisor)
    response = client.get(reverse("desk:reports"), PERIOD)
    trend = response.context["trend"]
    assert [t.label for t in trend.ticks] == ["0", "1"]  # nothing happened: 0 to 1
    body = response.content.decode()
    svg = body.split('class="chart chart-trend"', 1)[1].split("</svg>", 1)[0]
    assert 'class="chart-y-axis"' in svg
    assert ">Count</text>" in svg
    assert svg.count('text-anchor="end">0</text>') == 1


def test_nice_ticks_cover_the_peak_in_round_steps() -> None:
    assert report_charts.nice_ticks(0) == [0, 1]
    assert report_charts.nice_ticks(3) == [0, 1, 2, 3]
    assert report_charts.nice_ticks(7) == [0, 2, 4, 6, 8]
    assert report_charts.nice_ticks(23) == [0, 5, 10, 15, 20, 25]
    assert report_charts.nice_ticks(480) == [0, 100, 200, 300, 400, 500]
    for peak in range(0, 2000, 7):
        ticks = report_charts.nice_ticks(peak)
        assert ticks[-1] >= peak and len(ticks) <= 6


@pytest.mark.parametrize("days", [1, 7, 14, 30, 31, 60, 92, 183, 366])
def test_x_labels_never_overlap(days: int) -> None:
    """However many columns, the drawn labels are a label's width apart (flat) or a line
    apart (turned 45°)."""
    start = date(2026, 1, 1)
    period = selectors.Period(
        start, start + timedelta(days=days - 1), timezone.get_fixed_timezone(0)
    )
    points = [selectors.TrendPoint(start + timedelta(days=n), 0, 0) for n in range(days)]
    trend = report_charts.trend_chart(points, granularity="day", period=period)
    shown = [c.x for c in trend.columns if c.show_label]
    assert shown and trend.columns[0].show_label
    gaps = [b - a for a, b in itertools.pairwise(shown)]
    needed = report_charts.X_LABEL_ROTATED_GAP if trend.turned else report_charts.X_LABEL_WIDTH
    assert all(gap >= needed - 0.01 for gap in gaps), (days, trend.slot, gaps[:3])
    # Short labels ("1 Jan"): none wider than the flat label width allows.
    assert all(len(c.label) <= 6 for c in trend.columns)


@pytest.mark.django_db
def test_the_queue_form_keeps_the_drill_down_filters(
    world: World, client: Client, requests_of_june: list[Ticket]
) -> None:
    client.force_login(world.supervisor)
    query = "filed_from=2026-06-01&filed_to=2026-06-30&original_severity=B&status=all"
    response = client.get(f"{reverse('desk:home')}?{query}")
    body = response.content.decode()
    # Not drawn as fields, carried by the form when the agent narrows further.
    for name, value in (
        ("filed_from", "2026-06-01"),
        ("filed_to", "2026-06-30"),
        ("original_severity", "B"),
    ):
        assert f'<input type="hidden" name="{name}" value="{value}">' in body
    # Closed and resolved requests are in, as the reports count them.
    june = Ticket.objects.filter(
        original_severity="B",
        created_at__gte=T0 - timedelta(days=9),
        created_at__lt=T0 + timedelta(days=21),
    )
    assert response.context["page"].total == june.count()
    without_all = client.get(f"{reverse('desk:home')}?{query.replace('&status=all', '')}")
    assert without_all.context["page"].total == june.filter(status__in=Status.active()).count()
    assert june.count() > june.filter(status__in=Status.active()).count() > 0

"""Incident updates, and the deflection record: searches, impressions, opens, requests."""

from __future__ import annotations

from datetime import timedelta

import pytest

from helpcenter.models import (
    Article,
    ArticleImpression,
    HelpSearch,
    IncidentStatus,
    SearchSource,
)
from helpcenter.selectors import current_incidents, deflection_series, deflection_stats
from helpcenter.services import (
    EMPTY_UPDATE,
    UNKNOWN_STATUS,
    IncidentError,
    incident_post_update,
    mark_article_opened,
    mark_request_filed,
    record_search,
)
from tests.conftest import T0, World
from tests.helpcenter.conftest import make_incident

pytestmark = pytest.mark.django_db
S = timedelta(seconds=1)


# --- Incidents ----------------------------------------------------------------------------


def test_posting_an_update_moves_the_incident(db: None) -> None:
    incident = make_incident("Mail delays")
    assert incident.status == IncidentStatus.INVESTIGATING
    assert list(current_incidents()) == [incident]

    incident_post_update(
        incident=incident, author=None, status="resolved", body="Fixed.", now=T0 + 60 * S
    )
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RESOLVED
    assert incident.resolved_at == T0 + 60 * S
    assert incident.updated_at == T0 + 60 * S
    assert list(current_incidents()) == []

    # The problem came back: the incident is current again.
    incident_post_update(
        incident=incident, author=None, status="investigating", body="Again.", now=T0 + 120 * S
    )
    incident.refresh_from_db()
    assert incident.resolved_at is None
    assert list(current_incidents()) == [incident]
    assert [u.body for u in incident.updates.all()] == ["Again.", "Fixed.", "Mail delays: update."]


def test_an_update_needs_text_and_a_known_status(db: None) -> None:
    incident = make_incident("Mail delays")
    with pytest.raises(IncidentError, match=str(EMPTY_UPDATE)):
        incident_post_update(incident=incident, author=None, status="resolved", body=" ", now=T0)
    with pytest.raises(IncidentError, match=str(UNKNOWN_STATUS)):
        incident_post_update(incident=incident, author=None, status="fixed", body="x", now=T0)
    assert incident.updates.count() == 1


def test_current_incidents_most_severe_first_and_per_service(db: None) -> None:
    advisory = make_incident("Slow search", service="sharepoint-online", impact="advisory")
    outage = make_incident("Teams down", service="teams", impact="outage")
    degraded = make_incident("Mail delays", impact="degraded")
    make_incident("Old one", status="resolved")
    assert list(current_incidents()) == [outage, degraded, advisory]
    assert list(current_incidents(service=outage.service)) == [outage]
    assert list(current_incidents(service=outage.service_id)) == [outage]


# --- Deflection ---------------------------------------------------------------------------


def _search(world: World, query: str, shown: list[Article], at: object, **kw: object) -> HelpSearch:
    search = record_search(
        organization=world.org_a,
        user=world.admin_a.user,
        query=query,
        language="en",
        articles=shown,
        now=at,  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )
    assert search is not None
    return search


def test_keystrokes_of_one_question_are_one_search(
    world: World, articles: dict[str, Article]
) -> None:
    shared, forwarding = articles["shared"], articles["forwarding"]
    first = _search(world, "sha", [shared, forwarding], T0)
    second = _search(world, "shared mail", [shared], T0 + 2 * S)
    assert second.pk == first.pk
    second.refresh_from_db()
    assert second.query == "shared mail"
    assert second.result_count == 1
    # Both articles were shown during that question, each once.
    assert ArticleImpression.objects.filter(search=first).count() == 2

    # A different question, or the same one much later, is a new search.
    other = _search(world, "password", [articles["password"]], T0 + 4 * S)
    assert other.pk != first.pk
    later = _search(world, "password expiry", [], T0 + timedelta(hours=1))
    assert later.pk != other.pk
    assert HelpSearch.objects.count() == 3


def test_blank_queries_are_not_recorded(world: World) -> None:
    assert (
        record_search(
            organization=world.org_a,
            user=world.admin_a.user,
            query="   ",
            language="en",
            articles=[],
            now=T0,
        )
        is None
    )
    assert not HelpSearch.objects.exists()


def test_opening_counts_only_for_the_users_own_search(
    world: World, articles: dict[str, Article]
) -> None:
    shared = articles["shared"]
    search = _search(world, "shared", [shared], T0)
    # Another member, another tenant, or an article that was not shown: ignored.
    for organization, user, article in (
        (world.org_a, world.user_a.user, shared),
        (world.org_b, world.admin_b.user, shared),
        (world.org_a, world.admin_a.user, articles["password"]),
    ):
        assert not mark_article_opened(
            organization=organization, user=user, search_id=search.pk, article=article, now=T0
        )
    assert mark_article_opened(
        organization=world.org_a,
        user=world.admin_a.user,
        search_id=search.pk,
        article=shared,
        now=T0 + S,
    )
    impression = ArticleImpression.objects.get(search=search, article=shared)
    assert impression.clicked and impression.opened_at == T0 + S


def test_request_filed_marks_that_users_recent_searches(
    world: World, articles: dict[str, Article]
) -> None:
    old = _search(world, "ancient", [], T0 - timedelta(days=2))
    recent = _search(world, "shared mailbox", [articles["shared"]], T0 - timedelta(hours=1))
    theirs = record_search(
        organization=world.org_a,
        user=world.user_a.user,
        query="shared",
        language="en",
        articles=[],
        now=T0 - timedelta(hours=1),
    )
    # Filing marks the filer's recent searches in its own transaction (tickets.intake),
    # whichever channel files; marking again finds nothing left.
    ticket = world.file(now=T0)
    marked = mark_request_filed(
        organization=world.org_a, user=world.admin_a.user, ticket=ticket, now=T0
    )
    assert marked == 0
    recent.refresh_from_db()
    old.refresh_from_db()
    assert theirs is not None
    theirs.refresh_from_db()
    assert recent.request == ticket
    assert old.request is None
    assert theirs.request is None
    # A search after a request starts a new question, even with the same words.
    again = _search(world, "shared mailbox", [], T0 + S)
    assert again.pk != recent.pk


def test_deflection_stats(world: World, articles: dict[str, Article]) -> None:
    shared, forwarding = articles["shared"], articles["forwarding"]
    solved = _search(world, "shared mailbox", [shared, forwarding], T0)
    mark_article_opened(
        organization=world.org_a,
        user=world.admin_a.user,
        search_id=solved.pk,
        article=shared,
        now=T0,
    )
    _search(world, "zebra", [], T0 + timedelta(hours=1))
    unsolved = _search(world, "password", [articles["password"]], T0 + timedelta(hours=2))
    # Filed before the searches (so filing marks none of them), then marked by hand with a
    # narrower window than filing uses.
    ticket = world.file(now=T0 - timedelta(days=2))
    # Only the last 24 h… all three searches are within it; mark them all.
    assert (
        mark_request_filed(
            organization=world.org_a,
            user=world.admin_a.user,
            ticket=ticket,
            now=T0 + timedelta(hours=3),
            window=timedelta(hours=1, minutes=30),
        )
        == 1
    )
    record_search(
        organization=world.org_b,
        user=world.admin_b.user,
        query="other tenant",
        language="en",
        articles=[shared],
        source=SearchSource.REQUEST_FORM,
        now=T0,
    )

    stats = deflection_stats(start=T0, end=T0 + timedelta(days=1))
    assert (stats.searches, stats.searches_without_results) == (4, 1)
    assert (stats.articles_shown, stats.article_opens) == (4, 1)
    assert stats.searches_followed_by_request == 1
    assert stats.requests_after_self_help == 1
    assert stats.deflection_rate == pytest.approx(3 / 4)
    assert stats.open_rate == pytest.approx(1 / 4)

    alpha = deflection_stats(start=T0, end=T0 + timedelta(days=1), organization=world.org_a)
    assert alpha.searches == 3
    assert unsolved.pk

    empty = deflection_stats(start=T0 - timedelta(days=9), end=T0 - timedelta(days=8))
    assert empty.searches == 0
    assert empty.deflection_rate is None

    series = deflection_series(start=T0, end=T0 + timedelta(hours=4), step=timedelta(hours=2))
    assert [period.searches for period in series] == [3, 1]
    assert series[-1].end == T0 + timedelta(hours=4)
    with pytest.raises(ValueError):
        deflection_series(start=T0, end=T0 + S, step=timedelta(0))

"""Reads of the help centre, for the portal, the request form and the desk's reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from helpcenter import search
from helpcenter.models import (
    Article,
    ArticleImpression,
    HelpSearch,
    Incident,
    Service,
    SupportLine,
)

if TYPE_CHECKING:
    from tenants.models import Organization

# The largest id a database integer column holds; larger ids in a URL are simply unknown.
MAX_ID = 2**63 - 1


def parse_id(value: object) -> int | None:
    """A positive database id from a query-string value, or None."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


# --- Service health (POL-SELF-1) ----------------------------------------------------------


def current_incidents(*, service: Service | int | None = None) -> QuerySet[Incident]:
    """Incidents not yet resolved, the most severe first; of one service if given."""
    incidents = Incident.objects.current().select_related("service").most_severe_first()
    if service is not None:
        incidents = incidents.filter(service=service)
    return incidents


def past_incidents(*, since: datetime) -> QuerySet[Incident]:
    """Incidents resolved since ``since``, the latest first."""
    return (
        Incident.objects.past()
        .filter(resolved_at__gte=since)
        .select_related("service")
        .order_by("-resolved_at", "-pk")
    )


def incident_or_404(incident_id: int) -> Incident:
    """Incidents concern every tenant alike; any member may read any of them."""
    if not 0 < incident_id <= MAX_ID:
        raise Http404
    incident = Incident.objects.select_related("service").filter(pk=incident_id).first()
    if incident is None:
        raise Http404
    return incident


@dataclass(frozen=True, slots=True)
class ServiceHealth:
    service: Service
    incidents: list[Incident]

    @property
    def worst(self) -> Incident | None:
        return max(self.incidents, key=lambda i: i.impact_rank, default=None)


def service_health() -> list[ServiceHealth]:
    """Every offered service with its current incidents (two queries)."""
    by_service: dict[int, list[Incident]] = {}
    for incident in current_incidents():
        by_service.setdefault(incident.service_id, []).append(incident)
    return [
        ServiceHealth(service, by_service.get(service.pk, []))
        for service in Service.objects.active()
    ]


# --- Articles (POL-SELF-2, POL-SELF-3) ----------------------------------------------------


def search_articles(query: str, *, language: str, limit: int = 8) -> list[Article]:
    """Published articles in ``language`` matching ``query``, best first.

    Full-text search on PostgreSQL (the language's configuration, ranked, title weighted
    over body); a substring match on other databases. Empty for a query with no words.
    """
    return search.search(Article.objects.published(), query, language=language, limit=limit)


def article_or_404(slug: str) -> Article:
    article = (
        Article.objects.published().filter(slug=slug[:120]).prefetch_related("services").first()
    )
    if article is None:
        raise Http404
    return article


def recent_articles(*, language: str, limit: int = 6) -> QuerySet[Article]:
    return Article.objects.published().filter(language=language).order_by("-updated_at")[:limit]


def related_articles(article: Article, *, limit: int = 4) -> QuerySet[Article]:
    """Other published articles in the same language about the same services."""
    return (
        Article.objects.published()
        .filter(language=article.language, services__in=article.services.all())
        .exclude(pk=article.pk)
        .distinct()
        .order_by("title")[:limit]
    )


# --- Phone lines (POL-PHONE-1) ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PhoneLines:
    country: str
    lines: list[SupportLine]
    is_fallback: bool  # the country has no line of its own: these are the default lines


def support_lines_for(country: str) -> PhoneLines:
    """The lines of ``country`` (an ISO code), or the default lines if it has none."""
    active = SupportLine.objects.filter(is_active=True).order_by("kind", "position", "pk")
    if country:
        own = list(active.filter(country=country))
        if own:
            return PhoneLines(country, own, is_fallback=False)
    return PhoneLines(country, list(active.filter(country="")), is_fallback=bool(country))


# --- Deflection figures, for the desk's reports -------------------------------------------


@dataclass(frozen=True, slots=True)
class DeflectionStats:
    """Self-help figures of one period ``[start, end)``."""

    start: datetime
    end: datetime
    searches: int  # questions typed (keystrokes of one question count once)
    searches_without_results: int
    articles_shown: int  # impressions: one article in the results of one search
    article_opens: int  # impressions the user opened
    searches_followed_by_request: int  # a request was filed within 24 h after the search
    requests_after_self_help: int  # distinct requests filed after some self-help

    @property
    def deflection_rate(self) -> float | None:
        """Share of searches not followed by a request (None without searches)."""
        if not self.searches:
            return None
        return (self.searches - self.searches_followed_by_request) / self.searches

    @property
    def open_rate(self) -> float | None:
        if not self.articles_shown:
            return None
        return self.article_opens / self.articles_shown


def deflection_stats(
    *, start: datetime, end: datetime, organization: Organization | None = None
) -> DeflectionStats:
    """Self-help figures for searches made in ``[start, end)``; of one tenant if given."""
    searches = HelpSearch.objects.filter(searched_at__gte=start, searched_at__lt=end)
    if organization is not None:
        searches = searches.filter(organization=organization)
    figures = searches.aggregate(
        searches=Count("*"),
        empty=Count("pk", filter=Q(result_count=0)),
        followed=Count("request"),
        requests=Count("request", distinct=True),
    )
    impressions = ArticleImpression.objects.filter(search__in=searches).aggregate(
        shown=Count("*"), opened=Count("opened_at")
    )
    return DeflectionStats(
        start=start,
        end=end,
        searches=figures["searches"],
        searches_without_results=figures["empty"],
        articles_shown=impressions["shown"],
        article_opens=impressions["opened"],
        searches_followed_by_request=figures["followed"],
        requests_after_self_help=figures["requests"],
    )


def deflection_series(
    *,
    start: datetime,
    end: datetime,
    step: timedelta = timedelta(days=1),
    organization: Organization | None = None,
) -> list[DeflectionStats]:
    """``deflection_stats`` for each consecutive period of ``step`` from start to end."""
    if step <= timedelta(0):
        raise ValueError("step must be positive")
    periods: list[DeflectionStats] = []
    cursor = start
    while cursor < end:
        upper = min(cursor + step, end)
        periods.append(deflection_stats(start=cursor, end=upper, organization=organization))
        cursor = upper
    return periods

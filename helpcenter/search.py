"""Article search: PostgreSQL full-text search, or a plain substring match elsewhere.

Queries are reduced to words (letters and digits) before they reach the database, so
nothing a user types can be read as tsquery syntax.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from helpcenter.models import Article

if TYPE_CHECKING:
    from django.db.models.expressions import CombinedExpression

# PostgreSQL text-search configuration per article language: English gets stemming and
# stop words; PostgreSQL ships no Polish dictionary, so Polish uses 'simple' (lower-cased
# words), and the prefix match on the last word covers most inflected endings.
SEARCH_CONFIG: dict[str, str] = {"en": "english", "pl": "simple"}

MAX_QUERY_LENGTH = 200
MAX_TERMS = 8
MAX_TERM_LENGTH = 40
MAX_LIMIT = 50

_WORD = re.compile(r"[^\W_]+")


def normalise_query(query: str) -> str:
    """The query as stored and shown: trimmed, whitespace collapsed, length-capped."""
    return " ".join(query[: MAX_QUERY_LENGTH * 4].split())[:MAX_QUERY_LENGTH]


def query_terms(query: str) -> list[str]:
    words = _WORD.findall(normalise_query(query).casefold())
    return [word[:MAX_TERM_LENGTH] for word in words[:MAX_TERMS]]


def _tsquery(terms: list[str], operator: str) -> str:
    # The last word is probably still being typed: match it as a prefix.
    return f" {operator} ".join([*terms[:-1], f"{terms[-1]}:*"])


def search_vector(config: str) -> CombinedExpression:
    """The document of an article: the title weighted over the body.

    Migration 0004 indexes exactly this expression (per language, GIN) on PostgreSQL;
    change both together.
    """
    from django.contrib.postgres.search import SearchVector

    return SearchVector("title", weight="A", config=config) + SearchVector(
        "body", weight="B", config=config
    )


def _postgres(
    articles: QuerySet[Article], terms: list[str], config: str, limit: int
) -> list[Article]:
    from django.contrib.postgres.search import SearchQuery, SearchRank

    vector = search_vector(config)

    # Every word first; a question phrased differently from the article still finds it
    # through the any-word fallback, ranked by how much matched.
    for operator in ("&", "|"):
        query = SearchQuery(_tsquery(terms, operator), search_type="raw", config=config)
        found: list[Article] = list(
            articles.annotate(document=vector)
            .filter(document=query)
            .annotate(rank=SearchRank(vector, query))
            .order_by("-rank", "title", "pk")[:limit]
        )
        if found:
            return found
    return []


def _substring(articles: QuerySet[Article], terms: list[str], limit: int) -> list[Article]:
    def matches(term: str) -> Q:
        return Q(title__icontains=term) | Q(body__icontains=term)

    title_hits = Case(
        *(When(title__icontains=term, then=Value(1)) for term in terms),
        default=Value(0),
        output_field=IntegerField(),
    )
    every = Q()
    for term in terms:
        every &= matches(term)
    anyone = Q()
    for term in terms:
        anyone |= matches(term)
    for condition in (every, anyone):
        found: list[Article] = list(
            articles.filter(condition)
            .annotate(title_hit=title_hits)
            .order_by("-title_hit", "title", "pk")[:limit]
        )
        if found:
            return found
    return []


def search(articles: QuerySet[Article], query: str, *, language: str, limit: int) -> list[Article]:
    terms = query_terms(query)
    if not terms or language not in SEARCH_CONFIG:
        return []
    limit = max(1, min(limit, MAX_LIMIT))
    articles = articles.filter(language=language)
    if connection.vendor == "postgresql":
        return _postgres(articles, terms, SEARCH_CONFIG[language], limit)
    return _substring(articles, terms, limit)

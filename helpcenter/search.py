"""Article search: PostgreSQL full-text search, or a plain substring match elsewhere.

Queries are reduced to words (letters and digits) before they reach the database, so
nothing a user types can be read as tsquery syntax.
"""

from __future__ import annotations

import math
import operator
import re
from functools import reduce
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


def min_matched(terms: list[str]) -> int:
    """How many of the words an article must contain when none has them all.

    At least half of them: one shared word of three ("file" of "Large log file") says
    little about what the article is for, and a wrong suggestion costs the customer a
    click and their trust in the next one.
    """
    return max(1, math.ceil(len(terms) / 2))


def _postgres(
    articles: QuerySet[Article], terms: list[str], config: str, limit: int
) -> list[Article]:
    from django.contrib.postgres.search import SearchQuery, SearchRank

    vector = search_vector(config)
    annotated = articles.annotate(document=vector)

    # Every word first; a question phrased differently from the article still finds it
    # through the any-word fallback, ranked by how much matched, if enough of it did.
    query = SearchQuery(_tsquery(terms, "&"), search_type="raw", config=config)
    found: list[Article] = list(
        annotated.filter(document=query)
        .annotate(rank=SearchRank(vector, query))
        .order_by("-rank", "title", "pk")[:limit]
    )
    if found or len(terms) < 2:
        return found
    query = SearchQuery(_tsquery(terms, "|"), search_type="raw", config=config)
    last = len(terms) - 1
    hits = reduce(
        operator.add,
        [
            Case(
                When(
                    document=SearchQuery(
                        f"{term}:*" if index == last else term, search_type="raw", config=config
                    ),
                    then=Value(1),
                ),
                default=Value(0),
                output_field=IntegerField(),
            )
            for index, term in enumerate(terms)
        ],
    )
    return list(
        annotated.filter(document=query)
        .annotate(hits=hits, rank=SearchRank(vector, query))
        .filter(hits__gte=min_matched(terms))
        .order_by("-hits", "-rank", "title", "pk")[:limit]
    )


# Candidates the fallback scores in Python: help centres have hundreds of articles, and
# the any-word filter has already dropped those sharing no word at all.
_FALLBACK_CANDIDATES = 500
# A fragment this short counts only at the start of a word ("log" in "logs", not in
# "catalog"): inside words, short fragments match nearly everything.
_SHORT_TERM = 4


def _contains(text: str, term: str) -> bool:
    if len(term) >= _SHORT_TERM:
        return term in text
    return re.search(rf"(?<![^\W_]){re.escape(term)}", text) is not None


def _substring(articles: QuerySet[Article], terms: list[str], limit: int) -> list[Article]:
    """Case-insensitive substring matching: every word, else enough of them
    (:func:`min_matched`), the articles with more words (and words in the title) first."""
    anyone = Q()
    for term in terms:
        anyone |= Q(title__icontains=term) | Q(body__icontains=term)
    scored = []
    for article in articles.filter(anyone).order_by("title", "pk")[:_FALLBACK_CANDIDATES]:
        title, body = article.title.casefold(), article.body.casefold()
        in_title = sum(_contains(title, term) for term in terms)
        matched = sum(_contains(title, term) or _contains(body, term) for term in terms)
        scored.append((matched, in_title, article))
    if not scored:
        return []
    best = max(matched for matched, _, _ in scored)
    need = len(terms) if best == len(terms) else min_matched(terms)
    kept = [row for row in scored if row[0] >= need]
    # Stable sort: ties keep the database's order (title, pk).
    kept.sort(key=lambda row: (-row[0], -row[1]))
    return [article for _, _, article in kept[:limit]]


def search(articles: QuerySet[Article], query: str, *, language: str, limit: int) -> list[Article]:
    terms = query_terms(query)
    if not terms or language not in SEARCH_CONFIG:
        return []
    limit = max(1, min(limit, MAX_LIMIT))
    articles = articles.filter(language=language)
    if connection.vendor == "postgresql":
        return _postgres(articles, terms, SEARCH_CONFIG[language], limit)
    return _substring(articles, terms, limit)

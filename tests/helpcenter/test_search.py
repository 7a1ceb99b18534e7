"""search_articles: PostgreSQL full-text search, or the substring fallback elsewhere."""

from __future__ import annotations

import pytest
from django.db import connection

from helpcenter import search
from helpcenter.models import Article
from helpcenter.search import MAX_TERMS, query_terms
from helpcenter.selectors import search_articles

pytestmark = pytest.mark.django_db


def slugs(found: list[Article]) -> list[str]:
    return [article.slug for article in found]


def test_query_terms_keep_only_words() -> None:
    assert query_terms("  Shared   mailbox?! ") == ["shared", "mailbox"]
    assert query_terms("a & b | !c:* (d) 'e'") == ["a", "b", "c", "d", "e"]
    assert query_terms("skrzynkę Łódź") == ["skrzynkę", "łódź"]
    assert query_terms("___ --- ***") == []
    assert len(query_terms("word " * 100)) == MAX_TERMS


def test_published_articles_in_the_language_only(articles: dict[str, Article]) -> None:
    found = search_articles("shared mailbox", language="en", limit=10)
    assert slugs(found)[0] == "shared-mailbox"
    assert "draft-article" not in slugs(found)
    assert "skrzynka-udostepniona" not in slugs(found)
    assert slugs(search_articles("skrzynka", language="pl", limit=10)) == ["skrzynka-udostepniona"]


def test_the_last_word_matches_as_a_prefix_while_typing(articles: dict[str, Article]) -> None:
    assert slugs(search_articles("shared mailb", language="en", limit=10)) == ["shared-mailbox"]
    assert "mail-forwarding" in slugs(search_articles("forw", language="en", limit=10))


def test_any_word_when_no_article_has_every_word(articles: dict[str, Article]) -> None:
    found = slugs(search_articles("password zebra", language="en", limit=10))
    assert found == ["password-never-expires"]


def test_no_words_no_results(articles: dict[str, Article]) -> None:
    assert search_articles("", language="en", limit=10) == []
    assert search_articles("!!! ???", language="en", limit=10) == []
    assert search_articles("mailbox", language="xx", limit=10) == []


@pytest.mark.parametrize(
    "query",
    ["'", "mail:*", "a & | b", "!", "(mail", "\\", "x" * 10_000, "%_%", "\x00mail", "mail' OR 1=1"],
)
def test_hostile_queries_never_fail(articles: dict[str, Article], query: str) -> None:
    assert isinstance(search_articles(query, language="en", limit=10), list)


def test_limit_is_honoured_and_bounded(articles: dict[str, Article]) -> None:
    assert len(search_articles("mail", language="en", limit=1)) == 1
    assert len(search_articles("mail", language="en", limit=-5)) == 1
    assert len(search_articles("mail", language="en", limit=10**9)) >= 2


@pytest.mark.postgres
def test_postgres_stems_english(articles: dict[str, Article]) -> None:
    # "forwards" and "forwarding" share the English stem "forward"; a substring match
    # would miss "forwards" in an article that says "Forwarding".
    assert slugs(search_articles("forwards messages", language="en", limit=10)) == [
        "mail-forwarding"
    ]


@pytest.mark.postgres
def test_postgres_ranks_title_over_body(articles: dict[str, Article]) -> None:
    from tests.helpcenter.conftest import make_article

    make_article("mailbox-in-body", "Other topic", "mailbox mailbox mailbox")
    found = slugs(search_articles("mailbox", language="en", limit=10))
    assert found.index("shared-mailbox") < found.index("mailbox-in-body")


@pytest.mark.postgres
def test_postgres_uses_the_per_language_gin_index(db: None) -> None:
    from django.contrib.postgres.search import SearchQuery

    from helpcenter.search import search_vector

    # Enough rows that a scan of every English article costs more than the index.
    Article.objects.bulk_create(
        Article(
            slug=f"a{n}",
            title=f"Topic {n} word{n}",
            body=f"Body {n} term{n % 40}",
            language="en" if n % 2 else "pl",
            is_published=True,
        )
        for n in range(4000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE helpcenter_article")
    plan = (
        Article.objects.published()
        .filter(language="en")
        .annotate(document=search_vector("english"))
        .filter(document=SearchQuery("word11:*", search_type="raw", config="english"))
        .explain()
    )
    assert "article_fts_en" in plan


def test_fallback_matches_substrings_case_insensitively(articles: dict[str, Article]) -> None:
    # The fallback is what other databases get; it is called directly so that it is
    # tested on every database, PostgreSQL included.
    english = Article.objects.published().filter(language="en")

    def fallback(query: str) -> list[str]:
        return slugs(search._substring(english, query_terms(query), 10))

    assert fallback("SHARED MAIL") == ["shared-mailbox"]
    # A substring, not a word: the fallback finds "forward" inside "Forwarding".
    assert fallback("orwardi") == ["mail-forwarding"]
    if connection.vendor != "postgresql":
        assert slugs(search_articles("orwardi", language="en", limit=10)) == ["mail-forwarding"]

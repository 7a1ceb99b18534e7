"""Suggestions from the new-request title (POL-SELF-2): an article is suggested only when
enough of the title's words are in it. One shared word of three ("file" of "Large log
file") is not a match: the demo's SharePoint sharing article must not be suggested."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from demo.data.help_centre import ARTICLES
from helpcenter import search
from helpcenter.models import Article
from helpcenter.search import min_matched, query_terms
from helpcenter.selectors import search_articles
from tests.conftest import World
from tests.helpcenter.conftest import make_article

pytestmark = pytest.mark.django_db

SHARING = "invite-external-users-sharepoint"


@pytest.fixture
def demo_articles(db: None) -> list[Article]:
    return [
        make_article(a.slug, a.title, a.body, language=a.language, services=a.services)
        for a in ARTICLES
    ]


def slugs(found: list[Article]) -> list[str]:
    return [article.slug for article in found]


def test_half_of_the_words_must_match() -> None:
    assert [min_matched(["w"] * n) for n in range(1, 7)] == [1, 1, 2, 2, 3, 3]


def test_large_log_file_does_not_suggest_the_sharing_article(
    demo_articles: list[Article],
) -> None:
    for title in ("Large log file", "large log file", "Large log fi"):
        assert SHARING not in slugs(search_articles(title, language="en", limit=5)), title
    # The fallback every database has, tested on this one too.
    english = Article.objects.published().filter(language="en")
    assert SHARING not in slugs(search._substring(english, query_terms("Large log file"), 5))


def test_the_sharing_article_is_still_found_for_sharing(demo_articles: list[Article]) -> None:
    for title in ("Share a site with external guests", "external sharing", "sharepoint guest"):
        assert slugs(search_articles(title, language="en", limit=5))[:1] == [SHARING], title


def test_more_matching_words_rank_first(demo_articles: list[Article]) -> None:
    found = slugs(search_articles("shared mailbox password", language="en", limit=5))
    assert found[0] == "add-a-shared-mailbox"
    assert SHARING not in found


def test_a_short_fragment_counts_only_at_the_start_of_a_word() -> None:
    assert search._contains("big logs here", "log")
    assert not search._contains("the catalog here", "log")
    assert search._contains("forwarding", "orwardi")  # long fragments still match inside


def test_the_request_forms_suggestions_follow_the_ranking(
    world: World, client: Client, demo_articles: list[Article]
) -> None:
    client.force_login(world.admin_a.user)
    url = reverse("portal:help_suggest", kwargs={"org": "alpha"})
    weak = client.get(url, {"title": "Large log file", "from": "request"}).content.decode()
    assert SHARING not in weak
    strong = client.get(url, {"title": "external sharing", "from": "request"}).content.decode()
    assert SHARING in strong


def test_the_portal_home_starts_with_the_help_search(world: World, client: Client) -> None:
    for member in (world.admin_a, world.user_a):
        client.force_login(member.user)
        page = client.get(reverse("portal:home", kwargs={"org": "alpha"})).content.decode()
        search_box = page.index('id="help-q"')
        assert 'role="search"' in page and "hx-get" in page[search_box : search_box + 600]
        main = page.index('id="main"')
        # The search comes before the requests and the service health.
        assert main < search_box < page.index('class="layout-split"')

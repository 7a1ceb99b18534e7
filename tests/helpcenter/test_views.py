"""Self-help pages over the test client: open to every member (POL-SELF-3), another
tenant's slug is a 404, bad input never a 500."""

from __future__ import annotations

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from helpcenter.models import Article, ArticleImpression, HelpSearch, SearchSource, SupportLine
from tests.conftest import T0, World
from tests.helpcenter.conftest import make_incident

pytestmark = pytest.mark.django_db
HUGE = "9" * 25


def url(name: str, org: str = "alpha", **kwargs: object) -> str:
    return reverse(f"portal:{name}", kwargs={"org": org, **kwargs})


@pytest.fixture
def member(world: World, client: Client) -> Client:
    """A plain (non-admin) user of Alpha: self-help is open to them too."""
    client.force_login(world.user_a.user)
    return client


# --- Service health -----------------------------------------------------------------------


def test_home_shows_known_incidents_first(world: World, client: Client) -> None:
    client.force_login(world.admin_a.user)
    calm = client.get(url("home")).content.decode()
    assert "All services are running normally." in calm

    incident = make_incident("Outbound mail is delayed", title_pl="Poczta wychodząca opóźniona")
    page = client.get(url("home")).content.decode()
    assert "Outbound mail is delayed" in page
    assert url("incident", incident=incident.pk) in page
    assert page.index("Outbound mail is delayed") < page.index("Open requests")
    # Polish readers get the Polish title.
    polish = client.get(url("home"), headers={"accept-language": "pl"}).content.decode()
    assert "Poczta wychodząca opóźniona" in polish


@time_machine.travel(T0, tick=False)
def test_health_page_lists_current_and_past(world: World, member: Client) -> None:
    current = make_incident("Teams meetings fail", service="teams", impact="outage")
    past = make_incident("Slow search", service="sharepoint-online", status="resolved")
    response = member.get(url("incidents"))
    assert response.status_code == 200
    assert [i.pk for i in response.context["current"]] == [current.pk]
    assert [i.pk for i in response.context["past"].object_list] == [past.pk]
    teams = next(row for row in response.context["health"] if row.service.slug == "teams")
    assert teams.worst == current
    assert member.get(url("incidents") + "?page=-1").status_code == 200
    assert member.get(url("incidents") + "?page=%00").status_code == 200


def test_incident_page_shows_the_timeline(world: World, member: Client) -> None:
    incident = make_incident("Mail delays")
    response = member.get(url("incident", incident=incident.pk))
    assert response.status_code == 200
    assert b"Mail delays: update." in response.content
    assert member.get(f"/portal/alpha/health/incidents/{HUGE}/").status_code == 404
    assert member.get(url("incident", incident=incident.pk + 1)).status_code == 404
    # Another tenant's slug hides even shared content.
    assert member.get(url("incident", org="bravo", incident=incident.pk)).status_code == 404


@pytest.mark.parametrize("value", ["", "abc", "-1", "0", HUGE, "1.5", "%00"])
def test_service_fragment_is_empty_for_bad_or_unknown_ids(
    world: World, member: Client, value: str
) -> None:
    make_incident("Mail delays")
    response = member.get(url("incidents_for_service") + f"?service={value}")
    assert response.status_code == 200
    assert b"Mail delays" not in response.content


def test_service_fragment_shows_that_services_incidents(world: World, member: Client) -> None:
    incident = make_incident("Mail delays")
    make_incident("Teams down", service="teams")
    response = member.get(
        url("incidents_for_service") + f"?service={incident.service_id}",
        headers={"hx-request": "true"},
    )
    by_product = member.get(url("incidents_for_service") + f"?product={incident.service_id}")
    assert b"Mail delays" in by_product.content
    content = response.content.decode()
    assert "Mail delays" in content
    assert "Teams down" not in content
    assert "<html" not in content


# --- Help ---------------------------------------------------------------------------------


def test_help_search_without_javascript(
    world: World, member: Client, articles: dict[str, Article]
) -> None:
    response = member.get(url("help") + "?q=shared+mailbox")
    assert response.status_code == 200
    assert response.context["results"][0].slug == "shared-mailbox"
    search = HelpSearch.objects.get()
    assert (search.query, search.user, search.organization) == (
        "shared mailbox",
        world.user_a.user,
        world.org_a,
    )
    assert f"?s={search.pk}".encode() in response.content


def test_help_home_without_query_lists_recent_articles(
    world: World, member: Client, articles: dict[str, Article]
) -> None:
    response = member.get(url("help"))
    assert response.status_code == 200
    assert "draft-article" not in [a.slug for a in response.context["recent"]]
    assert not HelpSearch.objects.exists()
    polish = member.get(url("help") + "?language=pl")
    assert [a.slug for a in polish.context["recent"]] == ["skrzynka-udostepniona"]


def test_suggestions_fragment(world: World, member: Client, articles: dict[str, Article]) -> None:
    response = member.get(url("help_suggest") + "?q=forw", headers={"hx-request": "true"})
    content = response.content.decode()
    assert response.status_code == 200
    assert "Forward mail to another address" in content
    assert "<html" not in content
    assert 'target="_blank"' not in content
    assert HelpSearch.objects.get().source == SearchSource.HELP


def test_suggestions_from_the_request_forms_title(
    world: World, client: Client, articles: dict[str, Article]
) -> None:
    client.force_login(world.admin_a.user)
    response = client.get(url("help_suggest") + "?title=shared+mailbox&from=request")
    assert b"Create a shared mailbox" in response.content
    assert b'target="_blank"' in response.content
    assert HelpSearch.objects.get().source == SearchSource.REQUEST_FORM


@pytest.mark.parametrize(
    "query",
    ["", "?q=", "?q=" + "x" * 20_000, "?q=%00", "?q=<script>alert(1)</script>", "?language=xx"],
)
def test_bad_search_input_is_harmless(
    world: World, member: Client, articles: dict[str, Article], query: str
) -> None:
    for name in ("help", "help_suggest"):
        response = member.get(url(name) + query)
        assert response.status_code == 200, (name, query)
        assert b"<script>alert" not in response.content
    assert all(len(s.query) <= 200 for s in HelpSearch.objects.all())


def test_an_unknown_language_searches_in_the_page_language(
    world: World, member: Client, articles: dict[str, Article]
) -> None:
    response = member.get(url("help") + "?q=shared&language=xx")
    assert response.context["language"] == "en"
    assert response.context["results"][0].slug == "shared-mailbox"


def test_suggest_box_partial_in_both_modes(world: World) -> None:
    from django.template.loader import render_to_string

    own_box = render_to_string(
        "helpcenter/_suggest_box.html", {"organization": world.org_a, "query": "x"}
    )
    assert 'hx-get="/portal/alpha/help/suggest/"' in own_box
    assert 'hx-trigger="input changed delay:300ms, search"' in own_box
    assert 'action="/portal/alpha/help/"' in own_box  # works without JavaScript
    on_title = render_to_string(
        "helpcenter/_suggest_box.html", {"organization": world.org_a, "source": "id_title"}
    )
    assert 'hx-include="#id_title"' in on_title
    assert "from:#id_title" in on_title
    assert "<form" not in on_title


def test_article_page_renders_sanitised_markdown(world: World, member: Client) -> None:
    from tests.helpcenter.conftest import make_article

    make_article("evil", "Evil", "Hi <script>alert(1)</script> [x](javascript:alert(1))")
    response = member.get(url("help_article", article="evil"))
    assert response.status_code == 200
    assert b"<script>alert" not in response.content
    assert b'href="javascript:' not in response.content


def test_article_opened_from_a_suggestion_is_recorded(
    world: World, member: Client, articles: dict[str, Article]
) -> None:
    member.get(url("help_suggest") + "?q=shared")
    search = HelpSearch.objects.get()
    page = url("help_article", article="shared-mailbox")
    assert member.get(f"{page}?s={search.pk}").status_code == 200
    impression = ArticleImpression.objects.get(search=search, article=articles["shared"])
    assert impression.clicked
    # Junk or someone else's search id: the page still opens, nothing is recorded.
    for junk in ("abc", HUGE, "-3", str(search.pk + 1)):
        assert member.get(f"{page}?s={junk}").status_code == 200
    other = Client()
    other.force_login(world.admin_a.user)
    impression.opened_at = None
    impression.save()
    other.get(f"{page}?s={search.pk}")
    impression.refresh_from_db()
    assert not impression.clicked


def test_unknown_or_unpublished_articles_are_404(
    world: World, member: Client, articles: dict[str, Article]
) -> None:
    assert member.get(url("help_article", article="draft-article")).status_code == 404
    assert member.get(url("help_article", article="no-such-thing")).status_code == 404
    assert member.get(url("help_article", article="a" * 500)).status_code == 404
    assert member.get(url("help_article", org="bravo", article="shared-mailbox")).status_code == 404


def test_plain_user_is_told_to_ask_their_admin(
    world: World, member: Client, articles: dict[str, Article]
) -> None:
    page = member.get(url("help_article", article="shared-mailbox")).content.decode()
    assert url("request_new") not in page
    assert "ask one of your organization" in page


def test_admin_is_offered_contact_support(
    world: World, client: Client, articles: dict[str, Article]
) -> None:
    client.force_login(world.admin_a.user)
    page = client.get(url("help_article", article="shared-mailbox")).content.decode()
    assert url("request_new") in page


# --- Phone --------------------------------------------------------------------------------


def test_phone_defaults_to_the_organizations_country(world: World, member: Client) -> None:
    # Alpha is in Poland, which has no line of its own: the default line answers.
    response = member.get(url("phone"))
    assert response.status_code == 200
    assert response.context["country"] == "PL"
    assert response.context["phone"].is_fallback
    default = SupportLine.objects.filter(country="", kind="technical").first()
    assert default is not None
    assert default.number.as_international.encode() in response.content
    assert b"09:00\xe2\x80\x9317:00, Monday to Friday, in English." in response.content
    assert b"24 hours a day, 7 days a week, in English." in response.content
    assert b"Have your account details ready" in response.content


def test_phone_lines_of_a_chosen_country(world: World, member: Client) -> None:
    response = member.get(url("phone") + "?country=GB")
    assert not response.context["phone"].is_fallback
    assert b"0800 032 6417" in response.content
    assert b'href="tel:+448000326417"' in response.content
    us = member.get(url("phone") + "?country=US", headers={"hx-request": "true"})
    assert b"(800) 865-9408" in us.content
    assert b"<html" not in us.content
    assert "HX-Request" in us["Vary"]


@pytest.mark.parametrize("value", ["ZZ", "%00", "x" * 5000, "gb"])
def test_phone_bad_country_is_a_form_error(world: World, member: Client, value: str) -> None:
    response = member.get(url("phone") + f"?country={value}")
    assert response.status_code == 200
    assert response.context["form"].errors
    assert response.context["phone"].lines  # still shows the default line


def test_self_help_is_read_only(world: World, member: Client) -> None:
    for name in ("incidents", "help", "help_suggest", "phone", "incidents_for_service"):
        assert member.post(url(name)).status_code == 405, name


def test_suggestions_cost_a_fixed_number_of_queries(
    world: World,
    member: Client,
    articles: dict[str, Article],
    django_assert_max_num_queries: object,
) -> None:
    # One request per pause in typing: the cost must not grow with the results shown.
    member.get(url("help_suggest") + "?q=m")
    # 11 with whether the member has a second factor (mfa.middleware).
    with django_assert_max_num_queries(11):  # type: ignore[operator]
        response = member.get(url("help_suggest") + "?q=mail")
    assert len(response.context["results"]) >= 2

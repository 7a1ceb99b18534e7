"""Times everywhere the same way: the one format per language, the zone in words (never
its id), the reader's zone activated per role, the agent's own zone, support's hours
beside the customer's own time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone, translation

from core import moments
from severity.calendars import BusinessCalendar, Window
from tenants.middleware import UserTimeZoneMiddleware
from tenants.models import User
from tenants.zones import UTC as ZONE_UTC
from tenants.zones import zone_choices, zone_for
from tests.conftest import T0, World
from tickets.expectations import support_hours_text

WINTER = datetime(2026, 12, 7, 13, 5, tzinfo=UTC)  # CET: Warsaw UTC+1, New York UTC-5
SUMMER = datetime(2026, 6, 7, 13, 5, tzinfo=UTC)  # CEST: Warsaw UTC+2, New York UTC-4
WARSAW = ZoneInfo("Europe/Warsaw")
NEW_YORK = ZoneInfo("America/New_York")
BEIJING = ZoneInfo("Asia/Shanghai")
# A raw zone id as it would leak into a page ("Europe/Warsaw", "America/New_York").
RAW_ZONE = re.compile(
    r"\b(?:Africa|America|Antarctica|Asia|Atlantic|Australia|Europe|Indian|Pacific)/[A-Z]"
)


@pytest.fixture(autouse=True)
def _default_language_after() -> Iterator[None]:
    """A Polish page leaves Polish active in this thread (LocaleMiddleware activates
    it); the tests after these read the default language again."""
    yield
    translation.deactivate()
    timezone.deactivate()


def _render(source: str, **values: object) -> str:
    return Template("{% load when %}" + source).render(Context(values))


# --- The format and the zone in words ---------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "zone", "english", "polish_start", "polish_city"),
    [
        (WINTER, WARSAW, "7 Dec 2026, 14:05 Warsaw time", "07.12.2026, 14:05", "Warszawa"),
        (SUMMER, WARSAW, "7 Jun 2026, 15:05 Warsaw time", "07.06.2026, 15:05", "Warszawa"),
        (WINTER, NEW_YORK, "7 Dec 2026, 08:05 New York time", "07.12.2026, 08:05", "Nowy Jork"),
        (SUMMER, NEW_YORK, "7 Jun 2026, 09:05 New York time", "07.06.2026, 09:05", "Nowy Jork"),
        (WINTER, BEIJING, "7 Dec 2026, 21:05 Beijing time", "07.12.2026, 21:05", ""),
        (WINTER, ZONE_UTC, "7 Dec 2026, 13:05 UTC", "07.12.2026, 13:05", "UTC"),
    ],
)
def test_a_moment_reads_in_its_zone_with_the_zone_in_words(
    moment: datetime, zone: ZoneInfo, english: str, polish_start: str, polish_city: str
) -> None:
    assert moments.format_moment(moment, zone=zone, language="en") == english
    polish = moments.format_moment(moment, zone=zone, language="pl")
    assert polish.startswith(polish_start)
    assert polish_city in polish
    for text in (english, polish):
        assert not RAW_ZONE.search(text)
        assert not re.search(r"[ap]\.?m\.?", text)  # the 24-hour clock only


def test_the_filter_family_reads_the_active_zone_and_language() -> None:
    with timezone.override(WARSAW), translation.override("en"):
        assert _render("{{ v|when }}", v=WINTER) == "7 Dec 2026, 14:05 Warsaw time"
        assert _render("{{ v|when_short }}", v=WINTER) == "7 Dec 2026, 14:05 (Warsaw)"
        assert _render("{{ v|when_date }}", v=WINTER) == "7 Dec 2026"
        assert _render("{{ v|clock }} {% zone_words %}", v=WINTER) == "14:05 Warsaw time"
        assert _render("{{ z|zone_place }}", z="America/New_York") == "New York, United States"
        # A zone named in the template wins over the reader's.
        assert _render("{{ v|when:'Asia/Shanghai' }}", v=WINTER) == (
            "7 Dec 2026, 21:05 Beijing time"
        )
    with timezone.override(NEW_YORK), translation.override("pl"):
        assert _render("{{ v|when_date }}", v=WINTER) == "07.12.2026"
        assert _render("{{ v|when_short }}", v=WINTER) == "07.12.2026, 08:05 (Nowy Jork)"
        assert _render("{{ z|zone_place }}", z="Europe/Warsaw") == "Warszawa, Polska"
        assert _render("{{ v|when }}", v=None) == ""


def test_django_s_own_date_formats_follow_the_language() -> None:
    with timezone.override(WARSAW):
        with translation.override("en"):
            assert _render('{{ v|date:"DATETIME_FORMAT" }}', v=WINTER) == "7 Dec 2026, 14:05"
            assert _render('{{ v|date:"SHORT_DATE_FORMAT" }}', v=WINTER) == "7 Dec 2026"
        with translation.override("pl"):
            assert _render('{{ v|date:"DATETIME_FORMAT" }}', v=WINTER) == "07.12.2026, 14:05"
            assert _render('{{ v|date:"SHORT_DATE_FORMAT" }}', v=WINTER) == "07.12.2026"


def test_zone_choices_name_places_in_the_reader_s_language() -> None:
    with translation.override("pl"):
        choices = dict(zone_choices())
    assert choices["Europe/Warsaw"] == "Warszawa, Polska"
    assert "US/Eastern" not in choices  # an old alias of America/New_York
    assert not any(RAW_ZONE.search(label) for label in choices.values())


# --- Support's hours beside the reader's ------------------------------------------------------


def test_support_hours_show_beside_the_reader_s_own_time_across_dst() -> None:
    every_day = BusinessCalendar(BEIJING, [Window(day, time(9), None) for day in range(7)])
    with translation.override("en"):
        assert support_hours_text(every_day, reader=WARSAW, now=WINTER) == (
            "Support hours: 09:00–24:00 Beijing time, every day (02:00–17:00 Warsaw time for you)."
        )
        assert support_hours_text(every_day, reader=WARSAW, now=SUMMER) == (
            "Support hours: 09:00–24:00 Beijing time, every day (03:00–18:00 Warsaw time for you)."
        )
        # A reader in Beijing time needs no second clock.
        assert support_hours_text(every_day, reader=BEIJING, now=WINTER) == (
            "Support hours: 09:00–24:00 Beijing time, every day."
        )
    weekdays = BusinessCalendar(BEIJING, [Window(day, time(9), time(17)) for day in range(5)])
    with translation.override("en"):
        assert "Monday to Friday" in support_hours_text(weekdays, reader=NEW_YORK, now=WINTER)
        assert "20:00–04:00 New York time" in support_hours_text(
            weekdays, reader=NEW_YORK, now=WINTER
        )
    always = BusinessCalendar.always_open(tz=BEIJING)
    assert support_hours_text(always, reader=WARSAW, now=WINTER) == ""


@pytest.mark.django_db
def test_the_portal_preview_shows_support_hours_in_the_customer_s_time(
    world: World, client: Client
) -> None:
    from helpcenter.models import Service

    client.force_login(world.admin_a.user)
    url = reverse("portal:request_assess", kwargs={"org": world.org_a.slug})
    answers: dict[str, str | int] = {
        "category": "technical",
        "product": Service.objects.get(slug="exchange-online").pk,
        "impact": "degraded",
        "scope": "many",
    }
    with time_machine.travel(T0, tick=False):  # June: Warsaw is UTC+2, Beijing UTC+8
        page = client.get(url, answers)
    assert page.context["preview"].wait.severity == "B"
    assert (
        'id="support-hours">Support hours: 09:00–24:00 Beijing time, every day '
        "(03:00–18:00 Warsaw time for you).</p>"
    ) in page.content.decode()


# --- Whose zone a request reads --------------------------------------------------------------


@pytest.mark.django_db
def test_zone_for_each_role(world: World, settings: Any) -> None:
    settings.TIME_ZONE = "UTC"
    assert zone_for(AnonymousUser()) == ZONE_UTC
    assert zone_for(world.agent) == ZONE_UTC  # the desk's default
    world.agent.time_zone = "Asia/Kolkata"
    assert zone_for(world.agent) == ZoneInfo("Asia/Kolkata")
    # A customer without a zone of their own: their organization's.
    assert zone_for(world.admin_b.user) == NEW_YORK
    assert zone_for(world.admin_a.user, organization=world.org_b) == NEW_YORK
    assert zone_for(world.admin_b.user, look_up_organization=False) == ZONE_UTC
    world.admin_b.user.time_zone = "Europe/Warsaw"
    assert zone_for(world.admin_b.user) == WARSAW


def _zone_seen(user: User | AnonymousUser, **view_kwargs: object) -> str:
    """The zone active inside the view, as the middleware leaves it."""
    seen: list[str] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(timezone.get_current_timezone_name())
        return HttpResponse()

    def handler(request: HttpRequest) -> HttpResponse:
        middleware.process_view(request, view, (), dict(view_kwargs))
        return view(request)

    middleware = UserTimeZoneMiddleware(handler)
    request = RequestFactory().get("/")
    request.user = user
    middleware(request)
    assert timezone.get_current_timezone_name() == settings.TIME_ZONE  # reset afterwards
    return seen[0]


@pytest.mark.django_db
def test_the_middleware_activates_the_reader_s_zone(world: World) -> None:
    assert _zone_seen(AnonymousUser()) == "UTC"
    assert _zone_seen(world.agent) == settings.TIME_ZONE
    User.objects.filter(pk=world.agent.pk).update(time_zone="Europe/Warsaw")
    world.agent.refresh_from_db()
    assert _zone_seen(world.agent) == "Europe/Warsaw"
    assert _zone_seen(world.admin_b.user) == "America/New_York"
    # On a portal route tenant_view names the organization; the middleware leaves it.
    assert _zone_seen(world.admin_b.user, org="bravo") == "UTC"


@pytest.mark.django_db
def test_the_portal_reads_the_customer_s_own_zone_else_the_organization_s(
    world: World, client: Client
) -> None:
    ticket = world.file(world.admin_b)
    client.force_login(world.admin_b.user)
    url = reverse("portal:request_detail", kwargs={"org": "bravo", "number": ticket.pk})
    html = client.get(url).content.decode()
    assert "New York time" in html
    User.objects.filter(pk=world.admin_b.user.pk).update(time_zone="Europe/Warsaw")
    html = client.get(url).content.decode()
    assert "Warsaw time" in html


# --- The agent's own zone -------------------------------------------------------------------


@pytest.mark.django_db
def test_an_agent_sets_their_time_zone(world: World, client: Client) -> None:
    client.force_login(world.agent)
    url = reverse("notices:preferences")
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="time_zone"' in page.content.decode()

    refused = client.post(url, {"time_zone": "Mars/Olympus_Mons"})
    assert refused.status_code == 400
    assert refused.context["zone_form"].errors["time_zone"]
    world.agent.refresh_from_db()
    assert world.agent.time_zone == ""

    assert client.post(url, {"time_zone": "Europe/Warsaw"}).status_code == 302
    world.agent.refresh_from_db()
    assert world.agent.time_zone == "Europe/Warsaw"
    ticket = world.file(world.admin_b, now=timezone.now() - timedelta(hours=1))
    desk = client.get(reverse("desk:ticket", kwargs={"number": ticket.pk})).content.decode()
    assert "Warsaw time" in desk

    assert client.post(url, {"time_zone": ""}).status_code == 302
    world.agent.refresh_from_db()
    assert world.agent.time_zone == ""


@pytest.mark.django_db
def test_the_service_refuses_an_unknown_zone(world: World) -> None:
    from tenants.services import TimeZoneError, user_set_time_zone

    with pytest.raises(TimeZoneError):
        user_set_time_zone(user=world.agent, time_zone="Europe/Atlantis")
    assert user_set_time_zone(user=world.agent, time_zone=" Asia/Tokyo ").time_zone == (
        "Asia/Tokyo"
    )


# --- No raw zone id on a page ---------------------------------------------------------------


@pytest.mark.django_db
def test_no_raw_zone_id_on_portal_and_desk_pages_for_a_polish_organization(
    world: World, client: Client
) -> None:
    ticket = world.file(world.admin_a, now=T0)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "pl"
    client.force_login(world.admin_a.user)
    org = world.org_a.slug
    portal_urls = [
        reverse("portal:home", kwargs={"org": org}),
        reverse("portal:request_list", kwargs={"org": org}),
        reverse("portal:request_detail", kwargs={"org": org, "number": ticket.pk}),
    ]
    for url in portal_urls:
        page = client.get(url)
        assert page.status_code == 200, url
        html = page.content.decode()
        assert not RAW_ZONE.search(html), (url, RAW_ZONE.search(html))
        assert "czas: Warsaw" not in html
    detail = client.get(portal_urls[-1]).content.decode()
    assert "Warszawa" in detail
    assert re.search(r"\d\d\.\d\d\.\d{4}, \d\d:\d\d", detail)  # dd.mm.rrrr, 24 h

    client.force_login(world.agent)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "pl"
    for url in (reverse("desk:ticket", kwargs={"number": ticket.pk}), reverse("notices:list")):
        page = client.get(url)
        assert page.status_code == 200, url
        html = page.content.decode()
        assert not RAW_ZONE.search(html), (url, RAW_ZONE.search(html))
    desk = client.get(reverse("desk:ticket", kwargs={"number": ticket.pk})).content.decode()
    assert "Warszawa, Polska" in desk  # the organization's zone, named by place


@pytest.mark.django_db
def test_the_ledger_of_an_overdue_request_reads_overdue_by(world: World, client: Client) -> None:
    ticket = world.file(world.admin_b, now=timezone.now() - timedelta(days=5))
    client.force_login(world.agent)
    html = client.get(reverse("desk:ticket", kwargs={"number": ticket.pk})).content.decode()
    assert "<dt>Overdue by</dt>" in html
    assert not re.search(r"<dd>[^<]*\bh overdue</dd>", html)  # not "Remaining 45 h overdue"
    assert "Calendar “" in html and "Beijing time)" in html  # the calendar's zone in words


# --- The customer's own zone ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_customer_chooses_their_time_zone_on_the_portal(world: World, client: Client) -> None:
    """Any member, admin or not, reaches "My account" from the portal's navigation and
    picks a zone by its place name in their language; blank is the organization's."""
    from tenants.models import Role
    from tests.factories import MembershipFactory

    plain = MembershipFactory(organization=world.org_a, role=Role.USER)
    client.force_login(plain.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "pl"
    url = reverse("portal:account", kwargs={"org": world.org_a.slug})
    home = client.get(reverse("portal:help", kwargs={"org": world.org_a.slug}))
    assert f'href="{url}"' in home.content.decode()
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    options = dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', html))
    assert options["Asia/Tokyo"] == "Tokio, Japonia"
    assert options["Europe/Warsaw"] == "Warszawa, Polska"
    # Blank: the organization's zone, by place in words; no raw id in any label.
    assert world.org_a.time_zone == "Europe/Warsaw"
    assert "Warszawa, Polska" in options[""]
    assert not any(RAW_ZONE.search(label) for label in options.values())

    refused = client.post(url, {"time_zone": "Mars/Olympus_Mons"})
    assert refused.status_code == 400
    assert refused.context["zone_form"].errors["time_zone"]
    plain.user.refresh_from_db()
    assert plain.user.time_zone == ""

    assert client.post(url, {"time_zone": "Asia/Tokyo"}).status_code == 302
    plain.user.refresh_from_db()
    assert plain.user.time_zone == "Asia/Tokyo"
    assert "Tokio" in client.get(url).content.decode()

    assert client.post(url, {"time_zone": ""}).status_code == 302
    plain.user.refresh_from_db()
    assert plain.user.time_zone == ""


@pytest.mark.django_db
def test_an_admin_s_portal_times_follow_the_zone_they_chose(world: World, client: Client) -> None:
    ticket = world.file(world.admin_b)
    client.force_login(world.admin_b.user)
    detail = reverse("portal:request_detail", kwargs={"org": "bravo", "number": ticket.pk})
    assert "New York time" in client.get(detail).content.decode()
    account = reverse("portal:account", kwargs={"org": "bravo"})
    assert client.post(account, {"time_zone": "Asia/Tokyo"}).status_code == 302
    assert "Tokyo time" in client.get(detail).content.decode()

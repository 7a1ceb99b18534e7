"""The e-mail survey (tickets.survey, tickets.survey_views, ticket_rate_from_survey):
signed one-click rating links in the resolved e-mail, no sign-in, a comment after."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail, signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import T0, World
from tickets import outbox, survey
from tickets.actors import Actor
from tickets.errors import TicketError
from tickets.models import EventKind, Rating, RatingSource, Status, Ticket
from tickets.services import (
    ERR_ALREADY_RATED,
    ERR_SURVEY_FINAL,
    ERR_SURVEY_REOPENED,
    RATING_COMMENT_MAX_LENGTH,
    ticket_close,
    ticket_rate,
    ticket_rate_from_survey,
    ticket_reopen,
    ticket_resolve,
)

pytestmark = pytest.mark.django_db


def resolved(world: World, **overrides: Any) -> Ticket:
    ticket = world.file(**overrides)
    return ticket_resolve(ticket=ticket, actor=Actor.for_user(world.agent), reason="Fixed", now=T0)


def link(ticket: Ticket, score: int) -> str:
    return reverse("survey:rate", kwargs={"token": survey.rating_token(ticket.pk, score)})


# --- Signing (pure enough: no request) -----------------------------------------------------


def test_a_token_carries_its_ticket_and_score() -> None:
    token = survey.rating_token(42, 4)
    assert survey.read_rating_token(token) == survey.SurveyVote(ticket_id=42, score=4)


@pytest.mark.parametrize("score", [0, 6, -1])
def test_only_scores_one_to_five_are_signed(score: int) -> None:
    with pytest.raises(ValueError):
        survey.rating_token(1, score)


def test_a_tampered_token_is_invalid() -> None:
    token = survey.rating_token(42, 1)
    _payload, _, rest = token.partition(":")
    # Another ticket or score under the same signature.
    forged = signing.b64_encode(b"[43,5]").decode() + ":" + rest
    for bad in (forged, token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "x", ""):
        with pytest.raises(survey.SurveyLinkInvalid):
            survey.read_rating_token(bad)


def test_a_token_signed_under_another_salt_is_invalid() -> None:
    # A genuine signature of this site, made for something else (same shape of payload).
    other = signing.dumps([42, 5], salt="supportdesk.something.else")
    with pytest.raises(survey.SurveyLinkInvalid):
        survey.read_rating_token(other)
    unsalted = signing.dumps([42, 5])
    with pytest.raises(survey.SurveyLinkInvalid):
        survey.read_rating_token(unsalted)


def test_a_token_of_the_right_salt_with_another_payload_is_invalid() -> None:
    for payload in ({"t": 1, "s": 5}, [1, 9], [1], ["1", 5], [0, 3]):
        token = signing.dumps(payload, salt=survey.SALT)
        with pytest.raises(survey.SurveyLinkInvalid):
            survey.read_rating_token(token)


def test_a_token_expires_after_survey_link_days(settings: object) -> None:
    days = settings.SUPPORTDESK.SURVEY_LINK_DAYS  # type: ignore[attr-defined]
    with time_machine.travel(T0, tick=False):
        token = survey.rating_token(7, 3)
    with time_machine.travel(T0 + timedelta(days=days) - timedelta(minutes=1), tick=False):
        assert survey.read_rating_token(token).score == 3
    with (
        time_machine.travel(T0 + timedelta(days=days, minutes=1), tick=False),
        pytest.raises(survey.SurveyLinkExpired),
    ):
        survey.read_rating_token(token)


# --- The service ---------------------------------------------------------------------------


def test_a_click_records_a_survey_rating_with_its_event(world: World) -> None:
    ticket = resolved(world)
    rating = ticket_rate_from_survey(ticket=ticket, score=2, now=T0 + timedelta(hours=1))
    assert (rating.score, rating.comment, rating.source, rating.rated_by) == (
        2,
        "",
        RatingSource.SURVEY,
        None,
    )
    assert rating.created_at == rating.updated_at == T0 + timedelta(hours=1)
    event = ticket.events.get(kind=EventKind.RATED)
    assert event.after == {"score": 2, "comment": False, "source": "survey"}
    assert event.actor_user is None and event.actor_label == "e-mail survey"


def test_the_latest_click_wins_until_a_comment_is_sent(world: World) -> None:
    """A mail scanner opening every link first must not lock in a score."""
    ticket = resolved(world)
    for minute, score in enumerate((1, 2, 3, 4, 5), start=1):
        ticket_rate_from_survey(ticket=ticket, score=score, now=T0 + timedelta(minutes=minute))
    # The customer's own click, later.
    rating = ticket_rate_from_survey(ticket=ticket, score=4, now=T0 + timedelta(hours=2))
    assert rating.score == 4 and rating.updated_at == T0 + timedelta(hours=2)
    assert Rating.objects.count() == 1
    rated = list(ticket.events.filter(kind=EventKind.RATED).order_by("pk"))
    assert len(rated) == 6
    assert (rated[-1].before, rated[-1].after["score"]) == ({"score": 5}, 4)
    # The same link opened again changes nothing and writes nothing.
    ticket_rate_from_survey(ticket=ticket, score=4, now=T0 + timedelta(hours=3))
    assert ticket.events.filter(kind=EventKind.RATED).count() == 6

    final = ticket_rate_from_survey(
        ticket=ticket, score=3, comment="  Slow at first.  ", now=T0 + timedelta(hours=4)
    )
    assert (final.score, final.comment) == (3, "Slow at first.")
    with pytest.raises(TicketError) as refused:
        ticket_rate_from_survey(ticket=ticket, score=1, now=T0 + timedelta(hours=5))
    assert refused.value.message == str(ERR_SURVEY_FINAL)
    assert Rating.objects.get().score == 3


def test_a_comment_is_checked_like_the_portals(world: World) -> None:
    ticket = resolved(world)
    with pytest.raises(TicketError) as long:
        ticket_rate_from_survey(
            ticket=ticket, score=5, comment="x" * (RATING_COMMENT_MAX_LENGTH + 1), now=T0
        )
    assert long.value.field == "comment"
    with pytest.raises(TicketError) as empty:
        ticket_rate_from_survey(ticket=ticket, score=5, comment="   ", now=T0)
    assert empty.value.field == "comment"
    assert not Rating.objects.exists()


def test_a_reopened_request_is_not_rated(world: World) -> None:
    ticket = resolved(world)
    ticket_reopen(ticket=ticket, actor=Actor.for_user(world.agent), reason="", now=T0)
    with pytest.raises(TicketError) as refused:
        ticket_rate_from_survey(ticket=ticket, score=5, now=T0)
    assert refused.value.message == str(ERR_SURVEY_REOPENED)
    assert not Rating.objects.exists()


def test_a_closed_request_is_still_rated(world: World) -> None:
    ticket = resolved(world)
    ticket_close(ticket=ticket, actor=Actor.for_user(world.agent), now=T0)
    assert ticket_rate_from_survey(ticket=ticket, score=5, now=T0).score == 5


def test_the_portal_and_the_survey_share_one_rating(world: World) -> None:
    # The portal's rating stands: a link never changes it.
    first = resolved(world)
    admin = Actor.for_member(world.admin_a)
    ticket_rate(ticket=first, actor=admin, score=5, comment="", now=T0)
    with pytest.raises(TicketError) as refused:
        ticket_rate_from_survey(ticket=first, score=1, now=T0)
    assert refused.value.message == str(ERR_ALREADY_RATED)
    assert Rating.objects.get(ticket=first).score == 5
    # A survey rating counts in the portal too: rating again there is refused.
    second = resolved(world)
    ticket_rate_from_survey(ticket=second, score=2, now=T0)
    with pytest.raises(TicketError) as again:
        ticket_rate(ticket=second, actor=admin, score=4, comment="", now=T0)
    assert again.value.message == str(ERR_ALREADY_RATED)


# --- The page ------------------------------------------------------------------------------


def test_opening_a_link_records_the_score_without_signing_in(world: World) -> None:
    ticket = resolved(world)
    client = Client()
    response = client.get(link(ticket, 2))
    assert response.status_code == 200
    assert Rating.objects.get(ticket=ticket).score == 2
    page = response.content.decode()
    assert "You rated the support 2 out of 5" in page
    assert 'name="comment"' in page and "csrfmiddlewaretoken" in page
    assert response["Cache-Control"].startswith("max-age=0")
    # Another link of the same e-mail, later: the score changes.
    assert client.get(link(ticket, 5)).status_code == 200
    assert Rating.objects.get(ticket=ticket).score == 5


def test_the_comment_is_posted_on_the_same_link_with_csrf(world: World) -> None:
    ticket = resolved(world)
    url = link(ticket, 4)
    strict = Client(enforce_csrf_checks=True)
    page = strict.get(url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token is not None
    assert strict.post(url, {"score": "4", "comment": "Thanks!"}).status_code == 403
    response = strict.post(
        url, {"score": "4", "comment": "Thanks!", "csrfmiddlewaretoken": token.group(1)}
    )
    assert response.status_code == 200
    assert "Thanks!" in response.content.decode()
    rating = Rating.objects.get(ticket=ticket)
    assert (rating.score, rating.comment) == (4, "Thanks!")
    # Final: a later click shows the rating and changes nothing.
    again = strict.get(link(ticket, 1))
    assert again.status_code == 200
    assert str(ERR_SURVEY_FINAL) in again.content.decode()
    assert Rating.objects.get(ticket=ticket).score == 4


def test_a_bad_comment_shows_the_form_again(world: World) -> None:
    ticket = resolved(world)
    url = link(ticket, 3)
    client = Client()
    client.get(url)
    response = client.post(url, {"score": "3", "comment": ""})
    assert response.status_code == 400
    assert response.context["form"].errors["comment"]
    too_long = client.post(url, {"score": "3", "comment": "x" * (RATING_COMMENT_MAX_LENGTH + 1)})
    assert too_long.status_code == 400
    assert Rating.objects.get(ticket=ticket).comment == ""


def test_the_score_is_a_one_click_star_row_like_the_portals(world: World) -> None:
    """Five labelled submit buttons, no radios: a star alone changes the score (the
    rating stays open to a comment), a star with a comment makes it final."""
    ticket = resolved(world)
    url = link(ticket, 2)
    client = Client()
    page = client.get(url).content.decode()
    assert 'type="radio"' not in page
    stars = re.findall(
        r'<button type="submit" class="star[^"]*" name="star" value="(\d)" '
        r'aria-label="([^"]+)" title="[^"]+" aria-pressed="(true|false)">',
        page,
    )
    assert [value for value, _label, _pressed in stars] == ["1", "2", "3", "4", "5"]
    assert all(label for _value, label, _pressed in stars)
    assert [value for value, _label, pressed in stars if pressed == "true"] == ["2"]
    assert page.count("star-off") == 3

    # One click on the fifth star: the score changes, nothing is final yet.
    changed = client.post(url, {"score": "2", "star": "5", "comment": ""})
    assert changed.status_code == 200
    rating = Rating.objects.get(ticket=ticket)
    assert (rating.score, rating.comment) == (5, "")
    assert "You rated the support 5 out of 5" in changed.content.decode()
    assert 'aria-pressed="true"' in changed.content.decode()
    assert changed.context["form"] is not None
    # A star with a comment sends both and makes the rating final.
    final = client.post(url, {"score": "5", "star": "4", "comment": "Quick fix"})
    assert final.status_code == 200
    rating.refresh_from_db()
    assert (rating.score, rating.comment) == (4, "Quick fix")
    assert final.context["form"] is None
    # A star outside the scale is refused like any bad input.
    assert client.post(url, {"score": "4", "star": "9", "comment": ""}).status_code == 400


@pytest.mark.parametrize(
    ("token", "status"),
    [("not-a-token", 400), ("WzEsNV0:1tZZZZ:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 400)],
)
def test_a_bad_link_is_a_clear_page(world: World, token: str, status: int) -> None:
    response = Client().get(reverse("survey:rate", kwargs={"token": token}))
    assert response.status_code == status
    page = response.content.decode()
    assert "This rating link is not valid" in page
    assert reverse("login") in page
    assert not Rating.objects.exists()


def test_an_expired_link_is_gone(world: World, settings: object) -> None:
    ticket = resolved(world)
    days = settings.SUPPORTDESK.SURVEY_LINK_DAYS  # type: ignore[attr-defined]
    with time_machine.travel(timezone.now() - timedelta(days=days, hours=1), tick=False):
        url = link(ticket, 5)
    response = Client().get(url)
    assert response.status_code == 410
    assert "This rating link has expired" in response.content.decode()
    assert not Rating.objects.exists()


def test_a_link_of_a_reopened_request_rates_nothing(world: World) -> None:
    ticket = resolved(world)
    ticket_reopen(ticket=ticket, actor=Actor.for_user(world.agent), reason="", now=T0)
    response = Client().get(link(ticket, 5))
    assert response.status_code == 409
    page = response.content.decode()
    assert "This request cannot be rated now" in page
    assert reverse("portal:request_detail", kwargs={"org": "alpha", "number": ticket.pk}) in page
    assert not Rating.objects.exists()
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_a_link_of_a_deleted_request_is_gone(world: World) -> None:
    ticket = resolved(world)
    url = link(ticket, 5)
    ticket.delete()
    assert Client().get(url).status_code == 410


def test_the_page_speaks_the_requests_language(world: World) -> None:
    ticket = resolved(world, language="pl")
    response = Client().get(link(ticket, 5))
    assert response.status_code == 200
    assert '<html lang="pl"' in response.content.decode()


def test_the_portal_shows_the_survey_rating(world: World) -> None:
    ticket = resolved(world)
    Client().get(link(ticket, 2))
    admin = Client()
    admin.force_login(world.admin_a.user)
    page = admin.get(
        reverse("portal:request_detail", kwargs={"org": "alpha", "number": ticket.pk})
    ).content.decode()
    assert "You rated the support 2 out of 5." in page
    assert "Rated from the link in the resolved e-mail" in page
    assert 'name="action" value="rate"' not in page


# --- From the e-mail, end to end -----------------------------------------------------------


def test_a_rating_link_from_the_resolved_email_records_the_score(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    ticket = resolved(world)
    outbox.deliver_events([ticket.events.get(kind=EventKind.RESOLVED).pk], now=timezone.now())
    [message] = mailoutbox
    text_links = re.findall(r"http://\S+/rate/\S+/", str(message.body))
    assert len(text_links) == 5
    html_body = next(body for body, kind in message.alternatives if kind == "text/html")  # type: ignore[attr-defined]
    html_links = re.findall(r'href="(http://[^"]+/rate/[^"]+/)"', str(html_body))
    assert len(html_links) == 5
    # The text's "4 – Satisfied" link, followed as a browser would (path only).
    four = re.search(r"4 – Satisfied:\s*(http://\S+/rate/\S+/)", str(message.body))
    assert four is not None
    path = "/" + four.group(1).split("/", 3)[3]
    response = Client().get(path)
    assert response.status_code == 200
    assert Rating.objects.get(ticket=ticket).score == 4
    # The HTML's first button is the 1.
    first = "/" + html_links[0].split("/", 3)[3]
    assert Client().get(first).status_code == 200
    assert Rating.objects.get(ticket=ticket).score == 1


def test_each_way_of_rating_records_its_source(world: World) -> None:
    from rest_framework.test import APIClient

    by_api, by_portal = resolved(world), resolved(world)
    api = APIClient()
    api.force_login(world.admin_a.user)
    rated = api.post(f"/api/v1/tickets/{by_api.reference}/rate/", {"score": 5}, format="json")
    assert rated.status_code == 201
    portal = Client()
    portal.force_login(world.admin_a.user)
    portal.post(
        reverse("portal:request_detail", kwargs={"org": "alpha", "number": by_portal.pk}),
        {"action": "rate", "score": "3"},
    )
    assert Rating.objects.get(ticket=by_api).source == RatingSource.API
    assert Rating.objects.get(ticket=by_portal).source == RatingSource.PORTAL
    # A link of the e-mail leaves the API's rating as it was.
    assert Client().get(link(by_api, 1)).status_code == 200
    assert Rating.objects.get(ticket=by_api).score == 5

"""The public rating page a link of the resolved e-mail opens (``/rate/<token>/``).

No sign-in: the signed, expiring token (``tickets.survey``) is the access check, and it
names one request and one score. Opening the link records the score at once (one click);
the page thanks the customer and offers a comment, which makes the rating final. The
latest link opened wins until then, so a mail scanner that opens every link first
cannot lock in a score the customer did not choose (``ticket_rate_from_survey``).

Every answer is a page: a tampered or expired link, a request reopened since, a rating
already final — never an error of the server.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from core.refusals import Outcome, captured
from tickets import survey
from tickets.access import ticket_for_survey_link
from tickets.forms import SurveyCommentForm
from tickets.models import Rating, Ticket
from tickets.services import ticket_rate_from_survey

TEMPLATE = "survey/rate.html"
PROBLEM_TEMPLATE = "survey/link_problem.html"


@never_cache
@require_http_methods(["GET", "POST"])
def rate(request: HttpRequest, token: str) -> HttpResponse:
    """GET records the link's score; POST sends the comment (and the score chosen on
    the page) for the same signed link."""
    try:
        vote = survey.read_rating_token(token)
    except survey.SurveyLinkExpired:
        return _link_problem(request, problem="expired", status=410)
    except survey.SurveyLinkInvalid:
        return _link_problem(request, problem="invalid", status=400)
    ticket = ticket_for_survey_link(vote.ticket_id)
    if ticket is None:
        return _link_problem(request, problem="gone", status=410)
    # The page speaks the request's language, as its e-mails do.
    with translation.override(ticket.language or None):
        if request.method == "POST":
            return _comment(request, ticket, token)
        with captured() as outcome:
            rating = ticket_rate_from_survey(ticket=ticket, score=vote.score, now=timezone.now())
            form = SurveyCommentForm(initial={"score": rating.score})
            return _page(request, ticket, rating=rating, form=form, token=token)
        return _refused(request, ticket, outcome)


def _comment(request: HttpRequest, ticket: Ticket, token: str) -> HttpResponse:
    form = SurveyCommentForm(request.POST)
    if form.is_valid():
        comment = form.comment_or_none()
        with captured() as outcome:
            rating = ticket_rate_from_survey(
                ticket=ticket, score=form.chosen_score(), comment=comment, now=timezone.now()
            )
            if comment is None:
                # A star alone changes the score, as another link would; the comment is
                # still offered. Shown here, not redirected: a GET of the link would
                # record the link's own score again.
                again = SurveyCommentForm(initial={"score": rating.score})
                return _page(request, ticket, rating=rating, form=again, token=token)
            return _page(request, ticket, rating=rating, form=None, token="", final=True)
        return _refused(request, ticket, outcome)
    current = Rating.objects.filter(ticket=ticket).first()
    return _page(request, ticket, rating=current, form=form, token=token, status=400)


def _refused(request: HttpRequest, ticket: Ticket, outcome: Outcome) -> HttpResponse:
    if outcome.refusal is not None and outcome.refusal.code == "already_rated":
        # Rated with a comment, or in the portal: that rating stands; show it.
        rating = Rating.objects.filter(ticket=ticket).first()
        return _page(
            request, ticket, rating=rating, form=None, token="", final=True, note=outcome.message
        )
    # Reopened since the e-mail: nothing to rate now.
    return _link_problem(
        request, problem="refused", status=409, ticket=ticket, note=outcome.message
    )


def _page(
    request: HttpRequest,
    ticket: Ticket,
    *,
    rating: Rating | None,
    form: SurveyCommentForm | None,
    token: str,
    final: bool = False,
    note: str = "",
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        TEMPLATE,
        {
            "ticket": ticket,
            "rating": rating,
            "label": survey.SCORE_LABELS.get(rating.score, "") if rating else "",
            "form": form,
            "action": reverse("survey:rate", kwargs={"token": token}) if token else "",
            "final": final,
            "note": note,
            "portal_url": _portal_url(ticket),
        },
        status=status,
    )


def _link_problem(
    request: HttpRequest,
    *,
    problem: str,
    status: int,
    ticket: Ticket | None = None,
    note: str = "",
) -> HttpResponse:
    return render(
        request,
        PROBLEM_TEMPLATE,
        {
            "problem": problem,
            "note": note,
            "days": survey.link_lifetime().days,
            "portal_url": _portal_url(ticket) if ticket is not None else reverse("login"),
        },
        status=status,
    )


def _portal_url(ticket: Ticket) -> str:
    """The request in the portal: signing in there is the way to rate without a link."""
    return reverse(
        "portal:request_detail", kwargs={"org": ticket.organization.slug, "number": ticket.pk}
    )

"""Signed one-click rating links of the resolved e-mail (POL-ROLE-2: support collects
feedback through surveys).

Each link carries a ticket id and a score, signed with ``django.core.signing`` under a
salt of its own (a token made for anything else is not a rating link) and timestamped,
so it works for ``SURVEY_LINK_DAYS`` days after the e-mail was written. The signature is
the only access check: whoever holds the e-mail may rate that request, without signing
in, and nothing else.

Plain functions: no models, no clock (the signer reads the time itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

SALT = "supportdesk.tickets.survey.rating"
SCORES = (1, 2, 3, 4, 5)
# What each score means, as the portal's rating form says it.
SCORE_LABELS: dict[int, Promise] = {
    1: _("Very dissatisfied"),
    2: _("Dissatisfied"),
    3: _("Neither satisfied nor dissatisfied"),
    4: _("Satisfied"),
    5: _("Very satisfied"),
}


class SurveyLinkInvalid(Exception):
    """Not one of our rating links: altered, cut short, or signed for something else."""


class SurveyLinkExpired(SurveyLinkInvalid):
    """A genuine rating link older than ``SURVEY_LINK_DAYS`` days."""


@dataclass(frozen=True, slots=True)
class SurveyVote:
    ticket_id: int
    score: int


def link_lifetime() -> timedelta:
    return timedelta(days=settings.SUPPORTDESK.SURVEY_LINK_DAYS)


def rating_token(ticket_id: int, score: int) -> str:
    """The signed token of one score for one request, for a URL path."""
    if score not in SCORES:
        raise ValueError(f"score {score!r} is not 1 to 5")
    return signing.dumps([int(ticket_id), int(score)], salt=SALT)


def read_rating_token(token: str) -> SurveyVote:
    """The vote a token carries; ``SurveyLinkExpired`` when it is too old,
    ``SurveyLinkInvalid`` for anything not signed by us under this salt."""
    try:
        value = signing.loads(token, salt=SALT, max_age=link_lifetime())
    except signing.SignatureExpired as expired:
        raise SurveyLinkExpired(str(expired)) from None
    except (signing.BadSignature, ValueError, UnicodeError) as bad:
        raise SurveyLinkInvalid(str(bad)) from None
    match value:
        case [int() as ticket_id, int() as score] if score in SCORES and ticket_id > 0:
            return SurveyVote(ticket_id=ticket_id, score=score)
    raise SurveyLinkInvalid("unexpected payload")

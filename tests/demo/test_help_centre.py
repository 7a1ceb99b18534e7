"""The demo's help-centre content: incidents (one open) and articles in both languages,
created once."""

from __future__ import annotations

import pytest
from django.utils import translation

from demo.data.help_centre import ARTICLES, INCIDENTS
from demo.seed import seed_help_center
from helpcenter.models import Article, Incident, IncidentStatus
from helpcenter.selectors import current_incidents, search_articles
from tests.conftest import T0

# One worker runs the demo modules one after another: two of them commit the demo data
# for the module's length, which another module's "created once" check must not meet.
pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("demo")]


def test_demo_content_is_created_once() -> None:
    # From a database without the demo's help content, whatever another module of this
    # worker committed (the demo modules seed for their length; rolled back with the test).
    Incident.objects.filter(title__in=[i.title for i in INCIDENTS]).delete()
    Article.objects.filter(slug__in=[a.slug for a in ARTICLES]).delete()
    # The tally is keyed by the models' names in the active language (the command prints
    # it); a test before this one in the worker may have left another language active.
    with translation.override("en"):
        created = seed_help_center(now=T0)
    assert created["incidents"] == len(INCIDENTS)
    assert created["help articles"] == len(ARTICLES)
    assert not seed_help_center(now=T0)
    assert Incident.objects.count() == len(INCIDENTS)
    active = list(current_incidents())
    assert len(active) == 1 and active[0].status == IncidentStatus.IDENTIFIED
    resolved = Incident.objects.past()
    assert all(i.resolved_at and i.updates.count() >= 2 for i in resolved)
    assert {a.language for a in Article.objects.published()} == {"en", "pl"}
    assert search_articles("shared mailbox", language="en", limit=3)
    assert search_articles("skrzynka", language="pl", limit=3)

"""The phone-line seed and the demo content are idempotent."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from helpcenter.demo import ARTICLES, INCIDENTS, seed_help_center
from helpcenter.models import Article, Incident, IncidentStatus, SupportLine
from helpcenter.selectors import current_incidents, search_articles, support_lines_for
from tests.conftest import T0

pytestmark = pytest.mark.django_db
seed_lines = importlib.import_module("helpcenter.migrations.0005_seed_support_lines").seed


def test_policy_numbers_are_seeded_once() -> None:
    count = SupportLine.objects.count()
    assert count == 12  # five countries and the default line, technical and billing each
    seed_lines(apps, None)
    assert SupportLine.objects.count() == count
    us = support_lines_for("US")
    assert {str(line.number) for line in us.lines} == {"+18008659408"}
    assert {line.kind for line in us.lines} == {"technical", "billing"}
    assert support_lines_for("AU").lines[0].number.as_national == "1800 197 503"
    assert support_lines_for("FR").is_fallback


def test_demo_content_is_created_once() -> None:
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

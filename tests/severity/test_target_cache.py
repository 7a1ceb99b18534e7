"""SLA targets are cached per process; an edit clears the cache at once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from severity.models import SlaTarget, target_for

pytestmark = pytest.mark.django_db


def test_a_second_lookup_needs_no_query(django_assert_num_queries: object) -> None:
    target_for("B", "technical")
    with django_assert_num_queries(0):  # type: ignore[operator]
        assert target_for("B", "technical").severity == "B"


def test_an_edit_is_seen_by_the_next_lookup() -> None:
    before = target_for("B", "technical").first_response
    row = SlaTarget.objects.get(severity="B", category="technical")
    row.first_response = before + timedelta(hours=1)
    row.save()
    assert target_for("B", "technical").first_response == before + timedelta(hours=1)


def test_a_calendar_edit_clears_the_targets_too() -> None:
    target = target_for("B", "technical")
    target.calendar.save()  # e.g. a holiday added in the admin touches its calendar
    assert target_for("B", "technical") is not target

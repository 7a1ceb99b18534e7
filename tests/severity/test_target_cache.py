"""Per-process caches of SLA policy versions and calendars (severity.models).

A published version never changes, so its targets are kept without expiry; a draft's
are read every time. Calendars are rebuilt on the revision any change bumps — by a save
in this process at once, by a write elsewhere within FRESHNESS_SECONDS."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db.models import F

import severity.models
from severity.models import (
    Calendar,
    CalendarHoliday,
    SlaPolicy,
    SlaPolicyVersion,
    SlaTarget,
    business_calendar,
    calendar_changed,
    version_in_force,
    version_target,
)
from tests.conftest import T0

pytestmark = pytest.mark.django_db


def _default_version() -> int:
    return version_in_force(policy_id=None, contract="standard")


def test_a_second_lookup_needs_no_query(django_assert_num_queries: object) -> None:
    version = _default_version()
    version_target(version, "B", "technical")
    with django_assert_num_queries(0):  # type: ignore[operator]
        assert version_target(version, "B", "technical").severity == "B"
        assert _default_version() == version


def test_a_draft_is_read_every_time() -> None:
    policy = SlaPolicy.objects.default()
    draft = SlaPolicyVersion.objects.create(policy=policy, number=99)
    row = SlaTarget.objects.get(version_id=_default_version(), severity="B", category="technical")
    row.pk = None
    row.version = draft
    row.save()
    assert version_target(draft.pk, "B", "technical").first_response == row.first_response
    SlaTarget.objects.filter(pk=row.pk).update(first_response=F("first_response") + timedelta(1))
    later = version_target(draft.pk, "B", "technical").first_response
    assert later == row.first_response + timedelta(1)


def test_the_most_specific_policy_wins() -> None:
    default = _default_version()
    policy = SlaPolicy.objects.create(name="Advanced terms", contract="advanced")
    advanced = SlaPolicyVersion.objects.create(policy=policy, number=1, published_at=T0)
    policy.current_version = advanced
    policy.save()
    own = SlaPolicy.objects.create(name="Alpha's own")
    alpha = SlaPolicyVersion.objects.create(policy=own, number=1, published_at=T0)
    own.current_version = alpha
    own.save()
    assert version_in_force(policy_id=None, contract="standard") == default
    assert version_in_force(policy_id=None, contract="advanced") == advanced.pk
    assert version_in_force(policy_id=own.pk, contract="advanced") == alpha.pk


def test_a_holiday_added_here_is_seen_at_once() -> None:
    calendar = Calendar.objects.get(name="Billing")
    before = business_calendar(calendar)
    CalendarHoliday.objects.create(calendar=calendar, date=date(2026, 12, 25), name="Xmas")
    after = business_calendar(calendar)  # the same (stale) row object
    assert date(2026, 12, 25) in after.holidays
    assert date(2026, 12, 25) not in before.holidays
    assert Calendar.objects.get(pk=calendar.pk).revision == calendar.revision + 1


def test_a_change_elsewhere_is_seen_after_the_freshness_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another process's write fires no signal here: the periodic read of the revisions
    finds it (a bulk insert stands in for it: it fires no signal either)."""
    calendar = Calendar.objects.get(name="Billing")
    business_calendar(calendar)
    CalendarHoliday.objects.bulk_create(
        [CalendarHoliday(calendar=calendar, date=date(2026, 12, 24))]
    )
    # Written elsewhere: the revision moves in the database only.
    Calendar.objects.filter(pk=calendar.pk).update(revision=F("revision") + 1)
    assert date(2026, 12, 24) not in business_calendar(calendar).holidays  # not re-read yet
    monkeypatch.setattr(severity.models, "FRESHNESS_SECONDS", 0.0)
    assert date(2026, 12, 24) in business_calendar(calendar).holidays


def test_bulk_writers_say_so() -> None:
    calendar = Calendar.objects.get(name="Billing")
    business_calendar(calendar)
    CalendarHoliday.objects.bulk_create(
        [CalendarHoliday(calendar=calendar, date=date(2026, 12, 31))]
    )
    calendar_changed(calendar.pk)
    assert date(2026, 12, 31) in business_calendar(calendar).holidays

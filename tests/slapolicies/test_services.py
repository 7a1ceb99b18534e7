"""The SLA policy editor's services (issue 15): versions, validation, the audit trail,
publishing with and without re-measuring open requests, organizations' own policies and
calendar edits."""

from __future__ import annotations

import dataclasses
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any

import pytest

from core.refusals import Refused
from severity.models import (
    Calendar,
    CalendarExtraDay,
    CalendarHoliday,
    SlaPolicy,
    SlaPolicyVersion,
)
from slapolicies import services
from slapolicies.models import ChangeAction, PolicyChange
from slapolicies.services import PolicyRefused, Steps, TargetValues, WindowValues
from tests.conftest import T0, World
from tickets.models import RemeasureKind, RemeasureStatus, Ticket
from tickets.remeasure import remeasure_run

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)


def steps_of(version: SlaPolicyVersion, **changes: object) -> Steps:
    steps = Steps(
        version.warning_share,
        version.second_escalation_factor,
        version.notify_supervisors,
        version.duty_emails,
    )
    return dataclasses.replace(steps, **changes)  # type: ignore[arg-type]


def targets_of(version: SlaPolicyVersion, **changes: dict[str, object]) -> list[TargetValues]:
    """The version's targets; ``B_technical={"first_response": 8 * H}`` changes one."""
    values = []
    for t in version.targets.select_related("calendar"):
        row = TargetValues(
            t.severity,
            t.category,
            t.calendar,
            t.first_response,
            t.update_cadence,
            t.cooperation_window,
        )
        values.append(dataclasses.replace(row, **changes.get(f"{t.severity}_{t.category}", {})))  # type: ignore[arg-type]
    return values


@pytest.fixture
def default() -> SlaPolicy:
    return SlaPolicy.objects.default()


def draft_with(world: World, policy: SlaPolicy, **changes: dict[str, object]) -> SlaPolicyVersion:
    draft = services.version_draft(policy=policy, actor=world.supervisor, now=T0)
    return services.draft_update(
        version=draft,
        steps=steps_of(draft),
        targets=targets_of(draft, **changes),
        note="B technical answered within 8 h",
        actor=world.supervisor,
        now=T0,
    )


def test_a_draft_copies_the_version_in_force_and_is_audited(
    world: World, default: SlaPolicy
) -> None:
    current = default.current_version
    assert current is not None
    draft = services.version_draft(policy=default, actor=world.supervisor, now=T0)

    assert draft.number == current.number + 1
    assert not draft.is_published
    assert draft.targets.count() == current.targets.count() == 9
    assert draft.warning_share == current.warning_share
    assert draft.duty_emails == current.duty_emails
    change = PolicyChange.objects.get(action=ChangeAction.VERSION_DRAFTED)
    assert (change.actor, change.policy, change.version) == (world.supervisor, default, draft)
    # A second draft of the same policy is refused: edit or discard the first.
    with pytest.raises(PolicyRefused) as refused:
        services.version_draft(policy=default, actor=world.supervisor, now=T0)
    assert refused.value.code == "draft_exists"


def test_editing_a_draft_records_what_changed(world: World, default: SlaPolicy) -> None:
    draft = draft_with(world, default, B_technical={"first_response": 8 * H})

    target = draft.targets.get(severity="B", category="technical")
    assert target.first_response == 8 * H
    assert draft.note == "B technical answered within 8 h"
    change = PolicyChange.objects.get(action=ChangeAction.DRAFT_UPDATED)
    assert change.before["targets"] == {"B/technical": {"first_response": 15 * 3600}}
    assert change.after["targets"] == {"B/technical": {"first_response": 8 * 3600}}
    # The version in force did not move.
    default.refresh_from_db()
    assert default.current_version_id != draft.pk


@pytest.mark.parametrize(
    ("changes", "steps", "field"),
    [
        ({"B_technical": {"first_response": timedelta(0)}}, {}, "B_technical_first_response"),
        ({"C_billing": {"cooperation_window": -H}}, {}, "C_billing_cooperation_window"),
        ({"A_presales": {"update_cadence": timedelta(0)}}, {}, "A_presales_update_cadence"),
        ({}, {"warning_share": Decimal("1")}, "warning_percent"),
        ({}, {"warning_share": Decimal("0")}, "warning_percent"),
        ({}, {"second_escalation_factor": Decimal("1")}, "second_escalation_factor"),
        ({}, {"duty_emails": "duty@provider.test\nnot-an-address"}, "duty_emails"),
    ],
)
def test_invalid_terms_are_refused_next_to_their_field_and_nothing_changes(
    world: World,
    default: SlaPolicy,
    changes: dict[str, dict[str, object]],
    steps: dict[str, object],
    field: str,
) -> None:
    draft = services.version_draft(policy=default, actor=world.supervisor, now=T0)
    before = services.version_snapshot(draft)
    with pytest.raises(PolicyRefused) as refused:
        services.draft_update(
            version=draft,
            steps=steps_of(draft, **steps),
            targets=targets_of(draft, **changes),
            note="",
            actor=world.supervisor,
            now=T0,
        )
    assert field in [p.field for p in refused.value.problems]
    draft.refresh_from_db()
    assert services.version_snapshot(draft) == before
    assert not PolicyChange.objects.filter(action=ChangeAction.DRAFT_UPDATED).exists()


def test_every_severity_and_category_needs_a_target(world: World, default: SlaPolicy) -> None:
    draft = services.version_draft(policy=default, actor=world.supervisor, now=T0)
    partial = [t for t in targets_of(draft) if (t.severity, t.category) != ("C", "presales")]
    with pytest.raises(PolicyRefused) as refused:
        services.draft_update(
            version=draft,
            steps=steps_of(draft),
            targets=partial,
            note="",
            actor=world.supervisor,
            now=T0,
        )
    assert refused.value.code == "incomplete"
    assert refused.value.field == "C_presales_first_response"


def test_publishing_for_new_requests_only_leaves_open_ones_alone(
    world: World, default: SlaPolicy, django_capture_on_commit_callbacks: object
) -> None:
    ticket = world.file(now=T0)
    assert (ticket.severity, ticket.category) == ("B", "technical")
    old_version, old_due = ticket.sla_version_id, ticket.response_due_at
    draft = draft_with(world, default, B_technical={"first_response": 8 * H})

    with django_capture_on_commit_callbacks() as callbacks:  # type: ignore[operator]
        job = services.version_publish(
            version=draft, actor=world.supervisor, apply_to_open=False, now=T0 + H
        )

    assert job is None
    assert callbacks == []  # nothing queued
    default.refresh_from_db()
    draft.refresh_from_db()
    assert default.current_version_id == draft.pk
    assert (draft.published_at, draft.published_by) == (T0 + H, world.supervisor)
    ticket.refresh_from_db()
    assert (ticket.sla_version_id, ticket.response_due_at) == (old_version, old_due)
    change = PolicyChange.objects.get(action=ChangeAction.VERSION_PUBLISHED)
    assert change.before == {"version_in_force": old_version}
    assert change.after["apply_to_open"] is False
    # New requests are measured against it.
    assert world.file(now=T0 + 2 * H).sla_version_id == draft.pk


def test_publishing_and_re_measuring_moves_open_requests(
    world: World,
    default: SlaPolicy,
    django_capture_on_commit_callbacks: object,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
) -> None:
    # The SLA tasks are published here, as in production (tests switch them off).
    settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, DEADLINE_TASKS=True)
    ticket = world.file(now=T0)
    old_due = ticket.response_due_at
    assert old_due is not None
    draft = draft_with(world, default, B_technical={"first_response": 8 * H})
    queued: list[tuple[object, ...]] = []
    monkeypatch.setattr(
        "tickets.tasks.remeasure.apply_async", lambda *a, **kw: queued.append((a, kw))
    )

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        job = services.version_publish(
            version=draft, actor=world.supervisor, apply_to_open=True, now=T0 + H
        )

    assert job is not None
    # The worker's task is queued once the publish commits.
    assert [kw["args"] for _, kw in queued] == [(job.pk,)]
    assert (job.kind, job.version_id, job.total) == (RemeasureKind.POLICY, draft.pk, 1)
    assert job.requested_by == world.supervisor
    done = remeasure_run(job.pk)
    assert done.status == RemeasureStatus.DONE
    assert (done.done, done.moved_earlier, done.moved_later) == (1, 1, 0)
    ticket.refresh_from_db()
    assert ticket.sla_version_id == draft.pk
    assert ticket.response_due_at is not None and ticket.response_due_at < old_due


def test_a_published_version_can_no_longer_change(world: World, default: SlaPolicy) -> None:
    draft = draft_with(world, default, B_technical={"first_response": 8 * H})
    services.version_publish(version=draft, actor=world.supervisor, apply_to_open=False, now=T0)

    for attempt in (
        lambda: services.draft_update(
            version=draft,
            steps=steps_of(draft),
            targets=targets_of(draft),
            note="sneaky",
            actor=world.supervisor,
            now=T0,
        ),
        lambda: services.version_publish(
            version=draft, actor=world.supervisor, apply_to_open=False, now=T0
        ),
        lambda: services.draft_discard(version=draft, actor=world.supervisor, now=T0),
    ):
        with pytest.raises(PolicyRefused) as refused:
            attempt()
        assert refused.value.code == "published"
    draft.refresh_from_db()
    assert draft.note == "B technical answered within 8 h"


def test_a_discarded_draft_leaves_its_audit_row(world: World, default: SlaPolicy) -> None:
    draft = services.version_draft(policy=default, actor=world.supervisor, now=T0)
    number = draft.number
    services.draft_discard(version=draft, actor=world.supervisor, now=T0)

    assert not SlaPolicyVersion.objects.filter(pk=draft.pk).exists()
    change = PolicyChange.objects.get(action=ChangeAction.DRAFT_DISCARDED)
    assert change.before["number"] == number
    assert change.version is None
    # A new draft may be started again.
    assert services.version_draft(policy=default, actor=world.supervisor, now=T0).number == number


def test_policy_create_validates_and_its_first_draft_copies_the_default(
    world: World, default: SlaPolicy
) -> None:
    with pytest.raises(PolicyRefused) as refused:
        services.policy_create(
            name=" standard   TERMS ", description="", contract="", actor=world.supervisor, now=T0
        )
    assert refused.value.field == "name"
    with pytest.raises(PolicyRefused) as refused:
        services.policy_create(
            name="Gold", description="", contract="platinum", actor=world.supervisor, now=T0
        )
    assert refused.value.field == "contract"

    policy = services.policy_create(
        name="Alpha premium", description="Faster B", contract="", actor=world.supervisor, now=T0
    )
    draft = services.version_draft(policy=policy, actor=world.supervisor, now=T0)
    assert draft.number == 1
    assert draft.targets.count() == 9
    assert PolicyChange.objects.filter(action=ChangeAction.POLICY_CREATED, policy=policy).exists()


def test_an_organization_gets_its_own_policy(
    world: World, default: SlaPolicy, django_capture_on_commit_callbacks: object
) -> None:
    ticket = world.file(now=T0)
    old_due = ticket.response_due_at
    assert old_due is not None
    policy = services.policy_create(
        name="Alpha premium", description="", contract="", actor=world.supervisor, now=T0
    )
    # Without a published version there is nothing to measure against.
    with pytest.raises(PolicyRefused) as refused:
        services.organization_set_policy(
            organization=world.org_a,
            policy=policy,
            actor=world.supervisor,
            apply_to_open=False,
            now=T0,
        )
    assert refused.value.code == "unpublished"
    version = draft_with(world, policy, B_technical={"first_response": 8 * H})
    services.version_publish(version=version, actor=world.supervisor, apply_to_open=False, now=T0)

    job = services.organization_set_policy(
        organization=world.org_a, policy=policy, actor=world.supervisor, apply_to_open=True, now=T0
    )

    world.org_a.refresh_from_db()
    assert world.org_a.sla_policy == policy
    assert job is not None
    assert (job.kind, job.organization, job.version_id) == (
        RemeasureKind.ORGANIZATION,
        world.org_a,
        version.pk,
    )
    remeasure_run(job.pk)
    ticket.refresh_from_db()
    assert ticket.sla_version_id == version.pk
    assert ticket.response_due_at is not None and ticket.response_due_at < old_due
    # Bravo's requests are not Alpha's policy's business.
    assert world.file(world.admin_b, now=T0).sla_version_id == default.current_version_id
    change = PolicyChange.objects.get(action=ChangeAction.ORGANIZATION_POLICY_SET)
    assert (change.organization, change.before, change.after["policy"]) == (
        world.org_a,
        {"policy": None},
        policy.pk,
    )
    with pytest.raises(PolicyRefused) as refused:
        services.organization_set_policy(
            organization=world.org_a,
            policy=policy,
            actor=world.supervisor,
            apply_to_open=False,
            now=T0,
        )
    assert refused.value.code == "unchanged"
    # Back to its contract's policy (the default here), for new requests only.
    assert (
        services.organization_set_policy(
            organization=world.org_a,
            policy=None,
            actor=world.supervisor,
            apply_to_open=False,
            now=T0,
        )
        is None
    )
    world.org_a.refresh_from_db()
    assert world.org_a.sla_policy is None
    assert Ticket.objects.get(pk=ticket.pk).sla_version_id == version.pk


# --- Calendars -------------------------------------------------------------------------------


@pytest.fixture
def calendar() -> Calendar:
    return Calendar.objects.get(name="Pre-sales")


def test_windows_are_replaced_validated_and_audited(world: World, calendar: Calendar) -> None:
    revision = calendar.revision
    before = list(calendar.windows.values_list("weekday", "start", "end"))
    for windows, code in (
        ([], "never_open"),
        (
            [WindowValues(0, time(9), time(12)), WindowValues(0, time(11), time(17))],
            "invalid_windows",
        ),
        ([WindowValues(0, time(17), time(9))], "invalid_windows"),
    ):
        with pytest.raises(PolicyRefused) as refused:
            services.windows_set(calendar=calendar, windows=windows, actor=world.supervisor, now=T0)
        assert (refused.value.code, refused.value.field) == (code, "windows")
    assert list(calendar.windows.values_list("weekday", "start", "end")) == before

    services.windows_set(
        calendar=calendar,
        windows=[WindowValues(d, time(8), time(16)) for d in range(5)]
        + [WindowValues(5, time(10), None)],
        actor=world.supervisor,
        now=T0,
    )

    assert calendar.windows.count() == 6
    assert calendar.windows.get(weekday=5).end is None
    calendar.refresh_from_db()
    assert calendar.revision > revision
    change = PolicyChange.objects.get(action=ChangeAction.WINDOWS_SET)
    assert change.after["windows"][0] == "0 08:00-16:00"
    assert change.after["windows"][-1] == "5 10:00-24:00"


def test_holidays_and_extra_days_are_added_and_removed(world: World, calendar: Calendar) -> None:
    day = date(2026, 8, 17)
    holiday = services.holiday_add(
        calendar=calendar, date=day, name="  Company   day ", actor=world.supervisor, now=T0
    )
    assert holiday.name == "Company day"
    with pytest.raises(PolicyRefused) as refused:
        services.holiday_add(calendar=calendar, date=day, name="", actor=world.supervisor, now=T0)
    assert refused.value.field == "date"
    # A holiday wins over an extra working day: that row would do nothing.
    with pytest.raises(PolicyRefused) as refused:
        services.extra_day_add(calendar=calendar, date=day, name="", actor=world.supervisor, now=T0)
    assert refused.value.code == "conflict"
    extra = services.extra_day_add(
        calendar=calendar, date=date(2026, 8, 22), name="Make-up", actor=world.supervisor, now=T0
    )
    revision = Calendar.objects.get(pk=calendar.pk).revision

    services.holiday_remove(
        calendar=calendar, holiday_id=holiday.pk, actor=world.supervisor, now=T0
    )
    services.extra_day_remove(calendar=calendar, day_id=extra.pk, actor=world.supervisor, now=T0)

    assert not CalendarHoliday.objects.filter(pk=holiday.pk).exists()
    assert not CalendarExtraDay.objects.filter(pk=extra.pk).exists()
    assert Calendar.objects.get(pk=calendar.pk).revision > revision
    actions = list(
        PolicyChange.objects.filter(calendar=calendar)
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [
        ChangeAction.HOLIDAY_ADDED,
        ChangeAction.EXTRA_DAY_ADDED,
        ChangeAction.HOLIDAY_REMOVED,
        ChangeAction.EXTRA_DAY_REMOVED,
    ]
    # Another calendar's day is not removed through this one.
    other = CalendarHoliday.objects.exclude(calendar=calendar).first()
    if other is not None:
        with pytest.raises(Refused):
            services.holiday_remove(
                calendar=calendar, holiday_id=other.pk, actor=world.supervisor, now=T0
            )


def test_calendar_settings_are_validated(world: World, calendar: Calendar) -> None:
    values = {
        "name": "Pre-sales",
        "time_zone": "Mars/Olympus",
        "uses_organization_time_zone": True,
        "extra_day_template": 0,
        "holiday_country": "PL",
        "holiday_subdivision": "",
    }
    with pytest.raises(PolicyRefused) as refused:
        services.calendar_update(calendar=calendar, actor=world.supervisor, now=T0, **values)
    assert refused.value.field == "time_zone"
    services.calendar_update(
        calendar=calendar,
        actor=world.supervisor,
        now=T0,
        **{**values, "time_zone": "Europe/Warsaw"},
    )
    calendar.refresh_from_db()
    assert calendar.time_zone == "Europe/Warsaw"
    change = PolicyChange.objects.get(action=ChangeAction.CALENDAR_UPDATED)
    assert change.after == {"time_zone": "Europe/Warsaw"}


ICS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VEVENT\r
UID:1@test\r
DTSTART;VALUE=DATE:20260814\r
DTEND;VALUE=DATE:20260815\r
SUMMARY:Office closed\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:2@test\r
DTSTART:20260820T100000Z\r
DTEND:20260820T120000Z\r
SUMMARY:A meeting\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_import_from_an_ics_file_and_public_holidays(world: World) -> None:
    billing = Calendar.objects.get(name="Billing")
    imported = services.calendar_import(
        calendar=billing, actor=world.supervisor, now=T0, ics=ICS, file_name="closures.ics"
    )
    assert imported.result.added == 1
    assert imported.skipped  # the timed event
    assert billing.holidays.get(date=date(2026, 8, 14)).source == "ics:closures.ics"
    again = services.calendar_import(
        calendar=billing, actor=world.supervisor, now=T0, ics=ICS, file_name="closures.ics"
    )
    assert (again.result.added, again.result.unchanged) == (0, 1)

    with pytest.raises(PolicyRefused) as refused:
        services.calendar_import(
            calendar=billing, actor=world.supervisor, now=T0, ics=b"hello", file_name="x.ics"
        )
    assert refused.value.field == "file"
    with pytest.raises(PolicyRefused) as refused:
        services.calendar_import(
            calendar=billing,
            actor=world.supervisor,
            now=T0,
            ics=b"BEGIN:VCALENDAR" + b" " * 1_000_001,
            file_name="big.ics",
        )
    assert refused.value.code == "too_large"

    plain = Calendar.objects.create(name="Plain", time_zone="UTC")
    public = services.calendar_import(
        calendar=plain, actor=world.supervisor, now=T0, country="CN", years=[2026]
    )
    assert public.result.added > 0
    # China's make-up working days arrive as extra working days.
    assert plain.extra_days.filter(source="holidays:CN").exists()
    with pytest.raises(PolicyRefused) as refused:
        services.calendar_import(
            calendar=plain, actor=world.supervisor, now=T0, country="XX", years=[2026]
        )
    assert refused.value.field == "country"
    assert (
        PolicyChange.objects.filter(action=ChangeAction.CALENDAR_IMPORTED).count() == 3
    )  # the refused ones left nothing

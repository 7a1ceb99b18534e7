"""Writes to SLA policies and business calendars from the desk (issue 15, item 3).

Every function takes keyword arguments and the current time, runs in one transaction
and records one ``PolicyChange`` row (who, what, when, before, after) in it. Refusals a
supervisor can cause raise ``PolicyRefused`` with the form field at fault.

Policies are versioned: a supervisor drafts a copy of the version in force, edits it,
and publishes it. Publishing makes the version the one new tickets are measured
against; open tickets move onto it only when the supervisor asks
(``apply_to_open``: a re-measure job, tickets.remeasure). Calendars are facts and are
edited in place: the sweep re-measures the tickets on a changed calendar by itself.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models, transaction
from django.db.models import Max
from django.utils.translation import gettext_lazy as _

from audit import services as audit
from audit.actions import Action
from core.refusals import Refused
from severity.calendar_services import (
    ImportResult,
    calendar_import_days,
    calendar_import_public_days,
    ics_source,
    public_source,
)
from severity.calendars import EMPTY_WINDOW, OVERLAPPING_WINDOWS, BusinessCalendar, Window
from severity.choices import Category, Severity
from severity.holiday_sources import MAX_ICS_BYTES, ics_read
from severity.models import (
    Calendar,
    CalendarExtraDay,
    CalendarHoliday,
    CalendarWindow,
    SlaPolicy,
    SlaPolicyVersion,
    SlaTarget,
    calendar_changed,
)
from slapolicies.models import ChangeAction, PolicyChange
from tenants.models import Contract, Organization, User
from tickets.models import RemeasureJob, RemeasureKind
from tickets.remeasure import remeasure_start

__all__ = [
    "PolicyRefused",
    "Steps",
    "TargetValues",
    "WindowValues",
    "calendar_import",
    "calendar_update",
    "draft_discard",
    "draft_update",
    "extra_day_add",
    "extra_day_remove",
    "holiday_add",
    "holiday_remove",
    "organization_set_policy",
    "policy_create",
    "target_field",
    "version_draft",
    "version_publish",
    "windows_set",
]

# The longest target a form accepts: a year of working time is a typing mistake.
MAX_TARGET = dt.timedelta(days=366)
IMPORT_YEARS = range(2000, 2101)

# Refusals (module constants, reused by the tests).
ERR_POLICY_NAME = _("Give the policy a name.")
ERR_POLICY_NAME_TAKEN = _("A policy with this name exists already.")
ERR_CONTRACT = _("Choose a contract from the list.")
ERR_CONTRACT_TAKEN = _("The contract has a policy already: edit that one instead.")
ERR_UNPUBLISHED = _("The policy has no published version yet: publish one first.")
ERR_SAME_POLICY = _("The organization has this policy already.")
ERR_NO_DEFAULT = _("There is no published default policy to start from.")
ERR_DRAFT_EXISTS = _("This policy has a draft already: edit or discard it first.")
ERR_DRAFT_GONE = _("This draft no longer exists.")
ERR_PUBLISHED = _("This version is published and can no longer change: draft a new version.")
ERR_WARNING_SHARE = _("The warning comes after 0 % and before 100 % of the target.")
ERR_SECOND_FACTOR = _("The second escalation comes after the deadline: above 1, at most 10 times.")
ERR_EMAIL = _("%(address)s is not an e-mail address.")
ERR_DURATION_MISSING = _("Enter a duration.")
ERR_DURATION_ZERO = _("Enter a duration above zero.")
ERR_DURATION_LONG = _("At most 366 days.")
ERR_TARGET_MISSING = _("Every severity and category needs a target: %(kind)s has none.")
ERR_NOTE_LONG = _("At most 2000 characters.")
ERR_CALENDAR_NAME = _("Give the calendar a name.")
ERR_CALENDAR_NAME_TAKEN = _("Another calendar has this name.")
ERR_TIME_ZONE = _("%(value)s is not a known time zone.")
ERR_WEEKDAY = _("Choose a weekday.")
ERR_COUNTRY_CODE = _("A two-letter country code (CN, PL …).")
ERR_NEVER_OPEN = _("A calendar needs some working time: keep at least one window.")
ERR_WINDOW_EMPTY = _("A window must close after it opens (leave “closes” empty for 24:00).")
ERR_WINDOWS_OVERLAP = _("Two windows of the same day overlap.")
ERR_WINDOWS_INVALID = _("These windows are not valid: %(error)s")
ERR_HOLIDAY_TAKEN = _("%(date)s is a holiday already.")
ERR_HOLIDAY_GONE = _("This holiday is gone already.")
ERR_EXTRA_DAY_TAKEN = _("%(date)s is an extra working day already.")
ERR_EXTRA_DAY_ON_HOLIDAY = _("%(date)s is a holiday: remove the holiday first.")
ERR_EXTRA_DAY_GONE = _("This extra working day is gone already.")
ERR_FILE_TOO_LARGE = _("The file is too large: at most 1 MB.")
ERR_FILE_UNREADABLE = _("The file could not be read: %(error)s")
ERR_NO_YEARS = _("Choose at least one year.")
ERR_YEARS_RANGE = _("Years from 2000 to 2100.")
ERR_NO_PUBLIC_DAYS = _("No public holidays for this country or region: %(error)s")


class PolicyRefused(Refused):
    """An SLA policy or calendar edit the rules refuse."""


def target_field(severity: str, category: str, name: str) -> str:
    """The form field of one target value ("B_technical_first_response"), shared by the
    draft form and the refusals naming it."""
    return f"{severity}_{category}_{name}"


@dataclass(frozen=True)
class TargetValues:
    severity: str
    category: str
    calendar: Calendar
    first_response: dt.timedelta
    update_cadence: dt.timedelta | None
    cooperation_window: dt.timedelta


@dataclass(frozen=True)
class Steps:
    """A version's escalation steps."""

    warning_share: Decimal
    second_escalation_factor: Decimal
    notify_supervisors: bool
    duty_emails: str


@dataclass(frozen=True)
class WindowValues:
    weekday: int
    start: dt.time
    end: dt.time | None  # None: 24:00


# --- Audit -----------------------------------------------------------------------------------


def _record(
    action: str,
    *,
    actor: User | None,
    now: dt.datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    policy: SlaPolicy | None = None,
    version: SlaPolicyVersion | None = None,
    calendar: Calendar | None = None,
    organization: Organization | None = None,
) -> PolicyChange:
    change = PolicyChange.objects.create(
        actor=actor,
        action=action,
        policy=policy,
        version=version,
        calendar=calendar,
        organization=organization,
        before=before or {},
        after=after or {},
        created_at=now,
    )
    target: models.Model | None = version or policy or calendar or organization
    audit.record(
        action=_AUDIT_ACTIONS[ChangeAction(action)],
        actor=actor,
        organization=organization,
        target=target,
        target_label=str(target) if target is not None else "",
        before=before,
        # What kind of edit it was, beside its values.
        after={"change": action, **(after or {})},
        now=now,
    )
    return change


# The trail's vocabulary (audit.actions) for each kind of editor write.
_AUDIT_ACTIONS: dict[ChangeAction, str] = {
    ChangeAction.POLICY_CREATED: Action.SLA_POLICY_CHANGED,
    ChangeAction.ORGANIZATION_POLICY_SET: Action.ORGANIZATION_CHANGED,
    ChangeAction.VERSION_DRAFTED: Action.SLA_POLICY_CHANGED,
    ChangeAction.DRAFT_UPDATED: Action.SLA_POLICY_CHANGED,
    ChangeAction.DRAFT_DISCARDED: Action.SLA_POLICY_CHANGED,
    ChangeAction.VERSION_PUBLISHED: Action.SLA_POLICY_PUBLISHED,
    ChangeAction.CALENDAR_UPDATED: Action.CALENDAR_CHANGED,
    ChangeAction.WINDOWS_SET: Action.CALENDAR_CHANGED,
    ChangeAction.HOLIDAY_ADDED: Action.CALENDAR_CHANGED,
    ChangeAction.HOLIDAY_REMOVED: Action.CALENDAR_CHANGED,
    ChangeAction.EXTRA_DAY_ADDED: Action.CALENDAR_CHANGED,
    ChangeAction.EXTRA_DAY_REMOVED: Action.CALENDAR_CHANGED,
    ChangeAction.CALENDAR_IMPORTED: Action.CALENDAR_CHANGED,
}


def _seconds(value: dt.timedelta | None) -> int | None:
    return int(value.total_seconds()) if value is not None else None


def version_snapshot(version: SlaPolicyVersion) -> dict[str, Any]:
    """A version's terms as JSON: its steps, note and targets (durations in seconds)."""
    return {
        "note": version.note,
        "warning_share": str(version.warning_share),
        "second_escalation_factor": str(version.second_escalation_factor),
        "notify_supervisors": version.notify_supervisors,
        "duty_emails": version.duty_addresses,
        "targets": {
            f"{t.severity}/{t.category}": {
                "calendar": t.calendar_id,
                "first_response": _seconds(t.first_response),
                "update_cadence": _seconds(t.update_cadence),
                "cooperation_window": _seconds(t.cooperation_window),
            }
            for t in version.targets.order_by("severity", "category")
        },
    }


def _diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only what differs, one level down into the targets."""
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key), after.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            inner_old, inner_new = _diff(a, b)
            if inner_old or inner_new:
                old[key], new[key] = inner_old, inner_new
        elif a != b:
            old[key], new[key] = a, b
    return old, new


# --- Policies --------------------------------------------------------------------------------


@transaction.atomic
def policy_create(
    *, name: str, description: str, contract: str, actor: User, now: dt.datetime
) -> SlaPolicy:
    """A new policy without versions: its first draft copies the default's terms."""
    name = " ".join(name.split())
    problems: list[PolicyRefused] = []
    if not name:
        problems.append(PolicyRefused(ERR_POLICY_NAME, field="name"))
    elif SlaPolicy.objects.filter(name__iexact=name).exists():
        problems.append(PolicyRefused(ERR_POLICY_NAME_TAKEN, field="name", code="taken"))
    if contract and contract not in Contract.values:
        problems.append(PolicyRefused(ERR_CONTRACT, field="contract"))
    elif contract and SlaPolicy.objects.filter(contract=contract).exists():
        problems.append(
            PolicyRefused(
                ERR_CONTRACT_TAKEN,
                field="contract",
                code="taken",
            )
        )
    if problems:
        raise PolicyRefused.together(problems)
    policy = SlaPolicy.objects.create(
        name=name, description=description.strip(), contract=contract, created_at=now
    )
    _record(
        ChangeAction.POLICY_CREATED,
        actor=actor,
        now=now,
        policy=policy,
        after={"name": name, "description": policy.description, "contract": contract},
    )
    return policy


@transaction.atomic
def organization_set_policy(
    *,
    organization: Organization,
    policy: SlaPolicy | None,
    actor: User,
    apply_to_open: bool,
    now: dt.datetime,
) -> RemeasureJob | None:
    """Give an organization its own policy (None: back to its contract's, else the
    default). New requests use it at once; open ones move onto it only with
    ``apply_to_open`` (a re-measure job, started after commit)."""
    locked = Organization.objects.select_for_update().get(pk=organization.pk)
    if policy is not None:
        policy = SlaPolicy.objects.get(pk=policy.pk)  # its version in force as it is now
    if policy is not None and policy.current_version_id is None:
        raise PolicyRefused(
            ERR_UNPUBLISHED,
            field="policy",
            code="unpublished",
        )
    new_id = policy.pk if policy is not None else None
    if locked.sla_policy_id == new_id:
        raise PolicyRefused(ERR_SAME_POLICY, field="policy", code="unchanged")
    before = {"policy": locked.sla_policy_id}
    locked.sla_policy = policy
    locked.save(update_fields=["sla_policy"])
    organization.sla_policy = policy
    _record(
        ChangeAction.ORGANIZATION_POLICY_SET,
        actor=actor,
        now=now,
        organization=locked,
        policy=policy,
        before=before,
        after={"policy": new_id, "apply_to_open": apply_to_open},
    )
    if not apply_to_open:
        return None
    # The version the organization's requests move onto, read here rather than from the
    # per-process cache, which may not know a policy published a moment ago elsewhere.
    target = (
        SlaPolicyVersion.objects.get(pk=policy.current_version_id)
        if policy is not None and policy.current_version_id is not None
        else None
    )
    return remeasure_start(
        kind=RemeasureKind.ORGANIZATION,
        now=now,
        requested_by=actor,
        organization=locked,
        version=target,
    )


# --- Versions --------------------------------------------------------------------------------


def _source_version(policy: SlaPolicy) -> SlaPolicyVersion:
    """What a new draft copies: the policy's version in force, else its latest version,
    else (a new policy) the default policy's version in force."""
    if policy.current_version_id is not None:
        return SlaPolicyVersion.objects.get(pk=policy.current_version_id)
    latest = policy.versions.order_by("-number").first()
    if latest is not None:
        return latest
    default = SlaPolicy.objects.filter(is_default=True).exclude(current_version=None).first()
    if default is None or default.current_version_id is None:
        raise PolicyRefused(ERR_NO_DEFAULT)
    return SlaPolicyVersion.objects.get(pk=default.current_version_id)


@transaction.atomic
def version_draft(*, policy: SlaPolicy, actor: User, now: dt.datetime) -> SlaPolicyVersion:
    """A new draft version of ``policy``: a copy of the version in force (its targets and
    escalation steps). A policy has at most one draft at a time."""
    SlaPolicy.objects.select_for_update().filter(pk=policy.pk).first()
    if policy.versions.filter(published_at__isnull=True).exists():
        raise PolicyRefused(ERR_DRAFT_EXISTS, code="draft_exists")
    source = _source_version(policy)
    number = (policy.versions.aggregate(top=Max("number"))["top"] or 0) + 1
    draft = SlaPolicyVersion.objects.create(
        policy=policy,
        number=number,
        created_by=actor,
        created_at=now,
        warning_share=source.warning_share,
        second_escalation_factor=source.second_escalation_factor,
        notify_supervisors=source.notify_supervisors,
        duty_emails=source.duty_emails,
    )
    SlaTarget.objects.bulk_create(
        SlaTarget(
            version=draft,
            severity=t.severity,
            category=t.category,
            calendar_id=t.calendar_id,
            first_response=t.first_response,
            update_cadence=t.update_cadence,
            cooperation_window=t.cooperation_window,
        )
        for t in source.targets.all()
    )
    _record(
        ChangeAction.VERSION_DRAFTED,
        actor=actor,
        now=now,
        policy=policy,
        version=draft,
        after={"number": number, "copied_from": str(source)},
    )
    return draft


def _locked_draft(version: SlaPolicyVersion) -> SlaPolicyVersion:
    locked = (
        SlaPolicyVersion.objects.select_for_update()
        .select_related("policy")
        .filter(pk=version.pk)
        .first()
    )
    if locked is None:
        raise PolicyRefused(ERR_DRAFT_GONE, code="not_found")
    if locked.is_published:
        raise PolicyRefused(
            ERR_PUBLISHED,
            code="published",
        )
    return locked


def _check_steps(steps: Steps) -> list[PolicyRefused]:
    problems = []
    if not Decimal(0) < steps.warning_share < Decimal(1):
        problems.append(
            PolicyRefused(
                ERR_WARNING_SHARE,
                field="warning_percent",
            )
        )
    if not Decimal(1) < steps.second_escalation_factor <= Decimal(10):
        problems.append(
            PolicyRefused(
                ERR_SECOND_FACTOR,
                field="second_escalation_factor",
            )
        )
    for address in _addresses(steps.duty_emails):
        try:
            validate_email(address)
        except ValidationError:
            problems.append(
                PolicyRefused(
                    ERR_EMAIL % {"address": address},
                    field="duty_emails",
                )
            )
    return problems


def _addresses(text: str) -> list[str]:
    return [a.strip() for a in text.replace(",", "\n").splitlines() if a.strip()]


def _check_targets(
    targets: Iterable[TargetValues],
) -> tuple[dict[tuple[str, str], TargetValues], list[PolicyRefused]]:
    problems: list[PolicyRefused] = []
    by_kind: dict[tuple[str, str], TargetValues] = {}
    for target in targets:
        by_kind[target.severity, target.category] = target
        for name, value, required in (
            ("first_response", target.first_response, True),
            ("update_cadence", target.update_cadence, False),
            ("cooperation_window", target.cooperation_window, True),
        ):
            field = target_field(target.severity, target.category, name)
            if value is None:
                if required:
                    problems.append(PolicyRefused(ERR_DURATION_MISSING, field=field))
            elif value <= dt.timedelta(0):
                problems.append(PolicyRefused(ERR_DURATION_ZERO, field=field))
            elif value > MAX_TARGET:
                problems.append(PolicyRefused(ERR_DURATION_LONG, field=field))
    for severity in Severity.values:
        for category in Category.values:
            if (severity, category) not in by_kind:
                problems.append(
                    PolicyRefused(
                        ERR_TARGET_MISSING % {"kind": f"{severity} / {category}"},
                        field=target_field(severity, category, "first_response"),
                        code="incomplete",
                    )
                )
    return by_kind, problems


@transaction.atomic
def draft_update(
    *,
    version: SlaPolicyVersion,
    steps: Steps,
    targets: Iterable[TargetValues],
    note: str,
    actor: User,
    now: dt.datetime,
) -> SlaPolicyVersion:
    """Replace a draft's steps, targets and note. Published versions never change."""
    draft = _locked_draft(version)
    by_kind, problems = _check_targets(targets)
    problems = _check_steps(steps) + problems
    if len(note) > 2000:
        problems.append(PolicyRefused(ERR_NOTE_LONG, field="note"))
    if problems:
        raise PolicyRefused.together(problems)
    before = version_snapshot(draft)
    draft.note = note.strip()
    draft.warning_share = steps.warning_share
    draft.second_escalation_factor = steps.second_escalation_factor
    draft.notify_supervisors = steps.notify_supervisors
    draft.duty_emails = "\n".join(_addresses(steps.duty_emails))
    draft.save(
        update_fields=[
            "note",
            "warning_share",
            "second_escalation_factor",
            "notify_supervisors",
            "duty_emails",
        ]
    )
    existing = {(t.severity, t.category): t for t in draft.targets.all()}
    changed = []
    for key, values in by_kind.items():
        row = existing.get(key) or SlaTarget(version=draft, severity=key[0], category=key[1])
        fresh = (
            values.calendar.pk,
            values.first_response,
            values.update_cadence,
            values.cooperation_window,
        )
        current = (row.calendar_id, row.first_response, row.update_cadence, row.cooperation_window)
        if row.pk is not None and fresh == current:
            continue
        row.calendar = values.calendar
        row.first_response = values.first_response
        row.update_cadence = values.update_cadence
        row.cooperation_window = values.cooperation_window
        changed.append(row)
    for row in changed:
        row.save()
    old, new = _diff(before, version_snapshot(draft))
    _record(
        ChangeAction.DRAFT_UPDATED,
        actor=actor,
        now=now,
        policy=draft.policy,
        version=draft,
        before=old,
        after=new,
    )
    return draft


@transaction.atomic
def version_publish(
    *, version: SlaPolicyVersion, actor: User, apply_to_open: bool, now: dt.datetime
) -> RemeasureJob | None:
    """Make a draft the policy's version in force. New requests are measured against it
    at once; the open ones measured against the policy's earlier versions move onto it
    only with ``apply_to_open`` (a re-measure job, started after commit)."""
    draft = _locked_draft(version)
    _, problems = _check_targets(
        TargetValues(
            t.severity,
            t.category,
            t.calendar,
            t.first_response,
            t.update_cadence,
            t.cooperation_window,
        )
        for t in draft.targets.select_related("calendar")
    )
    if problems:
        raise PolicyRefused.together(problems)
    policy = SlaPolicy.objects.select_for_update().get(pk=draft.policy_id)
    previous = policy.current_version_id
    draft.published_at = now
    draft.published_by = actor
    draft.save(update_fields=["published_at", "published_by"])
    policy.current_version = draft
    policy.save(update_fields=["current_version"])
    version.published_at, version.published_by = now, actor
    _record(
        ChangeAction.VERSION_PUBLISHED,
        actor=actor,
        now=now,
        policy=policy,
        version=draft,
        before={"version_in_force": previous},
        after={
            "version_in_force": draft.pk,
            "number": draft.number,
            "apply_to_open": apply_to_open,
        },
    )
    if not apply_to_open:
        return None
    return remeasure_start(kind=RemeasureKind.POLICY, now=now, requested_by=actor, version=draft)


@transaction.atomic
def draft_discard(*, version: SlaPolicyVersion, actor: User, now: dt.datetime) -> None:
    """Throw a draft away (published versions stay for ever: tickets refer to them)."""
    draft = _locked_draft(version)
    snapshot = {"number": draft.number, **version_snapshot(draft)}
    policy = draft.policy
    draft.targets.all().delete()
    draft.delete()
    _record(ChangeAction.DRAFT_DISCARDED, actor=actor, now=now, policy=policy, before=snapshot)


# --- Calendars -------------------------------------------------------------------------------


def _locked_calendar(calendar: Calendar) -> Calendar:
    return Calendar.objects.select_for_update().get(pk=calendar.pk)


_CALENDAR_FIELDS = (
    "name",
    "time_zone",
    "uses_organization_time_zone",
    "extra_day_template",
    "holiday_country",
    "holiday_subdivision",
)


@transaction.atomic
def calendar_update(
    *,
    calendar: Calendar,
    actor: User,
    now: dt.datetime,
    name: str,
    time_zone: str,
    uses_organization_time_zone: bool,
    extra_day_template: int,
    holiday_country: str,
    holiday_subdivision: str,
) -> Calendar:
    """Rename a calendar, change its zone, template weekday or holiday country."""
    locked = _locked_calendar(calendar)
    name = " ".join(name.split())
    holiday_country = holiday_country.strip().upper()
    problems: list[PolicyRefused] = []
    if not name:
        problems.append(PolicyRefused(ERR_CALENDAR_NAME, field="name"))
    elif Calendar.objects.filter(name__iexact=name).exclude(pk=locked.pk).exists():
        problems.append(PolicyRefused(ERR_CALENDAR_NAME_TAKEN, field="name"))
    if time_zone not in zoneinfo.available_timezones():
        problems.append(PolicyRefused(ERR_TIME_ZONE % {"value": time_zone}, field="time_zone"))
    if extra_day_template not in range(7):
        problems.append(PolicyRefused(ERR_WEEKDAY, field="extra_day_template"))
    if holiday_country and (len(holiday_country) != 2 or not holiday_country.isalpha()):
        problems.append(PolicyRefused(ERR_COUNTRY_CODE, field="holiday_country"))
    if problems:
        raise PolicyRefused.together(problems)
    values = {
        "name": name,
        "time_zone": time_zone,
        "uses_organization_time_zone": uses_organization_time_zone,
        "extra_day_template": extra_day_template,
        "holiday_country": holiday_country,
        "holiday_subdivision": holiday_subdivision.strip(),
    }
    before = {f: getattr(locked, f) for f in _CALENDAR_FIELDS}
    changed = [f for f in _CALENDAR_FIELDS if before[f] != values[f]]
    if not changed:
        return locked
    for f in changed:
        setattr(locked, f, values[f])
    locked.save()  # the save signal bumps the revision
    _record(
        ChangeAction.CALENDAR_UPDATED,
        actor=actor,
        now=now,
        calendar=locked,
        before={f: before[f] for f in changed},
        after={f: values[f] for f in changed},
    )
    return locked


def _window_text(window: WindowValues | CalendarWindow) -> str:
    end = window.end.strftime("%H:%M") if window.end is not None else "24:00"
    return f"{window.weekday} {window.start:%H:%M}-{end}"


@transaction.atomic
def windows_set(
    *, calendar: Calendar, windows: Iterable[WindowValues], actor: User, now: dt.datetime
) -> Calendar:
    """Replace a calendar's weekly working windows. They must not overlap, each must
    close after it opens, and the calendar must keep some open time."""
    locked = _locked_calendar(calendar)
    wanted = sorted(windows, key=lambda w: (w.weekday, w.start))
    if not wanted:
        raise PolicyRefused(
            ERR_NEVER_OPEN,
            field="windows",
            code="never_open",
        )
    try:
        BusinessCalendar(locked.time_zone, [Window(w.weekday, w.start, w.end) for w in wanted])
    except ValueError as error:
        message = {
            EMPTY_WINDOW: ERR_WINDOW_EMPTY,
            OVERLAPPING_WINDOWS: ERR_WINDOWS_OVERLAP,
        }.get(str(error), ERR_WINDOWS_INVALID % {"error": error})
        raise PolicyRefused(message, field="windows", code="invalid_windows") from error
    before = [_window_text(w) for w in locked.windows.all()]
    after = [_window_text(w) for w in wanted]
    if before == after:
        return locked
    CalendarWindow.objects.filter(calendar=locked).delete()
    CalendarWindow.objects.bulk_create(
        CalendarWindow(calendar=locked, weekday=w.weekday, start=w.start, end=w.end) for w in wanted
    )
    # bulk_create fires no signals: the revision bump that tells every process.
    calendar_changed(locked.pk)
    _record(
        ChangeAction.WINDOWS_SET,
        actor=actor,
        now=now,
        calendar=locked,
        before={"windows": before},
        after={"windows": after},
    )
    return locked


def _clean_day_name(name: str) -> str:
    return " ".join(name.split())[:100]


@transaction.atomic
def holiday_add(
    *, calendar: Calendar, date: dt.date, name: str, actor: User, now: dt.datetime
) -> CalendarHoliday:
    locked = _locked_calendar(calendar)
    if CalendarHoliday.objects.filter(calendar=locked, date=date).exists():
        raise PolicyRefused(
            ERR_HOLIDAY_TAKEN % {"date": date.isoformat()},
            field="date",
            code="taken",
        )
    holiday = CalendarHoliday.objects.create(calendar=locked, date=date, name=_clean_day_name(name))
    _record(
        ChangeAction.HOLIDAY_ADDED,
        actor=actor,
        now=now,
        calendar=locked,
        after={"date": date.isoformat(), "name": holiday.name},
    )
    return holiday


@transaction.atomic
def holiday_remove(*, calendar: Calendar, holiday_id: int, actor: User, now: dt.datetime) -> None:
    locked = _locked_calendar(calendar)
    holiday = CalendarHoliday.objects.filter(calendar=locked, pk=holiday_id).first()
    if holiday is None:
        raise PolicyRefused(ERR_HOLIDAY_GONE, code="not_found")
    before = {"date": holiday.date.isoformat(), "name": holiday.name, "source": holiday.source}
    holiday.delete()
    _record(ChangeAction.HOLIDAY_REMOVED, actor=actor, now=now, calendar=locked, before=before)


@transaction.atomic
def extra_day_add(
    *, calendar: Calendar, date: dt.date, name: str, actor: User, now: dt.datetime
) -> CalendarExtraDay:
    """A date normally closed that is worked (a make-up day), with the calendar's
    template weekday's windows."""
    locked = _locked_calendar(calendar)
    if CalendarExtraDay.objects.filter(calendar=locked, date=date).exists():
        raise PolicyRefused(
            ERR_EXTRA_DAY_TAKEN % {"date": date.isoformat()},
            field="date",
            code="taken",
        )
    if CalendarHoliday.objects.filter(calendar=locked, date=date).exists():
        # A holiday wins over an extra working day (severity.calendars): the row would do
        # nothing.
        raise PolicyRefused(
            ERR_EXTRA_DAY_ON_HOLIDAY % {"date": date.isoformat()},
            field="date",
            code="conflict",
        )
    day = CalendarExtraDay.objects.create(calendar=locked, date=date, name=_clean_day_name(name))
    _record(
        ChangeAction.EXTRA_DAY_ADDED,
        actor=actor,
        now=now,
        calendar=locked,
        after={"date": date.isoformat(), "name": day.name},
    )
    return day


@transaction.atomic
def extra_day_remove(*, calendar: Calendar, day_id: int, actor: User, now: dt.datetime) -> None:
    locked = _locked_calendar(calendar)
    day = CalendarExtraDay.objects.filter(calendar=locked, pk=day_id).first()
    if day is None:
        raise PolicyRefused(ERR_EXTRA_DAY_GONE, code="not_found")
    before = {"date": day.date.isoformat(), "name": day.name, "source": day.source}
    day.delete()
    _record(ChangeAction.EXTRA_DAY_REMOVED, actor=actor, now=now, calendar=locked, before=before)


@dataclass(frozen=True)
class Imported:
    """What an import did, and the entries of an .ics file it could not use."""

    result: ImportResult
    source: str
    skipped: tuple[str, ...] = ()


@transaction.atomic
def calendar_import(
    *,
    calendar: Calendar,
    actor: User,
    now: dt.datetime,
    country: str = "",
    subdivision: str = "",
    years: Iterable[int] = (),
    ics: bytes | None = None,
    file_name: str = "",
    working: bool = False,
) -> Imported:
    """Import days onto a calendar: the public holidays (and China's make-up working
    days) of ``country`` for ``years`` from the holidays package, or the all-day events of
    an uploaded iCalendar file (``ics``: as holidays, or with ``working`` as extra working
    days). Importing the same source again replaces what it brought before."""
    locked = _locked_calendar(calendar)
    skipped: tuple[str, ...] = ()
    if ics is not None:
        if len(ics) > MAX_ICS_BYTES:
            raise PolicyRefused(ERR_FILE_TOO_LARGE, field="file", code="too_large")
        try:
            read = ics_read(ics, working=working)
        except ValueError as error:
            raise PolicyRefused(ERR_FILE_UNREADABLE % {"error": error}, field="file") from error
        source = ics_source(file_name or "upload.ics")
        result = calendar_import_days(
            calendar=locked, days=read.days, source=source, replace_source=True
        )
        skipped = tuple(read.skipped)
        details: dict[str, Any] = {"file": file_name, "working": working}
    else:
        wanted = sorted(set(years))
        if not wanted:
            raise PolicyRefused(ERR_NO_YEARS, field="years")
        if any(y not in IMPORT_YEARS for y in wanted):
            raise PolicyRefused(ERR_YEARS_RANGE, field="years")
        try:
            result = calendar_import_public_days(
                calendar=locked, years=wanted, country=country, subdivision=subdivision
            )
        except ValueError as error:
            raise PolicyRefused(
                ERR_NO_PUBLIC_DAYS % {"error": error},
                field="country",
            ) from error
        source = public_source(country or locked.holiday_country, subdivision)
        details = {"country": country or locked.holiday_country, "years": wanted}
    _record(
        ChangeAction.CALENDAR_IMPORTED,
        actor=actor,
        now=now,
        calendar=locked,
        after={
            **details,
            "source": source,
            "added": result.added,
            "updated": result.updated,
            "removed": result.removed,
            "unchanged": result.unchanged,
            "skipped_conflicts": len(result.skipped_conflicts),
        },
    )
    return Imported(result, source, skipped)

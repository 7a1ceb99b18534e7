"""Reads for the SLA policy pages: policies with who uses them, a version's targets as a
grid, what a draft changes, a calendar's length of a working day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Prefetch

from severity.choices import Category, Severity
from severity.models import (
    Calendar,
    CalendarWindow,
    SlaPolicy,
    SlaPolicyVersion,
    SlaTarget,
)
from slapolicies.models import PolicyChange
from tenants.models import Contract, Organization
from tickets.models import RemeasureJob


def hours(value: dt.timedelta | None) -> Decimal | None:
    """A duration as hours with at most two decimals (8, 1.5, 0.25), as the forms take it."""
    if value is None:
        return None
    amount = (Decimal(int(value.total_seconds())) / Decimal(3600)).quantize(Decimal("0.01"))
    # Written out, never as an exponent (30, not 3E+1): the number inputs show it as is.
    text = f"{amount:f}"
    return Decimal(text.rstrip("0").rstrip(".") if "." in text else text)


def hours_text(value: dt.timedelta | None) -> str:
    amount = hours(value)
    if amount is None:
        return "—"
    return f"{amount:f} h"


def day_length(calendar: Calendar) -> dt.timedelta:
    """The working time of the calendar's longest weekday: what "one business day" means
    on it (15 h on a 09:00–24:00 calendar)."""
    per_day: dict[int, dt.timedelta] = {}
    for window in calendar.windows.all():
        start = dt.datetime.combine(dt.date.min, window.start)
        end = (
            dt.datetime.combine(dt.date.min, window.end)
            if window.end is not None
            else dt.datetime.combine(dt.date.min, dt.time()) + dt.timedelta(days=1)
        )
        per_day[window.weekday] = per_day.get(window.weekday, dt.timedelta()) + (end - start)
    return max(per_day.values(), default=dt.timedelta())


def calendars_with_windows() -> list[Calendar]:
    return list(
        Calendar.objects.prefetch_related(
            Prefetch("windows", queryset=CalendarWindow.objects.order_by("weekday", "start"))
        ).order_by("name")
    )


@dataclass
class PolicyRow:
    policy: SlaPolicy
    applies_to: str
    organizations: list[Organization] = field(default_factory=list)
    draft: SlaPolicyVersion | None = None
    # For a contract's policy: the organizations on the contract without their own.
    by_contract: int = 0


def policy_rows() -> list[PolicyRow]:
    """Every policy: the default first, then by contract, then by organization, with the
    organizations that have it as their own and its open draft."""
    policies = list(
        SlaPolicy.objects.select_related("current_version").prefetch_related(
            Prefetch("organizations", queryset=Organization.objects.order_by("name")),
            Prefetch(
                "versions",
                queryset=SlaPolicyVersion.objects.filter(published_at__isnull=True),
                to_attr="drafts",
            ),
        )
    )
    # Most general first: the default, the contracts', the organizations' own.
    policies.sort(key=lambda p: (not p.is_default, not p.contract, p.contract, p.name.lower()))
    contracts = dict(Contract.choices)
    on_contract = dict(
        Organization.objects.filter(sla_policy__isnull=True)
        .values("contract")
        .annotate(n=Count("pk"))
        .values_list("contract", "n")
    )
    rows = []
    for policy in policies:
        if policy.is_default:
            applies = "default"
        elif policy.contract:
            applies = str(contracts.get(policy.contract, policy.contract))
        else:
            applies = ""
        drafts = getattr(policy, "drafts", [])
        rows.append(
            PolicyRow(
                policy,
                applies,
                list(policy.organizations.all()),
                drafts[0] if drafts else None,
                on_contract.get(policy.contract, 0) if policy.contract else 0,
            )
        )
    return rows


@dataclass
class TargetCell:
    severity: str
    severity_label: str
    category: str
    category_label: str
    target: SlaTarget | None
    previous: SlaTarget | None = None

    @property
    def changed(self) -> bool:
        if self.previous is None or self.target is None:
            return self.previous is not self.target
        return _values(self.target) != _values(self.previous)


def _values(target: SlaTarget) -> tuple[object, ...]:
    return (
        target.calendar_id,
        target.first_response,
        target.update_cadence,
        target.cooperation_window,
    )


def target_grid(
    version: SlaPolicyVersion, compare_to: SlaPolicyVersion | None = None
) -> list[TargetCell]:
    """The version's targets, one row per severity and category, beside the ones of
    ``compare_to`` (the version in force, when showing a draft)."""
    targets = {(t.severity, t.category): t for t in version.targets.select_related("calendar")}
    previous = (
        {(t.severity, t.category): t for t in compare_to.targets.select_related("calendar")}
        if compare_to is not None
        else {}
    )
    return [
        TargetCell(
            severity,
            str(severity_label),
            category,
            str(category_label),
            targets.get((severity, category)),
            previous.get((severity, category)),
        )
        for severity, severity_label in Severity.choices
        for category, category_label in Category.choices
    ]


def policy_versions(policy: SlaPolicy) -> list[SlaPolicyVersion]:
    return list(policy.versions.select_related("created_by", "published_by").order_by("-number"))


def recent_changes(
    *, policy: SlaPolicy | None = None, calendar: Calendar | None = None, limit: int = 20
) -> list[PolicyChange]:
    changes = PolicyChange.objects.select_related("actor", "version", "organization")
    if policy is not None:
        changes = changes.filter(policy=policy)
    if calendar is not None:
        changes = changes.filter(calendar=calendar)
    return list(changes[:limit])


def latest_job(**lookup: object) -> RemeasureJob | None:
    return RemeasureJob.objects.filter(**lookup).order_by("-created_at", "-pk").first()

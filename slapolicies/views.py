"""The SLA policy and calendar editor on the desk (``/desk/sla/…``): supervisors only.

Thin views: a form parses, a service in ``slapolicies.services`` writes (and refuses
with the field at fault), and the page shows the result or the form with its errors.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.refusals import into_form, into_messages
from severity.holiday_sources import MAX_ICS_BYTES
from severity.models import (
    Calendar,
    CalendarExtraDay,
    CalendarHoliday,
    CalendarWindow,
    SlaPolicy,
    SlaPolicyVersion,
    version_in_force,
)
from slapolicies import forms as policy_forms
from slapolicies import previews, selectors, services
from slapolicies.models import ReviewPreview
from tenants.access import AgentRequest, supervisor_view
from tenants.models import Organization
from tickets.models import RemeasureJob, RemeasureKind
from tickets.remeasure import Impact, preview

# --- Policies --------------------------------------------------------------------------------


@supervisor_view
@require_http_methods(["GET", "POST"])
def policies(request: AgentRequest) -> HttpResponse:
    """Every policy: the default, by contract, by organization; a form for a new one."""
    form = policy_forms.PolicyCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with into_form(form):
            policy = services.policy_create(
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                contract=form.cleaned_data["contract"],
                actor=request.user,
                now=timezone.now(),
            )
            messages.success(request, _("Policy created: draft its first version."))
            return redirect("slapolicies:policy", policy=policy.pk)
    return render(
        request,
        "slapolicies/policies.html",
        {"rows": selectors.policy_rows(), "form": form, "assign_form": _assign_form()},
    )


def _assign_form(**initial: Any) -> policy_forms.AssignForm:
    return policy_forms.AssignForm(initial=initial)


@supervisor_view
@require_GET
def policy(request: AgentRequest, policy: int) -> HttpResponse:
    """A policy: its versions (who, when, what changed), the version in force with its
    targets and steps, its organizations, and the way to a new version."""
    row = get_object_or_404(SlaPolicy.objects.select_related("current_version"), pk=policy)
    current = row.current_version
    versions = selectors.policy_versions(row)
    draft = next((v for v in versions if not v.is_published), None)
    return render(
        request,
        "slapolicies/policy.html",
        {
            "policy": row,
            "current": current,
            "versions": versions,
            "draft": draft,
            "grid": selectors.target_grid(current) if current is not None else [],
            "organizations": row.organizations.order_by("name"),
            "assign_form": _assign_form(policy=row.pk) if current is not None else None,
            "changes": selectors.recent_changes(policy=row),
            "latest_job": selectors.latest_job(version__policy=row),
        },
    )


@supervisor_view
@require_POST
def version_new(request: AgentRequest, policy: int) -> HttpResponse:
    """Open the policy's draft, drafting one (a copy of the version in force) if none."""
    row = get_object_or_404(SlaPolicy, pk=policy)
    draft = row.versions.filter(published_at__isnull=True).first()
    if draft is None:
        with into_messages(request):
            draft = services.version_draft(policy=row, actor=request.user, now=timezone.now())
        if draft is None:
            return redirect("slapolicies:policy", policy=row.pk)
    return redirect("slapolicies:version", version=draft.pk)


def _version(pk: int) -> SlaPolicyVersion:
    return get_object_or_404(
        SlaPolicyVersion.objects.select_related("policy", "created_by", "published_by"), pk=pk
    )


def _calendar_hints() -> list[dict[str, Any]]:
    return [
        {"calendar": c, "day": selectors.hours_text(selectors.day_length(c))}
        for c in selectors.calendars_with_windows()
    ]


@supervisor_view
@require_http_methods(["GET", "POST"])
def version(request: AgentRequest, version: int) -> HttpResponse:
    """A version: read-only once published; a draft is edited here."""
    row = _version(version)
    in_force = row.policy.current_version
    if row.is_published:
        if request.method == "POST":
            messages.error(request, services.ERR_PUBLISHED)
        return render(
            request,
            "slapolicies/version.html",
            {
                "version": row,
                "policy": row.policy,
                "grid": selectors.target_grid(row),
                "in_force": in_force,
            },
        )
    calendars = list(Calendar.objects.order_by("name"))
    form = policy_forms.DraftForm(
        request.POST if request.method == "POST" else None, version=row, calendars=calendars
    )
    if request.method == "POST" and form.is_valid():
        with into_form(form):
            services.draft_update(
                version=row,
                steps=form.steps(),
                targets=form.targets(),
                note=form.cleaned_data["note"],
                actor=request.user,
                now=timezone.now(),
            )
            if request.POST.get("next") == "review":
                return redirect("slapolicies:review", version=row.pk)
            messages.success(request, _("Draft saved."))
            return redirect("slapolicies:version", version=row.pk)
    return render(
        request,
        "slapolicies/draft.html",
        {
            "version": row,
            "policy": row.policy,
            "form": form,
            "rows": form.target_rows(),
            "hints": _calendar_hints(),
            "in_force": in_force,
        },
    )


@supervisor_view
@require_http_methods(["GET", "POST"])
def review(request: AgentRequest, version: int) -> HttpResponse:
    """What publishing the draft would do to open requests, and the two ways to publish."""
    row = _version(version)
    if request.method == "POST":
        form = policy_forms.PublishForm(request.POST)
        if not form.is_valid():
            raise Http404  # only the page's own two buttons post here
        with into_messages(request):
            job = services.version_publish(
                version=row,
                actor=request.user,
                apply_to_open=form.cleaned_data["apply_to_open"],
                now=timezone.now(),
            )
            if job is not None:
                messages.success(request, _("Published. Open requests are being re-measured."))
                return redirect("slapolicies:job", job=job.pk)
            messages.success(request, _("Published for new requests."))
            return redirect("slapolicies:policy", policy=row.policy_id)
        return redirect("slapolicies:review", version=row.pk)
    impact: Impact | None = None
    state: previews.PreviewState | None = None
    if not row.is_published:
        now = timezone.now()
        # A large preview is a worker's: the page shows its progress and polls for it.
        counted = previews.review_impact(
            version=row, actor=request.user, now=now, fresh=request.GET.get("fresh") == "1"
        )
        if isinstance(counted, Impact):
            impact = counted
        else:
            state = previews.preview_state(counted, now=now)
    in_force = row.policy.current_version
    return render(
        request,
        "slapolicies/review.html",
        {
            "version": row,
            "policy": row.policy,
            "impact": impact,
            "state": state,
            "grid": selectors.target_grid(row, compare_to=in_force),
            "in_force": in_force,
        },
    )


@supervisor_view
@require_GET
def review_preview(request: AgentRequest, preview: int) -> HttpResponse:
    """A large review's preview alone, polled by the review page every second until it
    is done (or can no longer be shown: the draft changed, was published or discarded)."""
    job = get_object_or_404(ReviewPreview.objects.select_related("version__policy"), pk=preview)
    state = previews.preview_state(job, now=timezone.now())
    return render(request, "slapolicies/_review_preview.html", {"state": state})


@supervisor_view
@require_POST
def version_discard(request: AgentRequest, version: int) -> HttpResponse:
    row = _version(version)
    with into_messages(request):
        services.draft_discard(version=row, actor=request.user, now=timezone.now())
        messages.success(request, _("Draft discarded."))
    return redirect("slapolicies:policy", policy=row.policy_id)


# --- An organization's policy ----------------------------------------------------------------


@supervisor_view
@require_http_methods(["GET", "POST"])
def assign(request: AgentRequest) -> HttpResponse:
    """Give an organization a policy of its own (or take it away): the preview of what
    it does to its open requests, and the choice to re-measure them or not."""
    data = request.POST if request.method == "POST" else request.GET
    form = policy_forms.AssignForm(data or None)
    context: dict[str, Any] = {"form": form}
    if not form.is_valid():
        return render(request, "slapolicies/assign.html", context)
    organization: Organization = form.cleaned_data["organization"]
    chosen: SlaPolicy | None = form.cleaned_data["policy"]
    if request.method == "POST" and form.cleaned_data["apply_to_open"] is not None:
        with into_form(form, field="policy"):
            job = services.organization_set_policy(
                organization=organization,
                policy=chosen,
                actor=request.user,
                apply_to_open=bool(form.cleaned_data["apply_to_open"]),
                now=timezone.now(),
            )
            if job is not None:
                messages.success(request, _("Policy changed. Open requests are being re-measured."))
                return redirect("slapolicies:job", job=job.pk)
            messages.success(request, _("Policy changed for new requests."))
            return redirect("slapolicies:policies")
    version_id = (
        chosen.current_version_id
        if chosen is not None and chosen.current_version_id is not None
        else version_in_force(policy_id=None, contract=organization.contract)
    )
    target = SlaPolicyVersion.objects.select_related("policy").get(pk=version_id)
    context.update(
        {
            "organization": organization,
            "chosen": chosen,
            "target": target,
            "current_policy": organization.sla_policy,
            "unchanged": organization.sla_policy_id == (chosen.pk if chosen else None),
            "impact": preview(
                kind=RemeasureKind.ORGANIZATION,
                now=timezone.now(),
                organization=organization,
                version=target,
            ),
        }
    )
    return render(request, "slapolicies/assign.html", context)


# --- Re-measure jobs -------------------------------------------------------------------------


def _job(pk: int) -> RemeasureJob:
    return get_object_or_404(
        RemeasureJob.objects.select_related(
            "version__policy", "calendar", "organization", "requested_by"
        ),
        pk=pk,
    )


@supervisor_view
@require_GET
def job(request: AgentRequest, job: int) -> HttpResponse:
    """A re-measure's progress; the bar refreshes itself every second until it is done."""
    return render(request, "slapolicies/job.html", {"job": _job(job)})


@supervisor_view
@require_GET
def job_progress(request: AgentRequest, job: int) -> HttpResponse:
    """The progress bar alone, polled by the job page."""
    return render(request, "slapolicies/_job_progress.html", {"job": _job(job)})


# --- Calendars -------------------------------------------------------------------------------


@supervisor_view
@require_GET
def calendars(request: AgentRequest) -> HttpResponse:
    rows = [
        {"calendar": c, "day": selectors.hours_text(selectors.day_length(c))}
        for c in selectors.calendars_with_windows()
    ]
    return render(request, "slapolicies/calendars.html", {"rows": rows})


def _calendar_context(request: AgentRequest, calendar: Calendar, **forms: Any) -> dict[str, Any]:
    year = timezone.now().year
    shown: tuple[dt.date, dt.date] | None = (dt.date(year, 1, 1), dt.date(year + 1, 12, 31))
    if request.GET.get("all") == "1":
        shown = None
    windows = [
        {"weekday": w.weekday, "start": w.start, "end": w.end}
        for w in CalendarWindow.objects.filter(calendar=calendar).order_by("weekday", "start")
    ]
    return {
        "calendar": calendar,
        "day": selectors.hours_text(selectors.day_length(calendar)),
        "calendar_form": forms.get("calendar_form")
        or policy_forms.CalendarForm(
            initial={
                "name": calendar.name,
                "time_zone": calendar.time_zone,
                "uses_organization_time_zone": calendar.uses_organization_time_zone,
                "extra_day_template": calendar.extra_day_template,
                "holiday_country": calendar.holiday_country,
                "holiday_subdivision": calendar.holiday_subdivision,
            }
        ),
        "windows": forms.get("windows") or policy_forms.WindowFormSet(initial=windows, prefix="w"),
        "holiday_form": forms.get("holiday_form") or policy_forms.DayForm(prefix="holiday"),
        "extra_form": forms.get("extra_form") or policy_forms.DayForm(prefix="extra"),
        "public_form": forms.get("public_form")
        or policy_forms.PublicImportForm(
            prefix="public",
            year=year,
            initial={"country": calendar.holiday_country or "CN", "years": [year, year + 1]},
        ),
        "ics_form": forms.get("ics_form") or policy_forms.IcsImportForm(prefix="ics"),
        "imported": forms.get("imported"),
        # This year's and next year's days; the others on request only (?all=1).
        "holidays": _days(calendar.holidays.order_by("date"), shown),
        "extra_days": _days(calendar.extra_days.order_by("date"), shown),
        "hidden_holidays": _hidden(calendar.holidays.all(), shown),
        "hidden_extra_days": _hidden(calendar.extra_days.all(), shown),
        "latest_job": selectors.latest_job(calendar=calendar),
        "changes": selectors.recent_changes(calendar=calendar, limit=10),
    }


def _days[DayT: (CalendarHoliday, CalendarExtraDay)](
    days: QuerySet[DayT], shown: tuple[dt.date, dt.date] | None
) -> QuerySet[DayT]:
    return days if shown is None else days.filter(date__range=shown)


def _hidden[DayT: (CalendarHoliday, CalendarExtraDay)](
    days: QuerySet[DayT], shown: tuple[dt.date, dt.date] | None
) -> int:
    return 0 if shown is None else days.exclude(date__range=shown).count()


def _calendar(pk: int) -> Calendar:
    return get_object_or_404(Calendar, pk=pk)


def _calendar_page(request: AgentRequest, calendar: Calendar, **forms: Any) -> HttpResponse:
    return render(
        request,
        "slapolicies/calendar.html",
        _calendar_context(request, calendar, **forms),
    )


def _back_to(calendar: Calendar, anchor: str) -> HttpResponse:
    return redirect(reverse("slapolicies:calendar", kwargs={"calendar": calendar.pk}) + anchor)


@supervisor_view
@require_http_methods(["GET", "POST"])
def calendar(request: AgentRequest, calendar: int) -> HttpResponse:
    """A calendar: its settings, weekly windows, holidays, extra working days, imports."""
    row = _calendar(calendar)
    if request.method == "GET":
        return _calendar_page(request, row)
    form = policy_forms.CalendarForm(request.POST)
    if form.is_valid():
        with into_form(form):
            services.calendar_update(
                calendar=row, actor=request.user, now=timezone.now(), **form.cleaned_data
            )
            messages.success(request, _("Calendar saved."))
            return _back_to(row, "#settings-title")
    return _calendar_page(request, row, calendar_form=form)


@supervisor_view
@require_POST
def calendar_windows(request: AgentRequest, calendar: int) -> HttpResponse:
    row = _calendar(calendar)
    formset = cast(
        policy_forms.BaseWindowFormSet, policy_forms.WindowFormSet(request.POST, prefix="w")
    )
    if formset.is_valid():
        try:
            services.windows_set(
                calendar=row, windows=formset.windows(), actor=request.user, now=timezone.now()
            )
        except services.PolicyRefused as refusal:
            formset.refuse(refusal.message)
        else:
            messages.success(request, _("Working windows saved."))
            return _back_to(row, "#windows-title")
    return _calendar_page(request, row, windows=formset)


def _day_add(request: AgentRequest, calendar: int, *, kind: str) -> HttpResponse:
    row = _calendar(calendar)
    prefix = "holiday" if kind == "holiday" else "extra"
    form = policy_forms.DayForm(request.POST, prefix=prefix)
    if form.is_valid():
        add = services.holiday_add if kind == "holiday" else services.extra_day_add
        with into_form(form):
            add(
                calendar=row,
                date=form.cleaned_data["date"],
                name=form.cleaned_data["name"],
                actor=request.user,
                now=timezone.now(),
            )
            messages.success(request, _("Day added."))
            return _back_to(row, f"#{prefix}s-title")
    return _calendar_page(request, row, **{f"{prefix}_form": form})


def _day_remove(request: AgentRequest, calendar: int, *, kind: str) -> HttpResponse:
    row = _calendar(calendar)
    form = policy_forms.DayRemoveForm(request.POST)
    if form.is_valid():
        with into_messages(request):
            if kind == "holiday":
                services.holiday_remove(
                    calendar=row,
                    holiday_id=form.cleaned_data["day"],
                    actor=request.user,
                    now=timezone.now(),
                )
            else:
                services.extra_day_remove(
                    calendar=row,
                    day_id=form.cleaned_data["day"],
                    actor=request.user,
                    now=timezone.now(),
                )
            messages.success(request, _("Day removed."))
    return _back_to(row, "#holidays-title" if kind == "holiday" else "#extras-title")


@supervisor_view
@require_POST
def holiday_add(request: AgentRequest, calendar: int) -> HttpResponse:
    return _day_add(request, calendar, kind="holiday")


@supervisor_view
@require_POST
def holiday_remove(request: AgentRequest, calendar: int) -> HttpResponse:
    return _day_remove(request, calendar, kind="holiday")


@supervisor_view
@require_POST
def extra_day_add(request: AgentRequest, calendar: int) -> HttpResponse:
    return _day_add(request, calendar, kind="extra")


@supervisor_view
@require_POST
def extra_day_remove(request: AgentRequest, calendar: int) -> HttpResponse:
    return _day_remove(request, calendar, kind="extra")


@supervisor_view
@require_POST
def import_public(request: AgentRequest, calendar: int) -> HttpResponse:
    row = _calendar(calendar)
    form = policy_forms.PublicImportForm(request.POST, prefix="public", year=timezone.now().year)
    imported = None
    if form.is_valid():
        with into_form(form):
            imported = services.calendar_import(
                calendar=row,
                actor=request.user,
                now=timezone.now(),
                country=form.cleaned_data["country"],
                subdivision=form.cleaned_data["subdivision"],
                years=form.cleaned_data["years"],
            )
    return _calendar_page(request, row, public_form=form, imported=imported)


@supervisor_view
@require_POST
def import_ics(request: AgentRequest, calendar: int) -> HttpResponse:
    row = _calendar(calendar)
    form = policy_forms.IcsImportForm(request.POST, request.FILES, prefix="ics")
    imported = None
    if form.is_valid():
        upload = form.cleaned_data["file"]
        with into_form(form):
            if upload.size > MAX_ICS_BYTES:
                raise services.PolicyRefused(
                    services.ERR_FILE_TOO_LARGE, field="file", code="too_large"
                )
            imported = services.calendar_import(
                calendar=row,
                actor=request.user,
                now=timezone.now(),
                ics=upload.read(),
                file_name=upload.name or "upload.ics",
                working=form.cleaned_data["working"],
            )
    return _calendar_page(request, row, ics_form=form, imported=imported)

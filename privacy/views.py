"""Privacy pages: the supervisors' on the desk and the global admins' in the portal's
settings. Thin views: access (another tenant's or another requester's id is a 404), a
form parses, a service writes, the page shows the result."""

from __future__ import annotations

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse, HttpResponseNotAllowed
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from core.refusals import captured, into_form
from privacy import forms as privacy_forms
from privacy import selectors, services
from privacy.models import ExportJob, ExportVia
from tenants.access import AgentRequest, TenantRequest, supervisor_view, tenant_view
from tenants.models import Membership, User
from tenants.retention import retention_set


def _download(request: AgentRequest | TenantRequest, job: ExportJob) -> HttpResponseBase:
    """The one download: taken (and audited) first, then the file is opened and removed
    from storage at once; the open handle still reads it to the end, and nothing of it is
    left on disk afterwards. A second try answers 410 with a page that says why."""
    with captured() as outcome:
        name = services.export_collect(job=job, user=request.user, now=timezone.now())
        try:
            handle = default_storage.open(name, "rb")
        except FileNotFoundError:
            return _gone(request, job)
        default_storage.delete(name)
        return FileResponse(
            handle,
            as_attachment=True,
            filename=f"export-{job.pk}.zip",
            content_type="application/zip",
        )
    assert outcome.refusal is not None
    return _gone(request, job)


def _gone(request: AgentRequest | TenantRequest, job: ExportJob) -> HttpResponse:
    return render(
        request,
        "privacy/export_gone.html",
        {
            "job": job,
            "message": services.ERR_EXPORT_GONE,
            "organization": getattr(request, "organization", None),
        },
        status=410,
    )


# --- Desk -------------------------------------------------------------------------------------


@supervisor_view
@require_http_methods(["GET", "POST"])
def desk_home(request: AgentRequest) -> HttpResponse:
    """Export an organization or a person; find a person to erase; the supervisor's own
    exports."""
    action = request.POST.get("action") if request.method == "POST" else None
    export_form = privacy_forms.DeskExportForm(request.POST if action == "export" else None)
    erase_form = privacy_forms.DeskEraseForm(request.POST if action == "erase" else None)
    if action == "export" and export_form.is_valid():
        with into_form(export_form):
            job = services.export_request(
                requester=request.user,
                via=ExportVia.DESK,
                organization=export_form.cleaned_data["organization"],
                person=export_form.cleaned_data["email"],
                now=timezone.now(),
            )
            return redirect("privacy:export", export=job.pk)
    if action == "erase" and erase_form.is_valid():
        return redirect("privacy:erase", person=erase_form.cleaned_data["email"].pk)
    status = 400 if action and (export_form.errors or erase_form.errors) else 200
    return render(
        request,
        "privacy/desk_home.html",
        {
            "export_form": export_form,
            "erase_form": erase_form,
            "jobs": selectors.recent_exports(request.user, via=ExportVia.DESK),
        },
        status=status,
    )


@supervisor_view
@require_http_methods(["GET", "POST"])
def desk_erase(request: AgentRequest, person: int) -> HttpResponse:
    """Confirm, then erase a person."""
    if not 0 < person < 2**63:
        raise Http404
    found = get_object_or_404(User, pk=person)
    refusal = services.erasure_refusal(person=found, actor=request.user, organization=None)
    if request.method == "POST" and refusal is None:
        with captured() as outcome:
            done = services.person_erase(person=found, actor=request.user, now=timezone.now())
            messages.success(
                request,
                _("The person is erased; they now appear as %(placeholder)s.")
                % {"placeholder": done.placeholder},
            )
            return redirect("privacy:home")
        refusal = outcome.refusal
    return render(
        request,
        "privacy/erase.html",
        {
            "person": found,
            "impact": selectors.erasure_impact(found),
            "refusal": refusal,
            "already": found.email == services.erased_email(found.pk),
            "cancel_url": "privacy:home",
            "organization": None,
        },
        status=403 if refusal is not None and request.method == "POST" else 200,
    )


def _desk_job(request: AgentRequest, export: int) -> ExportJob:
    job = services.export_of_requester(request.user, export, via=ExportVia.DESK)
    if job is None:
        raise Http404
    return job


@supervisor_view
@require_GET
def desk_export(request: AgentRequest, export: int) -> HttpResponse:
    return render(request, "privacy/export.html", {"job": _desk_job(request, export)})


@supervisor_view
@require_GET
def desk_export_progress(request: AgentRequest, export: int) -> HttpResponse:
    return render(request, "privacy/_export_progress.html", {"job": _desk_job(request, export)})


@supervisor_view
@require_http_methods(["GET"])  # a HEAD would spend the one download
def desk_export_download(request: AgentRequest, export: int) -> HttpResponseBase:
    return _download(request, _desk_job(request, export))


# --- Portal -----------------------------------------------------------------------------------


def _refused(request: TenantRequest) -> HttpResponse:
    return render(
        request,
        "portal/settings_refused.html",
        {"organization": request.organization, "error": services.ERR_NOT_GLOBAL_ADMIN},
        status=403,
    )


def _members(request: TenantRequest) -> list[Membership]:
    return selectors.organization_members(request.organization)


@tenant_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def portal_home(request: TenantRequest) -> HttpResponse:
    """The retention period, exports of the organization or a member, and erasure."""
    if not services.may_manage_privacy(request.membership):
        return _refused(request)
    organization = request.organization
    members = _members(request)
    action = request.POST.get("action") if request.method == "POST" else None
    retention_form = privacy_forms.RetentionForm(
        request.POST if action == "retention" else None,
        initial={"retention_days": organization.retention_days},
    )
    export_form = privacy_forms.PortalExportForm(
        request.POST if action == "export" else None, members=members
    )
    if action == "retention" and retention_form.is_valid():
        with into_form(retention_form):
            changed = retention_set(
                organization=organization,
                days=retention_form.cleaned_data["retention_days"],
                actor=request.user,
                now=timezone.now(),
            )
            if changed:
                messages.success(request, _("The retention period is saved."))
            return redirect("privacy_portal:home", org=organization.slug)
    if action == "export" and export_form.is_valid():
        member = export_form.subject_member()
        with into_form(export_form):
            job = services.export_request(
                requester=request.user,
                via=ExportVia.PORTAL,
                organization=organization,
                person=member.user if member is not None else None,
                now=timezone.now(),
            )
            return redirect("privacy_portal:export", org=organization.slug, export=job.pk)
    status = 400 if action and (retention_form.errors or export_form.errors) else 200
    return render(
        request,
        "privacy/portal_home.html",
        {
            "organization": organization,
            "members": members,
            "retention_form": retention_form,
            "export_form": export_form,
            "jobs": selectors.recent_exports(
                request.user, via=ExportVia.PORTAL, organization=organization
            ),
        },
        status=status,
    )


@tenant_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def portal_erase(request: TenantRequest, member: int) -> HttpResponse:
    """Confirm, then erase a member of the organization."""
    found = services.member_of(request.organization, member)
    if found is None:
        raise Http404
    if not services.may_manage_privacy(request.membership):
        return _refused(request)
    person = found.user
    refusal = services.erasure_refusal(
        person=person, actor=request.user, organization=request.organization
    )
    if request.method == "POST" and refusal is None:
        with captured() as outcome:
            done = services.person_erase(
                person=person,
                actor=request.user,
                organization=request.organization,
                now=timezone.now(),
            )
            messages.success(
                request,
                _("The person is erased; they now appear as %(placeholder)s.")
                % {"placeholder": done.placeholder},
            )
            return redirect("privacy_portal:home", org=request.organization.slug)
        refusal = outcome.refusal
    return render(
        request,
        "privacy/erase.html",
        {
            "person": person,
            "impact": selectors.erasure_impact(person, request.organization),
            "refusal": refusal,
            "already": person.email == services.erased_email(person.pk),
            "organization": request.organization,
        },
        status=403 if refusal is not None and request.method == "POST" else 200,
    )


def _portal_job(request: TenantRequest, export: int) -> ExportJob:
    """The requester's own export in this organization. Any member may ask for their own
    data; anything wider stays a global admin's, also after a change of role."""
    job = services.export_of_requester(
        request.user, export, via=ExportVia.PORTAL, organization=request.organization
    )
    if job is None:
        raise Http404
    if job.person_id != request.user.pk and not services.may_manage_privacy(request.membership):
        raise Http404
    return job


@tenant_view(admin_only=False)
@require_http_methods(["GET", "POST"])
def portal_mine(request: TenantRequest) -> HttpResponse:
    """Any member: an export of their own data in this organization."""
    organization = request.organization
    if request.method == "POST":
        job = services.export_request(
            requester=request.user,
            via=ExportVia.PORTAL,
            organization=organization,
            person=request.user,
            now=timezone.now(),
        )
        return redirect("privacy_portal:export", org=organization.slug, export=job.pk)
    return render(
        request,
        "privacy/portal_mine.html",
        {
            "organization": organization,
            "jobs": selectors.recent_exports(
                request.user, via=ExportVia.PORTAL, organization=organization, person=request.user
            ),
        },
    )


@tenant_view(admin_only=False)
def portal_export(request: TenantRequest, export: int) -> HttpResponse:
    job = _portal_job(request, export)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    return render(
        request, "privacy/export.html", {"job": job, "organization": request.organization}
    )


@tenant_view(admin_only=False)
def portal_export_progress(request: TenantRequest, export: int) -> HttpResponse:
    job = _portal_job(request, export)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    return render(
        request,
        "privacy/_export_progress.html",
        {"job": job, "organization": request.organization},
    )


@tenant_view(admin_only=False)
def portal_export_download(request: TenantRequest, export: int) -> HttpResponseBase:
    job = _portal_job(request, export)
    # GET only: a HEAD would spend the one download.
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return _download(request, job)

"""Organization settings → members and roles (``/portal/<org>/settings/members/…``).

Global admins only (POL-WHO-2 default): plain users get the "ask your admin" page from
``tenant_view`` (POL-WHO-1); billing and service support admins see a page that says who
can do it instead of a bare 403. Every change goes through ``tenants.services``, which
keeps at least one global admin and writes the audit record.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from core.refusals import Outcome, captured, into_form
from tenants.access import TenantRequest, tenant_view
from tenants.models import Membership, MembershipChange, Role
from tenants.security import organization_require_mfa
from tenants.services import (
    ERR_NOT_GLOBAL_ADMIN_MEMBERS,
    may_manage_members,
    membership_change_role,
    membership_remove,
)


class SecurityForm(forms.Form):
    mfa_required_for_admins = forms.BooleanField(
        label=gettext_lazy("Require a second factor of the organization's admins"),
        required=False,
        help_text=gettext_lazy(
            "Global, billing and service support admins must then add an authenticator app "
            "or a passkey, and use it at every sign-in, before they reach the portal, the "
            "organization's settings or its API keys."
        ),
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices)


def _member_or_404(request: TenantRequest, member_id: int) -> Membership:
    """A membership of the acting organization, or 404 (another tenant's id too)."""
    if not 0 < member_id < 2**63:
        raise Http404
    member = (
        Membership.objects.select_related("user")
        .filter(organization=request.organization, pk=member_id)
        .first()
    )
    if member is None:
        raise Http404
    return member


def _refused(request: TenantRequest) -> HttpResponse:
    return render(
        request,
        "portal/settings_refused.html",
        {"organization": request.organization, "error": ERR_NOT_GLOBAL_ADMIN_MEMBERS},
        status=403,
    )


@tenant_view(admin_only=True)
@require_http_methods(["GET"])
def members(request: TenantRequest) -> HttpResponse:
    """Everyone in the organization with their role, and the latest changes."""
    if not may_manage_members(request.membership):
        return _refused(request)
    organization = request.organization
    return render(
        request,
        "portal/settings_members.html",
        {
            "organization": organization,
            "members": list(
                Membership.objects.filter(organization=organization)
                .select_related("user")
                .order_by("user__email")
            ),
            "changes": list(
                MembershipChange.objects.filter(organization=organization).order_by(
                    "-created_at", "-pk"
                )[:20]
            ),
        },
    )


@tenant_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def member(request: TenantRequest, member: int) -> HttpResponse:
    """Change one member's role."""
    found = _member_or_404(request, member)
    if not may_manage_members(request.membership):
        return _refused(request)
    form = RoleForm(request.POST or None, initial={"role": found.role})
    if request.method == "POST" and form.is_valid():
        with into_form(form, field="role"):
            changed = membership_change_role(
                organization=request.organization,
                actor_membership=request.membership,
                member_id=found.pk,
                role=form.cleaned_data["role"],
                now=timezone.now(),
            )
            messages.success(
                request,
                _("%(member)s is now %(role)s.")
                % {"member": changed.user.email, "role": changed.get_role_display()},
            )
            return redirect("portal:settings_members", org=request.organization.slug)
    return render(
        request,
        "portal/settings_member.html",
        {"organization": request.organization, "member": found, "form": form},
    )


@tenant_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def member_remove(request: TenantRequest, member: int) -> HttpResponse:
    """Confirm, then remove a member from the organization (their account stays)."""
    found = _member_or_404(request, member)
    if not may_manage_members(request.membership):
        return _refused(request)
    outcome = Outcome()
    if request.method == "POST":
        with captured() as outcome:
            membership_remove(
                organization=request.organization,
                actor_membership=request.membership,
                member_id=found.pk,
                now=timezone.now(),
            )
            messages.success(
                request,
                _("%(member)s was removed from %(organization)s.")
                % {"member": found.user.email, "organization": request.organization.name},
            )
            if found.pk == request.membership.pk:
                return redirect("home")
            return redirect("portal:settings_members", org=request.organization.slug)
    return render(
        request,
        "portal/settings_member_remove.html",
        {
            "organization": request.organization,
            "member": found,
            "error": outcome.message,
            "is_self": found.pk == request.membership.pk,
        },
        status=400 if outcome.refusal else 200,
    )


@tenant_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def security(request: TenantRequest) -> HttpResponse:
    """Whether the organization's admins need a second factor (mfa.middleware enforces it)."""
    if not may_manage_members(request.membership):
        return _refused(request)
    organization = request.organization
    form = SecurityForm(
        request.POST or None,
        initial={"mfa_required_for_admins": organization.mfa_required_for_admins},
    )
    if request.method == "POST" and form.is_valid():
        with into_form(form):
            required = form.cleaned_data["mfa_required_for_admins"]
            organization_require_mfa(
                organization=organization,
                actor_membership=request.membership,
                required=required,
                now=timezone.now(),
            )
            messages.success(
                request,
                _("The organization's admins now need a second factor.")
                if required
                else _("A second factor is now optional for the organization's admins."),
            )
            return redirect("portal:settings_security", org=organization.slug)
    return render(
        request, "portal/settings_security.html", {"organization": organization, "form": form}
    )

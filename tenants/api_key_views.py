"""Organization settings → API keys (``/portal/<org>/settings/api-keys/…``).

Global admins only (POL-WHO-2 default: organization settings are a global admin's task);
other admins see a page that says so, plain users the "ask your admin" page (POL-WHO-1).
A new key is shown once, on the page that answers its creation, and never again.
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

from core.refusals import into_form
from tenants.access import TenantRequest, tenant_view
from tenants.api_keys import api_key_create, api_key_revoke
from tenants.api_tenancy import ERR_GLOBAL_ADMIN_ONLY
from tenants.credentials import ApiKey
from tenants.models import Role

ADMIN_ROLE_CHOICES = [(role.value, role.label) for role in Role if role in Role.admin_roles()]


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("What uses the key, e.g. “Monitoring” or “CRM sync”."),
    )
    role = forms.ChoiceField(
        label=gettext_lazy("Acts as"),
        choices=ADMIN_ROLE_CHOICES,
        initial=Role.GLOBAL_ADMIN,
        help_text=gettext_lazy(
            "The key files only what this role may file (billing admins: billing and "
            "pre-sales; service support admins: technical)."
        ),
    )


def refused(request: TenantRequest, title: str) -> HttpResponse:
    return render(
        request,
        "portal/settings_api_refused.html",
        {"organization": request.organization, "title": title, "error": ERR_GLOBAL_ADMIN_ONLY},
        status=403,
    )


def _key_or_404(request: TenantRequest, key_id: int) -> ApiKey:
    """A key of the acting organization, or 404 (another tenant's id too)."""
    if not 0 < key_id < 2**63:
        raise Http404
    key = ApiKey.objects.filter(organization=request.organization, pk=key_id).first()
    if key is None:
        raise Http404
    return key


@tenant_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def api_keys(request: TenantRequest) -> HttpResponse:
    if request.membership.role != Role.GLOBAL_ADMIN:
        return refused(request, _("API keys"))
    form = ApiKeyForm(request.POST or None)
    issued = None
    if request.method == "POST" and form.is_valid():
        with into_form(form):
            issued = api_key_create(
                organization=request.organization,
                name=form.cleaned_data["name"],
                role=form.cleaned_data["role"],
                created_by=request.user,
                now=timezone.now(),
            )
            form = ApiKeyForm()
    return render(
        request,
        "portal/settings_api_keys.html",
        {
            "organization": request.organization,
            "form": form,
            "issued": issued,
            "keys": ApiKey.objects.filter(organization=request.organization)
            .select_related("created_by")
            .order_by("revoked_at", "-created_at"),
        },
    )


@tenant_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def api_key_revoke_view(request: TenantRequest, key: int) -> HttpResponse:
    api_key = _key_or_404(request, key)
    if request.membership.role != Role.GLOBAL_ADMIN:
        return refused(request, _("API keys"))
    if request.method == "POST":
        api_key_revoke(key=api_key, now=timezone.now(), actor=request.user)
        messages.success(request, _("The key %(prefix)s is revoked.") % {"prefix": api_key.prefix})
        return redirect("portal:settings_api_keys", org=request.organization.slug)
    return render(
        request,
        "portal/settings_api_key_revoke.html",
        {"organization": request.organization, "key": api_key},
    )

"""The customer's own account page in the portal (``/portal/<org>/account/``): the time
zone the portal shows times in. Every member may use it, admin or not: it changes
nothing of the organization."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core import moments
from tenants.access import TenantRequest, tenant_view
from tenants.zone_views import time_zone_form


@tenant_view(admin_only=False)
@require_http_methods(["GET", "POST"])
def account(request: TenantRequest) -> HttpResponse:
    organization = request.organization
    default = _("Your organization's time zone (%(zone)s)") % {
        "zone": moments.zone_place(organization.zone)
    }
    form, saved = time_zone_form(request, user=request.membership.user, blank_label=default)
    if saved:
        return redirect("portal:account", org=organization.slug)
    return render(
        request,
        "portal/account.html",
        {"organization": organization, "membership": request.membership, "zone_form": form},
        status=400 if form.is_bound else 200,
    )

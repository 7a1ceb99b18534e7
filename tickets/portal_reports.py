"""The customer organization's own service report on the portal (issue 15).

Its admins see how support served them — first responses met, missed and pending, the
median times to a first response and to resolution — this month and last, read in the
organization's time zone. Only the acting organization's requests are read
(``selectors.organization_report`` takes the organization ``tenant_view`` resolved).
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from tenants.access import TenantRequest, tenant_view
from tickets import selectors


@tenant_view(admin_only=True)
@require_GET
def service_report(request: TenantRequest) -> HttpResponse:
    """This month and last month side by side: two queries, one per month."""
    organization = request.organization
    now = timezone.now()
    this_month = now.astimezone(organization.zone).date().replace(day=1)
    current = selectors.organization_report(organization, month_start=this_month, now=now)
    previous = selectors.organization_report(
        organization, month_start=selectors.previous_month(this_month), now=now
    )
    groups = [
        (current.overall, previous.overall),
        *zip(current.by_original_severity, previous.by_original_severity, strict=True),
    ]
    return render(
        request,
        "portal/service_report.html",
        {"organization": organization, "current": current, "previous": previous, "groups": groups},
    )

"""Organization settings → audit trail (``/portal/<org>/settings/audit/``, issue 17).

Global admins only (POL-WHO-2 default: organization settings are a global admin's task):
other admins see a page that says so, plain users the "ask your admin" page (POL-WHO-1).
Only the organization's own rows, ever; the filters and the CSV are ``audit.selectors``'.
"""

from __future__ import annotations

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from audit import selectors
from tenants.access import TenantRequest, tenant_view
from tenants.models import Role

ERR_GLOBAL_ADMIN_AUDIT = gettext_lazy(
    "Only a global admin of the organization can read its audit trail. "
    "Ask one of your global admins."
)


def _refused(request: TenantRequest) -> HttpResponse:
    return render(
        request,
        "portal/settings_refused.html",
        {
            "organization": request.organization,
            "title": _("Audit trail"),
            "error": ERR_GLOBAL_ADMIN_AUDIT,
        },
        status=403,
    )


@tenant_view(admin_only=True)
@require_GET
def audit_trail(request: TenantRequest) -> HttpResponse:
    if request.membership.role != Role.GLOBAL_ADMIN:
        return _refused(request)
    context, valid = selectors.viewer_context(request.GET, organization_id=request.organization.pk)
    context.update(
        {
            "organization": request.organization,
            "csv_url": reverse(
                "portal:settings_audit_csv", kwargs={"org": request.organization.slug}
            ),
        }
    )
    return render(request, "portal/settings_audit.html", context, status=200 if valid else 400)


@tenant_view(admin_only=True)
@require_GET
def audit_trail_csv(request: TenantRequest) -> HttpResponse | StreamingHttpResponse:
    if request.membership.role != Role.GLOBAL_ADMIN:
        return _refused(request)
    rows = selectors.csv_rows(request.GET, organization_id=request.organization.pk)
    if rows is None:
        return HttpResponse(
            _("The filters are not valid."), status=400, content_type="text/plain; charset=utf-8"
        )
    response = StreamingHttpResponse(
        selectors.csv_stream(
            rows, zone=timezone.get_current_timezone(), language=translation.get_language()
        ),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="audit-{request.organization.slug}.csv"'
    )
    return response

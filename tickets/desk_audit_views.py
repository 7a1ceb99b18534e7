"""The desk's audit trail (``/desk/audit/``, issue 17): every organization's rows and the
provider's own, for supervisors only; filters and CSV are ``audit.selectors``'."""

from __future__ import annotations

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from audit import selectors
from tenants.access import AgentRequest, supervisor_view
from tenants.models import Organization


def _organizations() -> list[tuple[int, str]]:
    return list(Organization.objects.order_by("name").values_list("pk", "name"))


@supervisor_view
@require_GET
def audit_trail(request: AgentRequest) -> HttpResponse:
    context, valid = selectors.viewer_context(
        request.GET, organization_id=None, organizations=_organizations()
    )
    context["csv_url"] = reverse("desk:audit_csv")
    return render(request, "desk/audit.html", context, status=200 if valid else 400)


@supervisor_view
@require_GET
def audit_trail_csv(request: AgentRequest) -> HttpResponse | StreamingHttpResponse:
    rows = selectors.csv_rows(request.GET, organization_id=None, organizations=_organizations())
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
    response["Content-Disposition"] = 'attachment; filename="audit.csv"'
    return response

"""The production URLconf plus ``/api/v1/bench/floor/``: the benchmark's floor, the same
payload validated by DRF and one INSERT, with no authentication, assessment, Event or
clocks. Served only under ``bench.settings`` (``bench/api.py``)."""

from __future__ import annotations

from django.urls import include, path
from rest_framework import permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets.models import Ticket
from tickets.serializers import TicketCreateIn


class BenchFloorView(APIView):
    authentication_classes = ()
    permission_classes = (permissions.AllowAny,)
    throttle_classes = ()
    schema = None  # not part of the API

    def post(self, request: Request) -> Response:
        data = TicketCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["contact_phone"] = values["contact_phone"] or ""
        ticket = Ticket.objects.create(
            organization_id=int(request.headers.get("X-Bench-Organization", "0") or 0),
            severity="B",
            original_severity="B",
            **values,
        )
        return Response({"number": ticket.reference}, status=status.HTTP_201_CREATED)


# Before the production routes: /api/v1/ answers any path it does not know with a JSON 404.
urlpatterns = [
    path("api/v1/bench/floor/", BenchFloorView.as_view(), name="bench-floor"),
    path("", include("supportdesk.urls")),
]

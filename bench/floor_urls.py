"""The production URLconf plus two floors the benchmarks compare with, served only under
``bench.settings``:

- ``/api/v1/bench/floor/`` (``bench/api.py``): the same payload validated by DRF and one
  INSERT, with no authentication, assessment, Event or clocks;
- ``/desk/bench/floor/`` (``bench/desk.py``): a desk page with nothing on it, the
  irreducible part of every desk page: the middleware (session, user, second factor), the
  layout and the desk's navigation with its bell and sweep banner."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path
from django.views.decorators.http import require_GET
from rest_framework import permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.access import desk_view
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


_DESK_FLOOR = engines["django"].from_string(
    '{% extends "base.html" %}{% block title %}Floor{% endblock %}'
    '{% block content %}{% include "desk/_nav.html" %}<h1>Floor</h1>{% endblock %}'
)


@desk_view
@require_GET
def desk_floor(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_DESK_FLOOR.render({}, request))


# Before the production routes: /api/v1/ answers any path it does not know with a JSON 404.
urlpatterns = [
    path("api/v1/bench/floor/", BenchFloorView.as_view(), name="bench-floor"),
    path("desk/bench/floor/", desk_floor, name="bench-desk-floor"),
    path("", include("supportdesk.urls")),
]

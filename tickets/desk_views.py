"""The agent desk (``/desk/…``): provider staff only."""

from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from severity.health import sweep_status
from tenants.access import desk_view
from tickets.models import Ticket


@desk_view
def home(request: HttpRequest) -> HttpResponse:
    active = Ticket.objects.active()
    queue = active.select_related("organization", "product", "assignee").order_by(
        "-escalation_level", "response_due_at", "created_at"
    )[:50]
    counts = dict(
        active.values_list("severity").annotate(n=Count("*")).values_list("severity", "n")
    )
    return render(
        request,
        "desk/home.html",
        {"queue": queue, "counts": counts, "sweep": sweep_status(now=timezone.now())},
    )

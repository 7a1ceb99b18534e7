"""The agent desk (``/desk/…``): provider staff only."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from severity.clocks import explain
from severity.health import sweep_status
from tenants.access import desk_view
from tickets.access import ticket_for_desk
from tickets.actors import Actor
from tickets.forms import SeverityChangeForm
from tickets.models import Ticket
from tickets.services import TicketError, ticket_change_severity


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


@desk_view
@require_GET
def ticket_detail(request: HttpRequest, number: str) -> HttpResponse:
    """The request as support sees it, with the SLA ledger: why the deadline is where it is."""
    ticket = ticket_for_desk(request.user, number)  # type: ignore[arg-type]
    return _render_ticket(
        request, ticket, SeverityChangeForm(initial={"severity": ticket.severity})
    )


@desk_view
@require_POST
def ticket_severity(request: HttpRequest, number: str) -> HttpResponse:
    ticket = ticket_for_desk(request.user, number)  # type: ignore[arg-type]
    form = SeverityChangeForm(request.POST)
    if form.is_valid():
        try:
            ticket_change_severity(
                ticket=ticket,
                actor=Actor.for_user(request.user),  # type: ignore[arg-type]
                severity=form.cleaned_data["severity"],
                reason=form.cleaned_data["reason"],
                now=timezone.now(),
            )
        except TicketError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("Severity changed; the deadlines are recomputed."))
            return redirect("desk:ticket", number=ticket.pk)
    return _render_ticket(request, ticket, form, status=400)


def _render_ticket(
    request: HttpRequest, ticket: Ticket, form: SeverityChangeForm, *, status: int = 200
) -> HttpResponse:
    now = timezone.now()
    return render(
        request,
        "desk/ticket.html",
        {
            "ticket": ticket,
            "form": form,
            "ledger": explain(ticket, now=now),
            "now": now,
            "conversation": ticket.messages.select_related("author"),
            "timeline": ticket.events.select_related("actor_user").order_by("created_at", "pk"),
        },
        status=status,
    )

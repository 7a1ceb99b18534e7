"""The customer portal (``/portal/<org>/…``): thin views over access functions and services."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tenants.access import TenantRequest, tenant_view
from tickets.access import ticket_for_organization
from tickets.actors import Actor
from tickets.forms import MessageForm
from tickets.models import Status, Ticket
from tickets.services import TicketError, ticket_customer_reply


@tenant_view(admin_only=False)
def home(request: TenantRequest) -> HttpResponse:
    """Every member lands here; only admins see their requests (POL-WHO-1, POL-SELF-3)."""
    context: dict[str, object] = {"organization": request.organization}
    if request.membership.is_admin:
        tickets = Ticket.objects.for_org(request.organization)
        context["open_requests"] = list(
            tickets.active().select_related("product").order_by("-updated_at")[:10]
        )
        context["open_count"] = tickets.active().count()
    return render(request, "portal/home.html", context)


@tenant_view(admin_only=True)
def request_list(request: TenantRequest) -> HttpResponse:
    tickets = Ticket.objects.for_org(request.organization).select_related("product")
    status = request.GET.get("status", "active")
    if status == "active":
        tickets = tickets.active()
    elif status in Status.values:
        tickets = tickets.filter(status=status)
    else:
        status = "all"
    page = Paginator(tickets.order_by("-created_at"), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/request_list.html",
        {"organization": request.organization, "page": page, "status": status, "statuses": Status},
    )


@tenant_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def request_detail(request: TenantRequest, number: str) -> HttpResponse:
    ticket = ticket_for_organization(request.organization, number)
    form = MessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            ticket_customer_reply(
                ticket=ticket,
                actor=Actor.for_member(request.membership),
                body=form.cleaned_data["body"],
                now=timezone.now(),
            )
        except TicketError as error:
            form.add_error("body", error.message)
        else:
            messages.success(request, _("Your reply was sent."))
            return redirect(
                "portal:request_detail", org=request.organization.slug, number=ticket.pk
            )
    conversation = ticket.messages.public().select_related("author")
    return render(
        request,
        "portal/request_detail.html",
        {
            "organization": request.organization,
            "ticket": ticket,
            "conversation": conversation,
            "form": form,
        },
    )

"""The customer portal (``/portal/<org>/…``): thin views over access functions and services.

Every page works as a plain form post; htmx only swaps fragments (the live severity
assessment with the expected wait, the incidents of the chosen product) into the same
page the server would render anyway.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import FileResponse, HttpResponse, HttpResponseNotAllowed
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.refusals import captured, into_form
from helpcenter.models import Service
from helpcenter.selectors import current_incidents
from tenants.access import TenantRequest, tenant_view
from tenants.roles import fileable_categories
from tickets import intake, search
from tickets.access import attachment_for_organization, ticket_for_organization
from tickets.actors import Actor
from tickets.collision import StaleReply
from tickets.expectations import sla_state
from tickets.filters import ALL, RANK, RequestFilter, is_ranked
from tickets.forms import (
    SORTS,
    AssessmentForm,
    FollowUpForm,
    MessageForm,
    RatingForm,
    ReopenForm,
    RequestFilterForm,
    RequestForm,
    ResolveForm,
)
from tickets.models import Attachment, Channel, Event, Message, Rating, Status, Ticket
from tickets.services import (
    auto_close_after,
    may_file_follow_up,
    may_reopen,
    needs_assessment,
    reopen_window,
    ticket_complete_assessment,
    ticket_create,
    ticket_customer_reply,
    ticket_follow_up,
    ticket_rate,
    ticket_reopen,
    ticket_resolve,
)

PAGE_SIZE = 25

# What the customer's timeline shows: changes they can see. Internal notes, assignments,
# deadline warnings and escalations are support's own business.


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


# --- My requests ----------------------------------------------------------------------------


@tenant_view(admin_only=True)
def request_list(request: TenantRequest) -> HttpResponse:
    """The organization's requests, filtered by status, severity and category, sorted."""
    filters = RequestFilterForm(request.GET)
    values = filters.values()
    q = search.clean(request.GET.get("q"))
    if q and not request.GET.get("status"):
        # A search reaches closed requests too unless a status is chosen.
        values["status"] = ALL
    # The form keeps only valid values (a stale bookmark still shows the list); the API's
    # filter applies them, and searches this organization's requests only.
    data = {field: [values[field]] for field in ("status", "severity", "category") if values[field]}
    if q:
        data["q"] = [q]
    tickets = RequestFilter(
        MultiValueDict(data),
        queryset=Ticket.objects.for_org(request.organization).select_related("product"),
        organization=request.organization,
    ).qs
    # Best match first for a search, unless a sort is chosen.
    ranked = is_ranked(tickets) and not request.GET.get("sort")
    ordering = (RANK,) if ranked else SORTS[values["sort"]]
    page = Paginator(tickets.order_by(*ordering), PAGE_SIZE).get_page(request.GET.get("page"))
    # The page's rows with their highlighted title and passage (public words only).
    rows = search.hits(list(page.object_list), q, staff=False)
    query = {k: v for k, v in values.items() if v}
    if q:
        query["q"] = q
    return render(
        request,
        "portal/request_list.html",
        {
            "organization": request.organization,
            "page": page,
            "rows": rows,
            "q": q,
            "max_query": search.MAX_QUERY,
            "filters": filters,
            "values": values,
            "status": values["status"],
            "statuses": Status,
            "query": urlencode(query),
            "status_query": urlencode({k: v for k, v in query.items() if k != "status"}),
        },
    )


def _conversation(ticket: Ticket) -> list[Message]:
    """Public messages only — never internal notes — with their attachments."""
    return list(
        ticket.messages.public()
        .select_related("author")
        .prefetch_related(
            Prefetch("attachments", queryset=Attachment.objects.order_by("created_at", "pk"))
        )
    )


def _detail(
    request: TenantRequest,
    ticket: Ticket,
    *,
    reply_form: MessageForm | None = None,
    resolve_form: ResolveForm | None = None,
    reopen_form: ReopenForm | None = None,
    rating_form: RatingForm | None = None,
    follow_up_form: FollowUpForm | None = None,
    held: list[Event] | None = None,
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    rating = Rating.objects.filter(ticket=ticket).select_related("rated_by").first()
    closes_after = auto_close_after()
    conversation = _conversation(ticket)
    timeline = list(ticket.events.customer_visible().select_related("actor_user"))
    bodies: dict[object, str] = {message.pk: message.body for message in conversation}
    context = {
        "organization": request.organization,
        "ticket": ticket,
        "conversation": conversation,
        "request_files": list(
            ticket.attachments.filter(message__isnull=True).order_by("created_at", "pk")
        ),
        "timeline": timeline,
        # The reply form's "written against" mark for the stale-reply guard, and what
        # came after it when a reply was held.
        "newest_event_id": max((event.pk for event in timeline), default=0),
        "held": [
            (event, bodies.get((event.after or {}).get("message"), "")) for event in held or []
        ],
        "sla": sla_state(ticket, now=now, zone=timezone.get_current_timezone()),
        "rating": rating,
        "can_reopen": may_reopen(ticket, now),
        # After the reopen window (or once closed), writing again files a linked follow-up.
        "can_follow_up": may_file_follow_up(ticket, now),
        "reopen_until": ticket.resolved_at + reopen_window() if ticket.resolved_at else None,
        "closes_at": (
            ticket.resolved_at + closes_after
            if ticket.resolved_at and closes_after and ticket.status == Status.RESOLVED
            else None
        ),
        "follow_up_of": ticket.follow_up_of if ticket.follow_up_of_id else None,
        "follow_ups": (
            list(ticket.follow_ups.order_by("pk"))
            if ticket.status in (Status.RESOLVED, Status.CLOSED)
            else []
        ),
        "follow_up_form": follow_up_form or FollowUpForm(),
        "form": reply_form or MessageForm(),
        "resolve_form": resolve_form or ResolveForm(),
        "reopen_form": reopen_form or ReopenForm(),
        "rating_form": rating_form or RatingForm(),
        # A refusal that belongs to no field (resolve a resolved request, rate an open
        # one) is shown at the top: the form it came from may not be on the page.
        "page_errors": [
            error
            for form in (resolve_form, reopen_form, rating_form, follow_up_form)
            if form is not None
            for error in form.non_field_errors()
        ],
    }
    return render(request, "portal/request_detail.html", context, status=status)


@tenant_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def request_detail(request: TenantRequest, number: str) -> HttpResponse:
    """The request with its conversation, files, SLA state and timeline; a POST replies,
    resolves, reopens, rates or files a follow-up of a closed request, named by
    ``action``."""
    ticket = ticket_for_organization(request.organization, number)
    if request.method != "POST":
        return _detail(request, ticket)
    actor = Actor.for_member(request.membership)
    now = timezone.now()
    action = request.POST.get("action", "reply")
    back = redirect("portal:request_detail", org=request.organization.slug, number=ticket.pk)
    if action == "resolve":
        resolve_form = ResolveForm(request.POST)
        if resolve_form.is_valid():
            with into_form(resolve_form):
                ticket_resolve(
                    ticket=ticket, actor=actor, reason=resolve_form.cleaned_data["reason"], now=now
                )
                messages.success(request, _("The request is resolved. Thank you for telling us."))
                return back
        return _detail(request, ticket, resolve_form=resolve_form, status=400)
    if action == "reopen":
        reopen_form = ReopenForm(request.POST)
        if reopen_form.is_valid():
            with into_form(reopen_form, field="reason"):
                ticket_reopen(
                    ticket=ticket, actor=actor, reason=reopen_form.cleaned_data["reason"], now=now
                )
                messages.success(request, _("The request is open again; support will answer."))
                return back
        return _detail(request, ticket, reopen_form=reopen_form, status=400)
    if action == "follow_up":
        follow_up_form = FollowUpForm(request.POST)
        if follow_up_form.is_valid():
            # Refusals of the copied answers (a role's categories, POL-WHO-2) show at the top.
            with into_form(follow_up_form):
                follow_up = ticket_follow_up(
                    ticket=ticket,
                    actor=actor,
                    body=follow_up_form.cleaned_data["body"],
                    now=now,
                    channel=Channel.WEB,
                )
                messages.success(
                    request,
                    _("Your follow-up was filed as %(reference)s, linked to %(closed)s.")
                    % {"reference": follow_up.reference, "closed": ticket.reference},
                )
                return redirect(
                    "portal:request_detail", org=request.organization.slug, number=follow_up.pk
                )
        return _detail(request, ticket, follow_up_form=follow_up_form, status=400)
    if action == "rate":
        rating_form = RatingForm(request.POST)
        if rating_form.is_valid():
            with into_form(rating_form):
                ticket_rate(
                    ticket=ticket,
                    actor=actor,
                    score=rating_form.cleaned_data["score"],
                    comment=rating_form.cleaned_data["comment"],
                    now=now,
                )
                messages.success(request, _("Thank you for rating the support."))
                return back
        return _detail(request, ticket, rating_form=rating_form, status=400)
    reply_form = MessageForm(request.POST, request.FILES)
    held: list[Event] = []
    if reply_form.is_valid():
        # A reply written before support's answer is held: the page comes back with the
        # draft, what is new, and "Send anyway".
        with captured() as outcome:
            ticket_customer_reply(
                ticket=ticket,
                actor=actor,
                body=reply_form.cleaned_data["body"],
                attachments=reply_form.cleaned_data["attachments"],
                now=now,
                seen_event_id=reply_form.seen_event_id(),
            )
        if outcome.refusal is None:
            messages.success(request, _("Your reply was sent."))
            return back
        if isinstance(outcome.refusal, StaleReply):
            held = outcome.refusal.events
        else:
            with into_form(reply_form, field="body"):
                raise outcome.refusal
    return _detail(request, ticket, reply_form=reply_form, held=held, status=409 if held else 200)


@tenant_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def request_assess_email(request: TenantRequest, number: str) -> HttpResponse:
    """The assessment of a request filed by e-mail, linked from the automatic answer
    (POL-SEV-1): severity C until the admin answers these questions once."""
    ticket = ticket_for_organization(request.organization, number)
    context: dict[str, object] = {"organization": request.organization, "ticket": ticket}
    if not needs_assessment(ticket):
        # A link followed twice, or a request filed in the portal: nothing left to ask.
        return render(request, "portal/request_assess_email.html", context)
    back = redirect("portal:request_detail", org=request.organization.slug, number=ticket.pk)
    form = AssessmentForm(
        request.POST or None,
        initial={"category": ticket.category, "product": ticket.product},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with into_form(form):
            ticket = ticket_complete_assessment(
                ticket=ticket,
                actor=Actor.for_member(request.membership),
                category=data["category"],
                product=data["product"],
                impact=data["impact"],
                scope=data["scope"],
                business_impact=data["business_impact"],
                contact_24x7=data["contact_24x7"],
                now=timezone.now(),
            )
            messages.success(
                request,
                _("Thank you. The request now has severity %(severity)s.")
                % {"severity": ticket.get_severity_display()},
            )
            return back
    context["form"] = form
    return render(
        request,
        "portal/request_assess_email.html",
        context,
        status=400 if form.is_bound else 200,
    )


@tenant_view(admin_only=True)
def attachment_download(request: TenantRequest, number: str, attachment: int) -> HttpResponseBase:
    """The file, as a download: never rendered inline, never sniffed by the browser."""
    found = attachment_for_organization(request.organization, number, attachment)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    response = FileResponse(
        found.file.open("rb"),
        as_attachment=True,
        filename=found.original_name,
        content_type=found.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


# --- Contact support ------------------------------------------------------------------------


def _incidents_for(product: Service | None) -> list[Any]:
    """Active incidents of the chosen product, shown before the admin goes on (POL-SELF-1)."""
    return list(current_incidents(service=product)) if product is not None else []


def preview(request: TenantRequest, data: Any, *, now: datetime) -> intake.Preview:
    """The live assessment (POL-SEV-1..6, POL-SLA-2) and the expected wait (POL-REQ-2)
    for the answers so far: the same preview the API's ``severity/assess/`` gives."""
    return intake.preview(
        organization=request.organization,
        role=request.membership.role,
        answers=data,
        now=now,
        zone=timezone.get_current_timezone(),
    )


def _request_form_page(
    request: TenantRequest, form: RequestForm, *, status: int = 200
) -> HttpResponse:
    organization = request.organization
    data = form.data if form.is_bound else form.initial
    product = None
    product_id = data.get("product")
    if product_id and str(product_id).isdecimal() and len(str(product_id)) < 18:
        product = Service.objects.active().filter(pk=int(product_id)).first()
    # static/js/app.js asks for the chosen product's incidents as it changes.
    form.fields["product"].widget.attrs.update(
        {
            "data-incidents-url": reverse(
                "portal:incidents_for_service", kwargs={"org": organization.slug}
            ),
            "data-incidents-target": "#product-incidents",
        }
    )
    context = {
        "organization": organization,
        "form": form,
        "preview": preview(request, data, now=timezone.now()),
        "incidents": _incidents_for(product),
        "fileable": fileable_categories(request.membership.role),
        "role": request.membership.get_role_display(),
    }
    return render(request, "portal/request_new.html", context, status=status)


@tenant_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def request_new(request: TenantRequest) -> HttpResponse:
    """Contact support (POL-REQ-1..4). A partner's customers see the partner first and go
    on with "New service request" (POL-WHO-4)."""
    organization = request.organization
    if request.method == "GET" and organization.partner_id and "provider" not in request.GET:
        return render(request, "portal/request_partner.html", {"organization": organization})
    if request.method == "GET":
        form = RequestForm(membership=request.membership, organization=organization)
        return _request_form_page(request, form)
    form = RequestForm(
        request.POST, request.FILES, membership=request.membership, organization=organization
    )
    if not form.is_valid():
        return _request_form_page(request, form, status=400)
    now = timezone.now()
    with into_form(form):
        ticket = ticket_create(
            organization=organization,
            actor=Actor.for_member(request.membership),
            draft=form.draft(),
            attachments=form.cleaned_data["attachments"],
            now=now,
        )
        messages.success(
            request,
            _("Your request %(reference)s was filed with severity %(severity)s. %(wait)s")
            % {
                "reference": ticket.reference,
                "severity": ticket.severity,
                "wait": sla_state(ticket, now=now, zone=timezone.get_current_timezone()).text,
            },
        )
        return redirect("portal:request_detail", org=organization.slug, number=ticket.pk)
    return _request_form_page(request, form, status=400)


@tenant_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def request_assess(request: TenantRequest) -> HttpResponse:
    """The htmx fragment of the live assessment: severity, reasons, expected wait."""
    data = request.POST if request.method == "POST" else request.GET
    return render(
        request,
        "portal/_assessment.html",
        {
            "organization": request.organization,
            "preview": preview(request, data, now=timezone.now()),
        },
    )

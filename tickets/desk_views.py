"""The agent desk (``/desk/…``): provider staff only (issue 7).

Views are thin: the access helpers find the ticket (404 for anyone else), a form parses
the input, a service writes, and the page is rendered again with the errors next to the
fields or the agent is sent back where they came from.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from django import forms
from django.contrib import messages
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    QueryDict,
)
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from core.refusals import captured, into_form, into_messages
from helpcenter.selectors import deflection_stats
from severity.sla import RUNNING, ledger
from tenants.access import AgentRequest, desk_view, supervisor_view
from tenants.masking import mask_email, mask_phone
from tenants.models import User
from tickets import attachments as uploads
from tickets import desk_forms, presence, report_charts, selectors, services
from tickets.access import attachment_for_desk, ticket_for_desk
from tickets.actors import Actor, actor_name
from tickets.clocks import Explanation, current_clocks, explain
from tickets.collision import StaleReply
from tickets.forms import SeverityChangeForm
from tickets.macros import FilledMacro, filled_macros
from tickets.models import (
    ActorKind,
    Attachment,
    AuthorRole,
    Event,
    EventKind,
    Macro,
    Message,
    MessageKind,
    SavedView,
    Status,
    Ticket,
)
from tickets.presence import present_on

# --- The queue -----------------------------------------------------------------------------


def _filter_form(
    request: AgentRequest,
) -> tuple[desk_forms.QueueFilterForm, list[tuple[int, str]]]:
    organizations, products, agents = desk_forms.queue_filter_choices()
    form = desk_forms.QueueFilterForm(
        request.GET, organizations=organizations, products=products, agents=agents
    )
    return form, agents


def _page_number(request: AgentRequest) -> int:
    try:
        return int(request.GET.get("page", "1"))
    except ValueError:
        return 1


# The queue's row density, remembered in the agent's session (issue 16).
DENSITY_SESSION_KEY = "desk_queue_density"
DENSITIES = ("compact", "comfortable")

# Quick filters above the queue: (filter, value, label). Each toggles its own filter and
# keeps the others, so the full filter form stays folded.
QUICK_FILTERS = (
    ("assignee", "me", gettext_lazy("Mine")),
    ("assignee", "none", gettext_lazy("Unassigned")),
    ("at_risk", "1", gettext_lazy("At risk")),
    ("breached", "1", gettext_lazy("Breached")),
    ("waiting", "1", gettext_lazy("Waiting on customer")),
)


def _density(request: AgentRequest) -> str:
    density = request.session.get(DENSITY_SESSION_KEY)
    return density if density in DENSITIES else DENSITIES[0]


def _queue_context(request: AgentRequest, form: desk_forms.QueueFilterForm) -> dict[str, Any]:
    now = timezone.now()
    page = selectors.queue_page(
        form.filters(),
        user=request.user,
        now=now,
        page=_page_number(request),
    )
    # The severity cards narrow the queue to their severity (or widen it back).
    cards = [
        {
            "count": count,
            "query": form.toggled("severity", count.severity),
            "current": form.is_on("severity", count.severity),
        }
        for count in page.counts
    ]
    return {
        "filter_form": form,
        "query": form.query_string(),
        "page": page,
        "cards": cards,
        "now": now,
        "density": _density(request),
    }


@desk_view
@require_GET
def home(request: AgentRequest) -> HttpResponse:
    """Every active ticket across tenants, most urgent first (issue 7)."""
    form, agents = _filter_form(request)
    context = _queue_context(request, form)
    context["agents"] = agents
    context["saved_views"] = list(SavedView.objects.filter(user=request.user))
    context["saved_view_form"] = desk_forms.SavedViewForm(initial={"query": context["query"]})
    context["quick_filters"] = [
        {"label": label, "query": form.toggled(name, value), "on": form.is_on(name, value)}
        for name, value, label in QUICK_FILTERS
    ]
    context["active_filters"] = form.active_filters()
    context["densities"] = [
        (value, label)
        for value, label in zip(DENSITIES, (_("Compact"), _("Comfortable")), strict=True)
    ]
    return render(request, "desk/home.html", context)


@desk_view
@require_GET
def queue_rows(request: AgentRequest) -> HttpResponse:
    """The live part of the queue (counts, rows, pager), polled by htmx with the same
    filters, so new and changed tickets appear without a reload."""
    form = desk_forms.QueueFilterForm(request.GET)
    context = _queue_context(request, form)
    context["user"] = request.user
    # Rendered without the request's context processors: the fragment shows nothing of
    # the page around it, so the navigation's query would be wasted on every poll.
    return HttpResponse(render_to_string("desk/_queue.html", context))


@desk_view
@require_POST
def queue_density(request: AgentRequest) -> HttpResponse:
    """Compact or comfortable queue rows, remembered for the agent's session."""
    density = request.POST.get("density", "")
    if density in DENSITIES:
        request.session[DENSITY_SESSION_KEY] = density
    return _back(request, "desk:home")


def _back(request: AgentRequest, fallback: str) -> HttpResponseRedirect:
    """Back to the page the form was posted from, if it is one of ours."""
    target = request.POST.get("next", "")
    # A control character would make the Location header invalid (a 500), not a redirect.
    if (
        target
        and target.isprintable()
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return HttpResponseRedirect(target)
    return redirect(fallback)


@desk_view
@require_POST
def saved_view_create(request: AgentRequest) -> HttpResponse:
    form = desk_forms.SavedViewForm(request.POST)
    # Whatever was posted, only the filters the queue understands are kept, re-encoded.
    query = desk_forms.QueueFilterForm(QueryDict(request.POST.get("query", ""))).query_string()
    if form.is_valid():
        with into_messages(request):
            view = services.saved_view_create(
                user=request.user,
                name=form.cleaned_data["name"],
                query=query,
            )
            messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
            return redirect(f"{reverse('desk:home')}?{view.query}")
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
    return redirect(f"{reverse('desk:home')}?{query}")


@desk_view
@require_POST
def saved_view_delete(request: AgentRequest, view: int) -> HttpResponse:
    if not services.saved_view_delete(user=request.user, view_id=view):
        raise Http404
    messages.success(request, _("The saved view was removed."))
    return redirect("desk:home")


@desk_view
@require_POST
def bulk_assign(request: AgentRequest) -> HttpResponse:
    """Assign the checked tickets, all or none (``tickets_bulk_assign``)."""
    form = desk_forms.BulkAssignForm(request.POST, agents=list(User.objects.agents()))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return _back(request, "desk:home")
    numbers = form.cleaned_data["tickets"]
    tickets = list(Ticket.objects.filter(pk__in=numbers).order_by("pk"))
    if len(tickets) != len(numbers):
        messages.error(request, _("Some of the selected requests do not exist."))
        return _back(request, "desk:home")
    assignee = form.chosen_agent()
    with into_messages(request):
        services.tickets_bulk_assign(
            tickets=tickets,
            actor=Actor.for_user(request.user),
            assignee=assignee,
            now=timezone.now(),
        )
        messages.success(
            request,
            _("%(count)d requests assigned to %(name)s.")
            % {
                "count": len(tickets),
                "name": assignee.get_full_name() if assignee else _("nobody"),
            },
        )
    return _back(request, "desk:home")


# --- The ticket workspace ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BarSegment:
    kind: str
    start: datetime
    end: datetime
    x: float  # 0..1000 user units of the SVG's viewBox
    width: float
    projected: bool


@dataclass(frozen=True, slots=True)
class LedgerBar:
    segments: list[BarSegment]
    now_x: float | None
    start: datetime
    end: datetime
    summary: list[tuple[str, timedelta]]


BAR_WIDTH = 1000.0
# A segment narrower than this is still drawn, so a short pause is visible on the bar.
MIN_SEGMENT_WIDTH = 3.0


def _ledger_bar(ticket: Ticket, explanation: Explanation, now: datetime) -> LedgerBar | None:
    """The SLA ledger as a horizontal bar: what happened since the clock started, and,
    while the clock runs, how the calendar carries it to the deadline (projected)."""
    segments = [(s.kind, s.start, s.end, False) for s in explanation.segments]
    due = explanation.due_at
    if due is not None and due > now and ticket.status in (Status.NEW, Status.OPEN):
        _clocks, _target, calendar, history = current_clocks(ticket)
        start = max(now, explanation.clock_from)
        segments += [
            (s.kind, s.start, s.end, True)
            for s in ledger(history=history, calendar=calendar, clock_from=start, until=due)
        ]
    if not segments:
        return None
    begin, finish = segments[0][1], segments[-1][2]
    span = (finish - begin).total_seconds()
    if span <= 0:
        return None
    drawn: list[BarSegment] = []
    totals: dict[str, timedelta] = {}
    for kind, start, end, projected in segments:
        x = BAR_WIDTH * (start - begin).total_seconds() / span
        width = max(MIN_SEGMENT_WIDTH, BAR_WIDTH * (end - start).total_seconds() / span)
        drawn.append(BarSegment(kind, start, end, round(x, 2), round(width, 2), projected))
        if not projected:
            totals[kind] = totals.get(kind, timedelta(0)) + (end - start)
    now_x = BAR_WIDTH * (now - begin).total_seconds() / span if begin < now < finish else None
    order = [RUNNING, "paused", "out_of_hours", "holiday", "met", "stopped"]
    summary = sorted(totals.items(), key=lambda item: order.index(item[0]))
    return LedgerBar(drawn, round(now_x, 2) if now_x is not None else None, begin, finish, summary)


@dataclass(frozen=True, slots=True)
class MaskedContact:
    kind: str
    value: str
    label: str
    usable: bool
    active_from: datetime


def _registered_contacts(ticket: Ticket, now: datetime) -> list[MaskedContact]:
    """The organization's registered contacts, masked as everywhere on the desk
    (POL-PIN-1): an agent reaches the full values only through a verified call."""

    organization = ticket.organization
    contacts = [
        MaskedContact("phone", mask_phone(c.number), c.label, c.active_from <= now, c.active_from)
        for c in organization.registered_phones.order_by("number")
    ]
    contacts += [
        MaskedContact("email", mask_email(c.email), c.label, c.active_from <= now, c.active_from)
        for c in organization.registered_emails.order_by("email")
    ]
    return contacts


def _macros(
    ticket: Ticket, *, agent: User, requester_name: str
) -> list[tuple[str, list[FilledMacro]]]:
    """Canned replies with their placeholders filled for this request, the ticket's
    language first."""
    groups: dict[str, list[FilledMacro]] = {}
    filled = filled_macros(
        list(Macro.objects.usable()), ticket, agent=agent, requester_name=requester_name
    )
    for macro in filled:
        groups.setdefault(macro.language, []).append(macro)
    own = ticket.get_language_display()
    return sorted(groups.items(), key=lambda item: (item[0] != own, item[0]))


FORM_CLASSES: dict[str, type[forms.Form]] = {
    "reply_form": desk_forms.ReplyForm,
    "note_form": desk_forms.NoteForm,
    "escalate_form": desk_forms.EscalateForm,
    "resolve_form": desk_forms.ResolveForm,
    "reopen_form": desk_forms.ReopenForm,
}
PREFIXES = {
    "reply_form": "reply",
    "note_form": "note",
    "escalate_form": "escalate",
    "resolve_form": "resolve",
    "reopen_form": "reopen",
}


def _conversation(
    ticket: Ticket,
) -> tuple[list[tuple[Message, list[Attachment]]], list[Attachment]]:
    """Every message with its files, and the request's own files: the ticket's files are
    read in one query, however many messages carry them."""
    files: dict[int | None, list[Attachment]] = {}
    for attachment in ticket.attachments.order_by("created_at", "pk"):
        files.setdefault(attachment.message_id, []).append(attachment)
    messages = ticket.messages.select_related("author")
    return [(message, files.get(message.pk, [])) for message in messages], files.get(None, [])


# The Events a message already stands for on the thread: drawn as the message itself.
_MESSAGE_EVENTS = {
    EventKind.CREATED,
    EventKind.REPLIED,
    EventKind.NOTED,
    EventKind.CUSTOMER_REPLIED,
    EventKind.INFORMATION_REQUESTED,
}


@dataclass(frozen=True, slots=True)
class ThreadEntry:
    """One entry of the workspace's thread: ``kind`` is request, customer, agent (a
    public reply), note or system (any other Event)."""

    kind: str
    at: datetime
    author: str
    message: Message | None = None
    files: tuple[Attachment, ...] = ()
    event: Event | None = None
    asks: bool = False  # a reply that made the request wait on the customer


def _thread(
    ticket: Ticket,
    conversation: list[tuple[Message, list[Attachment]]],
    timeline: list[Event],
) -> tuple[list[ThreadEntry], str]:
    """The request first, then messages and the other Events in time order; returns the
    thread and the requester's name."""
    created = next((e for e in timeline if e.kind == EventKind.CREATED), None)
    requester = ""
    if created is not None and created.actor_kind != ActorKind.SYSTEM:
        requester = actor_name(created)
    requester = requester or ticket.contact_email or _("The customer")
    asked = {
        e.after.get("message")
        for e in timeline
        if e.kind == EventKind.INFORMATION_REQUESTED and isinstance(e.after, dict)
    }
    entries: list[tuple[datetime, int, int, ThreadEntry]] = []
    for message, files in conversation:
        if message.kind == MessageKind.NOTE:
            kind = "note"
        elif message.author_role == AuthorRole.CUSTOMER:
            kind = "customer"
        else:
            kind = "agent"
        author = (
            (message.author.get_full_name() or message.author.email)
            if message.author
            else _("The customer")
            if kind == "customer"
            else _("Support")
        )
        entry = ThreadEntry(
            kind, message.created_at, author, message, tuple(files), asks=message.pk in asked
        )
        entries.append((message.created_at, 1, message.pk, entry))
    for event in timeline:
        if event.kind in _MESSAGE_EVENTS and (
            event.kind == EventKind.CREATED or "message" in (event.after or {})
        ):
            continue
        entry = ThreadEntry("system", event.created_at, actor_name(event), event=event)
        entries.append((event.created_at, 0, event.pk, entry))
    entries.sort(key=lambda item: item[:3])
    first = ThreadEntry("request", ticket.created_at, requester)
    return [first, *(entry for *_key, entry in entries)], requester


@dataclass(frozen=True, slots=True)
class SlaStrip:
    """The SLA state in a line: what is due, when, and whether it is at risk."""

    state: str  # "breached", "at_risk", "running", "paused", "none", "stopped"
    due_at: datetime | None


def _sla_strip(ticket: Ticket, now: datetime) -> SlaStrip:
    if not ticket.is_active:
        return SlaStrip("stopped", None)
    if ticket.status == Status.AWAITING_CUSTOMER:
        return SlaStrip("paused", ticket.customer_due_at)
    due = ticket.response_due_at
    if due is None:
        return SlaStrip("none", None)
    if due <= now:
        return SlaStrip("breached", due)
    warning = ticket.response_warning_at
    if warning is not None and warning <= now:
        return SlaStrip("at_risk", due)
    return SlaStrip("running", due)


@dataclass(frozen=True, slots=True)
class HeldNews:
    """What happened while the agent was writing a held reply."""

    event: Event
    actor: str
    body: str


def _held(
    events: list[Event], conversation: list[tuple[Message, list[Attachment]]]
) -> list[HeldNews]:
    bodies: dict[object, str] = {message.pk: message.body for message, _files in conversation}
    return [
        HeldNews(event, actor_name(event), bodies.get((event.after or {}).get("message"), ""))
        for event in events
    ]


def _render_ticket(
    request: AgentRequest,
    ticket: Ticket,
    *,
    bound: dict[str, forms.Form] | None = None,
    status: int = 200,
    held: list[Event] | None = None,
) -> HttpResponse:
    now = timezone.now()
    explanation = explain(ticket, now=now)
    conversation, request_files = _conversation(ticket)
    timeline = list(ticket.events.select_related("actor_user").order_by("created_at", "pk"))
    thread, requester = _thread(ticket, conversation, timeline)
    context: dict[str, Any] = {
        name: cls(prefix=PREFIXES[name]) for name, cls in FORM_CLASSES.items()
    }
    if not ticket.is_active:
        context["reply_form"] = desk_forms.ReplyForm(
            prefix="reply", initial={"mode": desk_forms.ReplyForm.MODE_NOTE}
        )
    context["form"] = SeverityChangeForm(initial={"severity": ticket.severity})
    context.update(bound or {})
    # A refused action whose form the page no longer shows (reopening an open request,
    # resolving a closed one) still says why, at the top.
    shown = {
        "reply_form": ticket.status != Status.CLOSED,
        # The composer's note mode replaced the separate form: its errors go on top.
        "note_form": False,
        "escalate_form": ticket.is_active,
        "resolve_form": ticket.is_active,
        "reopen_form": ticket.status == Status.RESOLVED,
        "form": ticket.is_active,
    }
    context["hidden_errors"] = [
        error
        for name, form in (bound or {}).items()
        if not shown.get(name, True)
        for errors in form.errors.values()
        for error in errors
    ]
    agents = list(User.objects.agents().order_by("full_name", "email"))
    context["assign_form"] = desk_forms.AssignForm(
        agents=agents, initial={"assignee": ticket.assignee_id}
    )
    context.update(
        {
            "ticket": ticket,
            "ledger": explanation,
            "bar": _ledger_bar(ticket, explanation, now),
            "sla": _sla_strip(ticket, now),
            "now": now,
            "conversation": conversation,
            "thread": thread,
            "requester": requester,
            "request_files": request_files,
            "timeline": timeline,
            # The composer's "written against" mark for the stale-reply guard.
            "newest_event_id": max((e.pk for e in timeline), default=0),
            "held": _held(held or [], conversation),
            "present": present_on(ticket.pk, now=now, besides=request.user.pk),
            "contacts": _registered_contacts(ticket, now),
            "macros": _macros(ticket, agent=request.user, requester_name=requester),
            "can_escalate": ticket.is_active
            and ticket.escalation_level < services.MAX_ESCALATION_LEVEL,
        }
    )
    return render(request, "desk/ticket.html", context, status=status)


@desk_view
@require_GET
def ticket_detail(request: AgentRequest, number: str) -> HttpResponse:
    """The request as support sees it: the conversation in the middle, one composer, the
    SLA state in a strip (the ledger folded below), the customer on the side."""
    ticket = ticket_for_desk(request.user, number)
    presence.presence_beat(
        ticket_id=ticket.pk,
        user_id=request.user.pk,
        name=request.user.get_full_name() or request.user.email,
        state=presence.VIEWING,
        now=timezone.now(),
    )
    return _render_ticket(request, ticket)


@desk_view
@require_POST
def ticket_presence(request: AgentRequest, number: str) -> HttpResponse:
    """The ticket page's beat (htmx, every ~10 s): records the agent as viewing or
    replying and answers who else is on the request."""
    ticket = ticket_for_desk(request.user, number)
    now = timezone.now()
    state = request.POST.get("state", presence.VIEWING)
    presence.presence_beat(
        ticket_id=ticket.pk,
        user_id=request.user.pk,
        name=request.user.get_full_name() or request.user.email,
        state=state if state in presence.STATES else presence.VIEWING,
        now=now,
    )
    present = presence.present_on(ticket.pk, now=now, besides=request.user.pk)
    return HttpResponse(render_to_string("desk/_presence.html", {"present": present}))


def _ticket_action(
    request: AgentRequest,
    number: str,
    *,
    form_name: str,
    form: forms.Form,
    act: Callable[[Ticket, Actor, dict[str, Any]], str],
) -> HttpResponse:
    """Validate, call the service, and either go back to the ticket with a message or show
    the page again with the error next to the field."""
    ticket = ticket_for_desk(request.user, number)
    if form.is_valid():
        with into_form(form):
            done = act(ticket, Actor.for_user(request.user), form.cleaned_data)
            messages.success(request, done)
            return redirect("desk:ticket", number=ticket.pk)
    ticket.refresh_from_db()
    return _render_ticket(request, ticket, bound={form_name: form}, status=400)


@desk_view
@require_POST
def ticket_severity(request: AgentRequest, number: str) -> HttpResponse:
    def act(ticket: Ticket, actor: Actor, data: dict[str, Any]) -> str:
        services.ticket_change_severity(
            ticket=ticket,
            actor=actor,
            severity=data["severity"],
            reason=data["reason"],
            now=timezone.now(),
        )
        return _("Severity changed; the deadlines are recomputed.")

    return _ticket_action(
        request, number, form_name="form", form=SeverityChangeForm(request.POST), act=act
    )


def _compose(ticket: Ticket, actor: Actor, form: desk_forms.ReplyForm) -> str:
    """Send what the composer holds: a note, a question, or a public reply (held when
    stale, ``tickets.collision``)."""
    data = form.cleaned_data
    now = timezone.now()
    if form.is_note:
        services.ticket_internal_note(
            ticket=ticket, actor=actor, body=data["body"], attachments=data["attachments"], now=now
        )
        return _("Internal note added.")
    if data["action"] == desk_forms.ReplyForm.ACTION_REQUEST_INFORMATION:
        services.ticket_request_information(
            ticket=ticket,
            actor=actor,
            body=data["body"],
            attachments=data["attachments"],
            now=now,
            seen_event_id=form.seen_event_id(),
        )
        return _("Sent. The request now waits on the customer; the response clock is paused.")
    services.ticket_agent_reply(
        ticket=ticket,
        actor=actor,
        body=data["body"],
        attachments=data["attachments"],
        now=now,
        seen_event_id=form.seen_event_id(),
    )
    return _("Your reply was sent to the customer.")


@desk_view
@require_POST
def ticket_reply(request: AgentRequest, number: str) -> HttpResponse:
    """The composer: a public reply, a question that makes the request wait on the
    customer (the cooperation clock starts, POL-SEV-7), or an internal note. A public
    answer written before newer activity is held: the page comes back with the draft and
    what is new, and "Send anyway"."""
    ticket = ticket_for_desk(request.user, number)
    form = desk_forms.ReplyForm(request.POST, request.FILES, prefix="reply")
    held: list[Event] = []
    if form.is_valid():
        with captured() as outcome:
            done = _compose(ticket, Actor.for_user(request.user), form)
        if outcome.refusal is None:
            messages.success(request, done)
            return redirect("desk:ticket", number=ticket.pk)
        if isinstance(outcome.refusal, StaleReply):
            held = outcome.refusal.events
        else:
            with into_form(form):
                raise outcome.refusal
    ticket.refresh_from_db()
    status = 409 if held else 400
    return _render_ticket(request, ticket, bound={"reply_form": form}, status=status, held=held)


@desk_view
@require_POST
def ticket_note(request: AgentRequest, number: str) -> HttpResponse:
    """An internal note on its own (the composer's note mode posts to ``ticket_reply``)."""

    def act(ticket: Ticket, actor: Actor, data: dict[str, Any]) -> str:
        services.ticket_internal_note(
            ticket=ticket,
            actor=actor,
            body=data["body"],
            attachments=data["attachments"],
            now=timezone.now(),
        )
        return _("Internal note added.")

    form = desk_forms.NoteForm(request.POST, request.FILES, prefix="note")
    return _ticket_action(request, number, form_name="note_form", form=form, act=act)


@desk_view
@require_GET
def ticket_attachment(request: AgentRequest, number: str, attachment: int) -> HttpResponseBase:
    """Any file of the request, notes' included. With ``?inline=1`` an image, PDF or text
    opens in the browser, but sandboxed: the response may run no script, load nothing and
    is never sniffed into another type, so a hostile upload cannot act on the desk."""
    found = attachment_for_desk(request.user, number, attachment)
    inline = request.GET.get("inline") == "1" and uploads.opens_in_browser(found.content_type)
    response = FileResponse(
        found.file.open("rb"),
        as_attachment=not inline,
        filename=found.original_name,
        content_type=found.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, no-store"
    return response


@desk_view
@require_POST
def ticket_escalate(request: AgentRequest, number: str) -> HttpResponse:
    def act(ticket: Ticket, actor: Actor, data: dict[str, Any]) -> str:
        ticket = services.ticket_escalate(
            ticket=ticket, actor=actor, reason=data["reason"], now=timezone.now()
        )
        return _("Escalated to level %(level)d.") % {"level": ticket.escalation_level}

    form = desk_forms.EscalateForm(request.POST, prefix="escalate")
    return _ticket_action(request, number, form_name="escalate_form", form=form, act=act)


@desk_view
@require_POST
def ticket_resolve(request: AgentRequest, number: str) -> HttpResponse:
    def act(ticket: Ticket, actor: Actor, data: dict[str, Any]) -> str:
        services.ticket_resolve(
            ticket=ticket, actor=actor, reason=data["reason"], now=timezone.now()
        )
        return _("Resolved. The customer is asked to rate the support.")

    form = desk_forms.ResolveForm(request.POST, prefix="resolve")
    return _ticket_action(request, number, form_name="resolve_form", form=form, act=act)


@desk_view
@require_POST
def ticket_reopen(request: AgentRequest, number: str) -> HttpResponse:
    def act(ticket: Ticket, actor: Actor, data: dict[str, Any]) -> str:
        services.ticket_reopen(
            ticket=ticket, actor=actor, reason=data["reason"], now=timezone.now()
        )
        return _("Reopened; the response clock runs again.")

    form = desk_forms.ReopenForm(request.POST, prefix="reopen")
    return _ticket_action(request, number, form_name="reopen_form", form=form, act=act)


@desk_view
@require_POST
def ticket_assign(request: AgentRequest, number: str) -> HttpResponse:
    """Claim, release or (supervisors) hand over; from the queue it returns to the queue."""
    ticket = ticket_for_desk(request.user, number)
    agents = list(User.objects.agents())
    form = desk_forms.AssignForm(request.POST, agents=agents)
    fallback = reverse("desk:ticket", kwargs={"number": ticket.pk})
    if not form.is_valid():
        messages.error(request, _("Choose an agent from the list."))
        return _back(request, fallback)
    assignee = form.chosen_agent()
    with into_messages(request):
        services.ticket_assign(
            ticket=ticket,
            actor=Actor.for_user(request.user),
            assignee=assignee,
            now=timezone.now(),
        )
        if assignee is None:
            messages.success(request, _("%(ref)s is unassigned.") % {"ref": ticket.reference})
        else:
            messages.success(
                request,
                _("%(ref)s is assigned to %(name)s.")
                % {"ref": ticket.reference, "name": assignee.get_full_name()},
            )
    return _back(request, fallback)


# --- Reports (supervisors) -----------------------------------------------------------------


def _period(request: AgentRequest) -> tuple[desk_forms.ReportPeriodForm, selectors.Period | None]:
    """The period asked for, or the last 30 days; None with the form's errors if bad."""
    defaults = desk_forms.ReportPeriodForm.defaults(timezone.localdate())
    asked = any(name in request.GET for name in ("start", "end", "granularity"))
    data = request.GET if asked else {name: str(value) for name, value in defaults.items()}
    form = desk_forms.ReportPeriodForm(data)
    if not form.is_valid():
        return form, None
    zone = timezone.get_current_timezone()
    return form, selectors.Period(form.cleaned_data["start"], form.cleaned_data["end"], zone)


@supervisor_view
@require_GET
def reports(request: AgentRequest) -> HttpResponse:
    """First-response compliance (by original and current severity, category,
    organization, agent), resolution time, backlog age, breaches and downgrades,
    satisfaction and self-help (supervisors only)."""
    form, period = _period(request)
    context: dict[str, Any] = {"form": form, "period": period}
    if period is None:
        return render(request, "desk/reports.html", context, status=400)
    now = timezone.now()
    compliance = selectors.sla_compliance(period, now=now)
    resolution = selectors.resolution_times(period)
    granularity = form.cleaned_data["granularity"]
    points = selectors.breaches_and_downgrades(period, granularity=granularity)
    context.update(
        {
            "query": request.GET.urlencode(),
            "compliance": compliance,
            "severity_pairs": list(
                zip(compliance.by_original_severity, compliance.by_severity, strict=True)
            ),
            "charts": [
                (
                    key,
                    title,
                    report_charts.compliance_chart(rows, group=key, period=period),
                )
                for key, title, rows in (
                    (
                        "original_severity",
                        _("By severity when filed"),
                        compliance.by_original_severity,
                    ),
                    ("severity", _("By severity now"), compliance.by_severity),
                    ("category", _("By category"), compliance.by_category),
                    (
                        "organization",
                        _("By organization (lowest first)"),
                        compliance.by_organization,
                    ),
                )
            ],
            "resolution": resolution,
            "backlog": selectors.backlog(now=now),
            "agents": selectors.agent_rows(
                compliance, resolution, selectors.first_responses_by_agent(period)
            ),
            "organizations": selectors.organization_rows(compliance, resolution),
            "trend": report_charts.trend_chart(points, granularity=granularity, period=period),
            "satisfaction": selectors.satisfaction(period),
            # Self-help that spared a request (POL-SELF-2), from the help centre.
            "deflection": deflection_stats(start=period.start_at, end=period.end_at),
        }
    )
    return render(request, "desk/reports.html", context)


COMPLIANCE_REPORTS = ("severity", "original_severity", "category", "organization")
REPORTS = (
    *COMPLIANCE_REPORTS,
    "agents",
    "resolution",
    "backlog",
    "trend",
    "satisfaction",
    "deflection",
)
COMPLIANCE_COLUMNS = [
    "filed",
    "met",
    "missed",
    "missed_answered_late",
    "missed_unanswered_overdue",
    "pending",
    "no_response_needed",
    "not_measured",
    "percent_met",
]


def _percent(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else ""


def _compliance_cells(row: selectors.ComplianceRow) -> list[object]:
    return [
        row.filed,
        row.met,
        row.missed,
        row.late,
        row.overdue,
        row.pending,
        row.not_needed,
        row.unmeasured,
        _percent(row.percent),
    ]


def _duration_cells(stats: selectors.DurationStats | None) -> list[object]:
    if stats is None:
        return [0, "", ""]
    return [stats.count, _percent(stats.median), _percent(stats.p90)]


class _RowWriter(Protocol):
    def writerow(self, row: Iterable[Any], /) -> Any: ...


def _write_report(
    writer: _RowWriter, report: str, period: selectors.Period, form: desk_forms.ReportPeriodForm
) -> None:
    """The rows of one CSV report; each reads only what its table needs."""
    now = timezone.now()
    if report in COMPLIANCE_REPORTS:
        compliance = selectors.sla_compliance(period, now=now)
        rows = {
            "severity": compliance.by_severity,
            "original_severity": compliance.by_original_severity,
            "category": compliance.by_category,
            "organization": compliance.by_organization,
        }[report]
        writer.writerow([report, *COMPLIANCE_COLUMNS])
        for row in rows:
            writer.writerow([_csv_safe(row.label), *_compliance_cells(row)])
    elif report == "agents":
        compliance = selectors.sla_compliance(period, now=now)
        resolution = selectors.resolution_times(period)
        agents = selectors.agent_rows(
            compliance, resolution, selectors.first_responses_by_agent(period)
        )
        writer.writerow(
            [
                "agent",
                *(f"assigned_{name}" for name in COMPLIANCE_COLUMNS),
                "first_responses_written",
                "first_responses_written_met",
                "resolved",
                "median_resolution_hours",
                "p90_resolution_hours",
            ]
        )
        for agent in agents:
            writer.writerow(
                [
                    _csv_safe(agent.label),
                    *_compliance_cells(agent.compliance),
                    agent.first_responses,
                    agent.first_responses_met,
                    *_duration_cells(agent.resolution),
                ]
            )
    elif report == "resolution":
        resolution = selectors.resolution_times(period)
        writer.writerow(["group", "name", "resolved", "median_hours", "p90_hours"])
        groups: list[tuple[str, list[selectors.DurationStats]]] = [
            ("all", [resolution.overall]),
            ("original_severity", resolution.by_original_severity),
            ("organization", resolution.by_organization),
            ("agent", resolution.by_agent),
        ]
        for group, durations in groups:
            for duration in durations:
                writer.writerow([group, _csv_safe(duration.label), *_duration_cells(duration)])
    elif report == "backlog":
        # The backlog is now, whatever the period.
        backlog = selectors.backlog(now=now)
        writer.writerow(["severity", *(key for key, _label in backlog.buckets), "total"])
        for age in (*backlog.by_severity, backlog.overall):
            writer.writerow([age.key, *age.counts, age.total])
    elif report == "trend":
        granularity = form.cleaned_data["granularity"]
        writer.writerow([granularity, "breaches", "downgrades"])
        for point in selectors.breaches_and_downgrades(period, granularity=granularity):
            writer.writerow([point.start.isoformat(), point.breaches, point.downgrades])
    elif report == "deflection":
        stats = deflection_stats(start=period.start_at, end=period.end_at)
        writer.writerow(["figure", "value"])
        for name in (
            "searches",
            "searches_without_results",
            "articles_shown",
            "article_opens",
            "searches_followed_by_request",
            "requests_after_self_help",
            "deflection_rate",
        ):
            writer.writerow([name, getattr(stats, name)])
    else:
        result = selectors.satisfaction(period)
        writer.writerow(["score", "ratings"])
        for score, count in result.distribution:
            writer.writerow([score, count])


@supervisor_view
@require_GET
def reports_csv(request: AgentRequest, report: str) -> HttpResponse:
    """One report as CSV, for the same period form as the page."""
    if report not in REPORTS:
        raise Http404
    form, period = _period(request)
    if period is None:
        return HttpResponse(
            "\n".join(f"{k}: {' '.join(map(str, v))}" for k, v in form.errors.items()),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{report}-{period.start.isoformat()}-{period.end.isoformat()}.csv"'
    )
    _write_report(csv.writer(response), report, period, form)
    return response


def _csv_safe(value: str) -> str:
    """Spreadsheets run cells that start with these as formulas (CSV injection)."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value

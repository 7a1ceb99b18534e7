"""The desk's "Phone call" pages (``/desk/calls/…``): take a call, verify the caller by a
registered number or a code (POL-PIN-1..3), then see the organization's account and file
a request on its behalf while the call lasts.

Thin views: find the agent's call → parse the form → call one service → render. Every
rule is in ``verification.services`` (and ``tickets.services``); a refusal arrives as a
``core.refusals.Refused`` whose message ``into_form`` shows on the form.
"""

from __future__ import annotations

import math
from datetime import datetime

from django.contrib import messages
from django.db.models import BooleanField, Case, Q, Value, When
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from core.refusals import captured, into_form, into_messages
from tenants import masking
from tenants.access import AgentRequest, desk_view
from tenants.mail import contact_language
from tenants.models import Membership, Role, User
from tickets.actors import Actor
from tickets.models import Channel, Language, Ticket
from tickets.services import TicketDraft, ticket_create
from verification.access import call_for_agent
from verification.forms import CallStartForm, CheckCodeForm, PhoneIntakeForm, SendCodeForm
from verification.models import Call, PinChallenge, VerifiedBy
from verification.selectors import channel_choices, code_limit, pin_locked
from verification.services import (
    ERR_LOCKED,
    VerificationError,
    call_end,
    call_start,
    code_check,
    code_send,
    current_policy,
    rate_limit_message,
    require_active_call,
)

RECENT_CALLS = 10


def _posted(request: AgentRequest) -> QueryDict | None:
    """The POST data of a POST, even an empty one (``request.POST or None`` would treat
    an empty POST as a GET)."""
    return request.POST if request.method == "POST" else None


def _is_open(call: Call, now: datetime) -> bool:
    return call.ended_at is None and call.expires_at > now


# --- Taking a call -------------------------------------------------------------------------


@desk_view
@require_http_methods(["GET", "POST"])
def start(request: AgentRequest) -> HttpResponse:
    """Pick the organization, type the caller's number: a registered number opens the
    account at once (POL-PIN-3), any other goes to the code step (POL-PIN-1)."""
    query = request.GET.get("q", "")[:100]
    form = CallStartForm(_posted(request), query=query)
    # Set when a verified call is still open: the agent confirms before it is ended.
    confirm_end = ""
    if request.method == "POST" and form.is_valid():
        with captured() as outcome:
            call = call_start(
                agent=request.user,
                organization=form.cleaned_data["organization"],
                caller_number=form.cleaned_data["caller_number"],
                now=timezone.now(),
                end_verified=request.POST.get("end_verified") == "1",
            )
            if call.is_verified:
                return redirect("calls:account", call=call.pk)
            return redirect("calls:verify", call=call.pk)
        refusal = outcome.refusal
        if refusal is not None and refusal.code == "verified_call_open":
            confirm_end = refusal.message
        elif refusal is not None:
            with into_form(form):
                raise refusal
    now = timezone.now()
    recent = (
        Call.objects.filter(agent=request.user)
        .select_related("organization")
        .annotate(
            is_open=Case(
                When(Q(ended_at__isnull=True, expires_at__gt=now), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
        .order_by("-is_open", "-started_at", "-pk")[:RECENT_CALLS]
    )
    return render(
        request,
        "desk/calls/start.html",
        {
            "form": form,
            "query": query,
            "recent_calls": recent,
            "now": now,
            "confirm_end": confirm_end,
        },
    )


# --- Verifying the caller ------------------------------------------------------------------


def _verify_page(
    request: AgentRequest,
    call: Call,
    *,
    send_form: SendCodeForm | None = None,
    check_form: CheckCodeForm | None = None,
) -> HttpResponse:
    now = timezone.now()
    channels = channel_choices(organization=call.organization, now=now)
    # The newest code as code_check finds it (sends are serialised, so by id).
    latest = PinChallenge.objects.filter(call=call).order_by("-pk").first()
    send_form = send_form or SendCodeForm(channels=channels)
    policy = current_policy()
    limit = code_limit(organization_id=call.organization_id, now=now, policy=policy)
    return render(
        request,
        "desk/calls/verify.html",
        {
            "call": call,
            "organization": call.organization,
            "now": now,
            "is_open": _is_open(call, now),
            "locked": pin_locked(call.organization),
            "locked_message": ERR_LOCKED,
            "channels": channels,
            "send_form": send_form,
            "channel_rows": send_form.rows(),
            "check_form": check_form or CheckCodeForm(),
            "latest_code": latest,
            "code_length": policy.code_length,
            # At a code limit the send button is disabled and says until when.
            "limit_message": rate_limit_message(limit) if limit is not None else "",
        },
    )


@desk_view
@require_http_methods(["GET", "POST"])
def verify(request: AgentRequest, call: int) -> HttpResponse:
    """Send a code to a registered contact (``action=send``) and check the code the
    caller reads back (``action=check``)."""
    the_call = call_for_agent(request.user, call)
    if request.method == "GET":
        return _verify_page(request, the_call)
    agent: User = request.user
    if request.POST.get("action") == "check":
        check_form = CheckCodeForm(request.POST)
        if check_form.is_valid():
            with into_form(check_form, field="code"):
                code_check(
                    call=the_call,
                    agent=agent,
                    entry=check_form.cleaned_data["code"],
                    now=timezone.now(),
                )
                messages.success(
                    request,
                    _("Caller verified. You have access to %(org)s for this call.")
                    % {"org": the_call.organization.name},
                )
                return redirect("calls:account", call=the_call.pk)
        return _verify_page(request, the_call, check_form=check_form)

    channels = channel_choices(organization=the_call.organization, now=timezone.now())
    send_form = SendCodeForm(request.POST, channels=channels)
    if send_form.is_valid():
        kind, pk = send_form.cleaned_channel()
        with into_form(send_form):
            challenge = code_send(
                call=the_call, agent=agent, channel_id=pk, channel_kind=kind, now=timezone.now()
            )
            messages.success(
                request,
                _("Code sent by %(kind)s to %(to)s. Ask the caller to read it out.")
                % {"kind": challenge.get_channel_kind_display(), "to": challenge.channel_label},
            )
            return redirect("calls:verify", call=the_call.pk)
    return _verify_page(request, the_call, send_form=send_form)


@desk_view
@require_http_methods(["GET", "POST"])
def end(request: AgentRequest, call: int) -> HttpResponse:
    """End the call (POST): its access stops and its unused codes die. GET asks first."""
    the_call = call_for_agent(request.user, call)
    if request.method == "GET":
        return render(
            request,
            "desk/calls/end.html",
            {"call": the_call, "organization": the_call.organization},
        )
    was_open = the_call.ended_at is None
    with into_messages(request):
        call_end(call=the_call, agent=request.user, now=timezone.now())
        if was_open:
            messages.success(
                request,
                _("Call with %(org)s ended. Access to its account is closed.")
                % {"org": the_call.organization.name},
            )
    return redirect("calls:start")


# --- During a verified call ----------------------------------------------------------------


def _verify_first(request: AgentRequest, call: Call, *, now: datetime) -> HttpResponse | None:
    """None while the agent's call is verified and open; else the clear page shown
    instead of the account: verify first (POL-PIN-2)."""
    try:
        require_active_call(
            agent=request.user,
            organization=call.organization,
            now=now,
            call_id=call.pk,
        )
    except VerificationError as refusal:
        return render(
            request,
            "desk/calls/verify_first.html",
            {"call": call, "organization": call.organization, "message": refusal.message},
            status=403,
        )
    return None


def _minutes_left(call: Call, now: datetime) -> int:
    return max(0, math.ceil((call.expires_at - now).total_seconds() / 60))


@desk_view
@require_GET
def account(request: AgentRequest, call: int) -> HttpResponse:
    """The organization's account, for the agent of a verified call only."""
    the_call = call_for_agent(request.user, call)
    now = timezone.now()
    organization = the_call.organization
    if (refusal := _verify_first(request, the_call, now=now)) is not None:
        return refusal
    admins = [
        {
            "name": m.user.full_name,
            "email": masking.mask_email(m.user.email),
            "role": m.get_role_display(),
        }
        for m in Membership.objects.filter(
            organization=organization, role__in=Role.admin_roles(), user__is_active=True
        )
        .select_related("user")
        .order_by("role", "user__full_name", "user__email")
    ]
    open_tickets = list(
        Ticket.objects.for_org(organization).active().order_by("severity", "-created_at")
    )
    return render(
        request,
        "desk/calls/account.html",
        {
            "call": the_call,
            "organization": organization,
            "now": now,
            "verified_by_number": the_call.verified_by == VerifiedBy.REGISTERED_NUMBER,
            "contacts": channel_choices(organization=organization, now=now),
            "admins": admins,
            "open_tickets": open_tickets,
            "minutes_left": _minutes_left(the_call, now),
            "minutes_total": int(current_policy().call_max.total_seconds() // 60),
        },
    )


def _intake_initial(call: Call) -> dict[str, object]:
    # The organization's language (its first global admin's), not the agent's.
    language = contact_language(call.organization)
    return {
        "contact_phone": call.caller_number,
        "language": language if language in Language.values else Language.EN,
    }


@desk_view
@require_http_methods(["GET", "POST"])
def intake(request: AgentRequest, call: int) -> HttpResponse:
    """File a request on the organization's behalf during a verified call (POL-REQ-1)."""
    the_call = call_for_agent(request.user, call)
    organization = the_call.organization
    now = timezone.now()
    if (refusal := _verify_first(request, the_call, now=now)) is not None:
        return refusal
    form = PhoneIntakeForm(
        _posted(request),
        initial=_intake_initial(the_call),
        region=organization.country.code or None,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with into_form(form):
            ticket = ticket_create(
                organization=organization,
                actor=Actor.for_user(request.user),
                draft=TicketDraft(
                    title=data["title"],
                    description=data["description"],
                    category=data["category"],
                    impact=data["impact"],
                    scope=data["scope"],
                    product=data["product"],
                    business_impact=data["business_impact"],
                    contact_24x7=data["contact_24x7"],
                    contact_phone=data["contact_phone"] or None,
                    contact_email=data["contact_email"],
                    preferred_contact=data["preferred_contact"],
                    language=data["language"],
                    channel=Channel.PHONE,
                    caller_phone=the_call.caller_number,
                ),
                now=now,
            )
            messages.success(
                request,
                _("Request %(reference)s filed for %(org)s with severity %(severity)s.")
                % {
                    "reference": ticket.reference,
                    "org": organization.name,
                    "severity": ticket.get_severity_display(),
                },
            )
            return redirect("calls:account", call=the_call.pk)
    return render(
        request,
        "desk/calls/intake.html",
        {
            "call": the_call,
            "organization": organization,
            "form": form,
            "minutes_left": _minutes_left(the_call, now),
        },
    )

"""The desk's notices (``/desk/notices/…``: the bell, the list, read marks, e-mail
preferences, follow) and the portal's "kept informed" page of a request
(``/portal/<org>/requests/<number>/cc/``). Thin: access → form → service → render."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import moments
from core.refusals import into_form, into_messages
from notices import services
from notices.forms import CcForm, PreferenceForm
from notices.models import NoticePreference, StaffNotice, TicketCc
from tenants.access import AgentRequest, TenantRequest, desk_view, tenant_view
from tenants.zone_views import time_zone_form
from tenants.zones import desk_zone
from tickets.access import ticket_for_desk, ticket_for_organization

LIST_SIZE = 50


@desk_view
@require_GET
def notice_list(request: AgentRequest) -> HttpResponse:
    notices = (
        StaffNotice.objects.for_user(request.user)
        .newest_first()
        .select_related("ticket__organization", "event")[:LIST_SIZE]
    )
    return render(request, "notices/list.html", {"notices": notices})


@desk_view
@require_GET
def bell(request: AgentRequest) -> HttpResponse:
    """The bell alone, polled by itself every 10 s like the queue."""
    unread = StaffNotice.objects.for_user(request.user).unread().count()
    return render(request, "notices/_bell.html", {"unread": unread})


@desk_view
@require_POST
def read(request: AgentRequest) -> HttpResponse:
    """Open a notice: mark it read and go to its ticket."""
    notice = (
        StaffNotice.objects.for_user(request.user)
        .filter(pk=_int(request.POST.get("notice")))
        .first()
    )
    if notice is None:
        raise Http404
    services.mark_read(notice=notice, now=timezone.now())
    return redirect("desk:ticket", number=notice.ticket_id)


@desk_view
@require_POST
def read_all(request: AgentRequest) -> HttpResponse:
    services.mark_all_read(user=request.user, now=timezone.now())
    return redirect("notices:list")


@desk_view
@require_http_methods(["GET", "POST"])
def preferences(request: AgentRequest) -> HttpResponse:
    """The agent's own settings: e-mail preferences, and the time zone the desk shows
    times in (the second form's button is named ``time_zone``)."""
    posted = request.POST if request.method == "POST" else None
    desk_default = _("The desk's default (%(zone)s)") % {"zone": moments.zone_words(desk_zone())}
    zone_form, saved = time_zone_form(request, user=request.user, blank_label=desk_default)
    if saved:
        return redirect("notices:preferences")
    zone_posted = zone_form.is_bound
    preference = NoticePreference.objects.filter(user=request.user).first()
    form = PreferenceForm(
        None if zone_posted else posted,
        instance=preference or NoticePreference(user=request.user),
    )
    if posted is not None and not zone_posted and form.is_valid():
        services.set_preferences(
            user=request.user,
            email={name.removeprefix("email_"): value for name, value in form.cleaned_data.items()},
        )
        messages.success(request, _("Your notice preferences are saved."))
        return redirect("notices:preferences")
    status = 400 if posted is not None else 200
    return render(
        request,
        "notices/preferences.html",
        {"form": form, "zone_form": zone_form},
        status=status,
    )


@desk_view
@require_POST
def follow(request: AgentRequest, number: str) -> HttpResponse:
    ticket = ticket_for_desk(request.user, number)
    with into_messages(request):
        if request.POST.get("action") == "unfollow":
            services.unfollow(ticket=ticket, agent=request.user, now=timezone.now())
            messages.success(request, _("You no longer follow this request."))
        else:
            services.follow(ticket=ticket, agent=request.user, now=timezone.now())
            messages.success(request, _("You follow this request: you are told like its assignee."))
    return redirect("desk:ticket", number=ticket.pk)


@tenant_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def cc(request: TenantRequest, number: str) -> HttpResponse:
    """Who of the organization is kept informed of the request's public updates; an
    admin adds and removes them (POL-WHO-1)."""
    ticket = ticket_for_organization(request.organization, number)
    form = CcForm(
        request.POST if request.method == "POST" else None,
        organization_id=request.organization.pk,
    )
    if request.method == "POST":
        now = timezone.now()
        if request.POST.get("action") == "remove":
            # Only someone kept informed of this request: no lookup across tenants.
            listed = (
                TicketCc.objects.filter(ticket=ticket, user_id=_int(request.POST.get("user")))
                .select_related("user")
                .first()
            )
            user = listed.user if listed is not None else None
            with into_messages(request):
                if user is None:
                    raise Http404
                services.cc_remove(ticket=ticket, user=user, actor=request.membership, now=now)
                messages.success(request, _("They are no longer kept informed."))
            return redirect("cc:manage", org=request.organization.slug, number=ticket.pk)
        if form.is_valid():
            with into_form(form):
                services.cc_add(
                    ticket=ticket,
                    user=form.cleaned_data["user"],
                    actor=request.membership,
                    now=now,
                )
                messages.success(request, _("They will be kept informed of public updates."))
                return redirect("cc:manage", org=request.organization.slug, number=ticket.pk)
    kept = TicketCc.objects.filter(ticket=ticket).select_related("user").order_by("created_at")
    return render(
        request,
        "notices/cc.html",
        {"ticket": ticket, "organization": request.organization, "form": form, "kept": kept},
        status=400 if form.errors else 200,
    )


def _int(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise Http404 from None

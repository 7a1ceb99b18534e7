"""The notices' pieces on pages the tickets app draws: the bell in the desk's navigation,
Follow on the desk ticket, "kept informed" on the portal request. Template tags, so the
tickets app never imports notices."""

from __future__ import annotations

from typing import Any

from django import template

from notices.models import StaffNotice, TicketCc, TicketFollower

register = template.Library()


@register.inclusion_tag("notices/_bell.html", takes_context=True)
def notice_bell(context: dict[str, Any]) -> dict[str, Any]:
    user = context["user"]
    return {"unread": StaffNotice.objects.for_user(user).unread().count()}


@register.inclusion_tag("notices/_follow.html", takes_context=True)
def follow_button(context: dict[str, Any], ticket: Any) -> dict[str, Any]:
    user = context["user"]
    following = TicketFollower.objects.filter(ticket=ticket, user=user).exists()
    return {"ticket": ticket, "following": following, "csrf_token": context.get("csrf_token")}


@register.inclusion_tag("notices/_cc_summary.html", takes_context=True)
def cc_summary(context: dict[str, Any], ticket: Any) -> dict[str, Any]:
    kept = TicketCc.objects.filter(ticket=ticket).select_related("user").order_by("created_at")
    return {"ticket": ticket, "kept": list(kept), "organization": ticket.organization}

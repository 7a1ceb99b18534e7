"""Template tags shared by every desk page."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.forms import BoundField
from django.utils import timezone
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as _noop

from tenants.models import User
from tickets.health import SweepStatus, sweep_status
from tickets.models import Ticket

register = template.Library()


@register.inclusion_tag("desk/_sweep_banner.html")
def sweep_banner() -> dict[str, SweepStatus]:
    """The workers' health, so an agent knows when escalations and downgrades are late
    (every desk page shows it; one query)."""
    return {"sweep": sweep_status(now=timezone.now())}


def _span(seconds: int) -> str:
    """``2 d 3 h``, ``3 h 12 min`` or ``14 min 05 s``: the same shapes static/js/desk.js
    draws while it ticks."""
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return _("{d} d {h} h").replace("{d}", str(days)).replace("{h}", str(hours))
    if hours:
        return _("{h} h {m} min").replace("{h}", str(hours)).replace("{m}", str(minutes))
    return _("{m} min {s} s").replace("{m}", str(minutes)).replace("{s}", f"{secs:02d}")


COUNTDOWN_TEXTS = {
    "response": (_noop("breach in {time}"), _noop("breached {time} ago")),
    "customer": (_noop("customer reply due in {time}"), _noop("customer overdue by {time}")),
}


@register.filter
def countdown(due: datetime | None, kind: str = "response") -> str:
    """The time left on a clock as the desk shows it: "breach in 14 min 05 s",
    "breached 3 min 12 s ago"; the page's script keeps it ticking."""
    if due is None:
        return "—"
    future, past = COUNTDOWN_TEXTS.get(kind, COUNTDOWN_TEXTS["response"])
    return _countdown_text(due, timezone.now(), (_(future), _(past)))


@register.filter
def plain_select(field: BoundField) -> SafeString:
    """A form field's <select>, drawn here rather than by the widget templates: the queue
    filters list every organization and agent, and the widget renderer costs a template
    render per option on a page that is drawn every few seconds."""
    value = field.value()
    chosen = {str(v) for v in value} if isinstance(value, list | tuple) else {str(value)}
    options = format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (key, mark_safe(" selected") if str(key) in chosen else "", label)
            for key, label in field.field.choices  # type: ignore[attr-defined]
        ),
    )
    return format_html(
        '<select name="{}" id="{}"{}>{}</select>',
        field.html_name,
        field.id_for_label,
        mark_safe(' aria-invalid="true"') if field.errors else "",
        options,
    )


_ROW = (
    '<tr class="queue-row{escalated}" data-ticket="{pk}">'
    '<td><input type="checkbox" class="queue-pick" id="pick-{pk}" name="tickets" value="{pk}"'
    ' form="bulk-form" aria-label="{select} {ref}"></td>'
    '<td class="ref"><a class="queue-open" href="{url}">{ref}</a></td>'
    '<td><span class="badge sev-{severity}" title="{severity_label}">{severity}</span></td>'
    "<td>{organization}</td>"
    '<td class="title-cell">{title}<br><span class="muted small">{category}{product}</span></td>'
    '<td><span class="badge status-{status}">{status_label}</span></td>'
    "<td>{assignee}</td>"
    '<td class="num">{level}</td>'
    '<td class="nowrap">{clock}</td>'
    "<td>{claim}</td>"
    "</tr>"
)


@register.simple_tag
def queue_rows(rows: list[Ticket], user: User, now: datetime) -> SafeString:
    """The queue's table rows. Drawn in Python rather than by template nodes: the page and
    its live fragment are the desk's hot path (issue 7 targets 50 ms at a million tickets)
    and a 50-row table costs ~10,000 template node renders. Every value is escaped."""
    from django.conf import settings
    from django.urls import reverse

    from severity.choices import Category, Severity
    from tickets.models import Status

    prefix = settings.SUPPORTDESK.TICKET_PREFIX
    ticket_url = reverse("desk:ticket", kwargs={"number": "NUMBER"})
    assign_url = reverse("desk:ticket_assign", kwargs={"number": "NUMBER"})
    severities = {k: str(v) for k, v in Severity.choices}
    categories = {k: str(v) for k, v in Category.choices}
    statuses = {k: str(v) for k, v in Status.choices}
    labels = {
        "select": escape(_("Select")),
        "you": format_html("<strong>{}</strong>", _("You")),
        "unassigned": format_html('<span class="muted">{}</span>', _("Unassigned")),
        "paused": format_html('<span class="badge badge-paused">{}</span>', _("Paused")),
        "breached": format_html('<span class="badge badge-breached">{}</span> ', _("Breached")),
        "claim": escape(_("Claim")),
        "escalation": escape(_("Escalation level")),
        "no_clock": format_html('<span class="muted small">{}</span>', _("No running clock")),
    }
    texts = {kind: (_(future), _(past)) for kind, (future, past) in COUNTDOWN_TEXTS.items()}
    out: list[str] = []
    for t in rows:
        ref = escape(f"{prefix}-{t.pk:06d}")
        number = str(t.pk)
        if t.assignee_id is None:
            assignee = labels["unassigned"]
        elif t.assignee_id == user.pk:
            assignee = labels["you"]
        else:
            assignee = escape(t.assignee.get_short_name())  # type: ignore[union-attr]
        if t.status == Status.AWAITING_CUSTOMER:
            clock = labels["paused"]
            if t.customer_due_at is not None:
                clock += format_html(
                    ' <time class="countdown small" datetime="{}" data-countdown="customer">'
                    "{}</time>",
                    t.customer_due_at.isoformat(),
                    _countdown_text(t.customer_due_at, now, texts["customer"]),
                )
        elif t.response_due_at is not None:
            clock = labels["breached"] if t.response_due_at <= now else ""
            clock += format_html(
                '<time class="countdown" datetime="{}" data-countdown="response">{}</time>',
                t.response_due_at.isoformat(),
                _countdown_text(t.response_due_at, now, texts["response"]),
            )
        else:
            clock = labels["no_clock"]
        level = (
            format_html(
                '<span class="badge badge-escalation" title="{}">{}</span>',
                labels["escalation"],
                t.escalation_level,
            )
            if t.escalation_level
            else '<span class="muted">0</span>'
        )
        claim = (
            format_html(
                '<button type="submit" class="btn btn-ghost btn-small queue-claim"'
                ' form="claim-form" formaction="{}">{}<span class="visually-hidden"> {}</span>'
                "</button>",
                assign_url.replace("NUMBER", number),
                labels["claim"],
                ref,
            )
            if t.assignee_id != user.pk
            else ""
        )
        out.append(
            _ROW.format(
                escalated=" row-escalated" if t.escalation_level else "",
                pk=number,
                select=labels["select"],
                ref=ref,
                url=escape(ticket_url.replace("NUMBER", number)),
                severity=escape(t.severity),
                severity_label=escape(severities.get(t.severity, t.severity)),
                organization=escape(t.organization.name),
                title=escape(t.title),
                product=format_html(" · {}", t.product.name) if t.product is not None else "",
                category=escape(categories.get(t.category, t.category)),
                status=escape(t.status),
                status_label=escape(statuses.get(t.status, t.status)),
                assignee=assignee,
                level=level,
                clock=clock,
                claim=claim,
            )
        )
    return mark_safe("".join(out))  # noqa: S308 - built from escaped parts above


def _countdown_text(due: datetime, now: datetime, texts: tuple[str, str]) -> str:
    left = int((due - now).total_seconds())
    return (texts[0] if left > 0 else texts[1]).replace("{time}", _span(abs(left)))

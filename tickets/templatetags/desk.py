"""Template tags shared by every desk page."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from datetime import datetime
from typing import TypedDict

from django import forms, template
from django.forms import BoundField
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as _noop
from django.utils.translation import pgettext

from core.forms import form_field
from severity.choices import Category, Severity
from tenants.models import User
from tickets import attachments as uploads
from tickets.health import SweepStatus, banner_sweep_status
from tickets.models import Status
from tickets.selectors import (
    CLOCK_AT_RISK,
    CLOCK_BREACHED,
    CLOCK_OK,
    QueueTicket,
    response_clock_state,
    response_warning_moment,
)

register = template.Library()


_SPECIAL = re.compile(r"[&<>\"']")


def _e(value: object) -> str:
    """Escape a value for HTML text or a quoted attribute, as Django's ``escape`` does
    (& < > " ' become entities), without its lazy-text wrapper: the queue and its filters
    draw thousands of values per poll. A value already marked safe is kept as it is."""
    if isinstance(value, SafeString):
        return value
    text = str(value)
    # Most values (numbers, references, labels) hold nothing to escape.
    return html.escape(text, quote=True) if _SPECIAL.search(text) else text


@register.filter
def opens_in_browser(content_type: str) -> bool:
    """An image, PDF or text the desk shows (sandboxed) instead of downloading."""
    return uploads.opens_in_browser(content_type)


@register.filter
def is_image(content_type: str) -> bool:
    return uploads.is_image(content_type)


@register.inclusion_tag("desk/_sweep_banner.html")
def sweep_banner() -> dict[str, SweepStatus]:
    """The workers' health, so an agent knows when escalations and downgrades are late
    (every desk page shows it; one query, at most every few seconds)."""
    return {"sweep": banner_sweep_status(now=timezone.now())}


def _span_shapes() -> tuple[str, str, str]:
    """The three shapes of a span in the reader's language, looked up once per page."""
    return _("{d} d {h} h"), _("{h} h {m} min"), _("{m} min {s} s")


def _span(seconds: int, shapes: tuple[str, str, str] | None = None) -> str:
    """``2 d 3 h``, ``3 h 12 min`` or ``14 min 05 s``: the same shapes static/js/desk.js
    draws while it ticks."""
    day_shape, hour_shape, minute_shape = shapes or _span_shapes()
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return day_shape.replace("{d}", str(days)).replace("{h}", str(hours))
    if hours:
        return hour_shape.replace("{h}", str(hours)).replace("{m}", str(minutes))
    return minute_shape.replace("{m}", str(minutes)).replace("{s}", f"{secs:02d}")


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


def _choices(field: BoundField) -> Iterable[tuple[object, object]]:
    """The choices of a select field as Django keeps them once set: (value, label) pairs.
    (Its stubs type the attribute as everything it accepts when set.)"""
    choices = form_field(field.form, field.name, forms.ChoiceField).choices
    if not isinstance(choices, Iterable):
        raise TypeError(f"{field.name}: choices of {type(choices).__name__}")
    return choices


@register.filter
def plain_select(field: BoundField) -> SafeString:
    """A form field's <select>, drawn here rather than by the widget templates: the queue
    filters list every organization and agent, and the widget renderer costs a template
    render per option on a page that is drawn every few seconds."""
    value = field.value()
    chosen = {str(v) for v in value} if isinstance(value, list | tuple) else {str(value)}
    options = "".join(
        f'<option value="{_e(key)}"{" selected" if str(key) in chosen else ""}>{_e(label)}</option>'
        for key, label in _choices(field)
    )
    invalid = ' aria-invalid="true"' if field.errors else ""
    # Every value above and here is escaped by _e.
    return mark_safe(  # noqa: S308
        f'<select name="{_e(field.html_name)}" id="{_e(field.id_for_label)}"{invalid}>'
        f"{options}</select>"
    )


class QueueRow(TypedDict):
    """What one queue row shows, as plain values: _row_html escapes each one.
    A dict because the template engine looks keys up before attributes."""

    pk: str
    ref: str
    url: str
    # "claim" (unassigned), "take-over" (a supervisor, on another agent's ticket) or ""
    # (the agent's own ticket, or an agent looking at a colleague's): issue 16.
    action: str
    action_label: str
    assign_url: str
    severity: str
    severity_label: str
    organization: str
    requester: str
    who: str  # "requester · organization", the cell's tooltip
    customer_replied: bool
    title: str
    category_label: str
    product: str | None
    status: str
    status_label: str
    is_new: bool
    mine: bool
    assignee: str | None  # None: unassigned
    assignee_full: str
    escalation_level: int
    clock: str  # "paused", "response" or "none"
    state: str  # the response clock: "ok", "at_risk" or "breached" (tickets.selectors)
    # The Time left chip: its classes, tooltip and countdown phrases (static/js/desk.js).
    chip: str
    chip_title: str
    kind: str
    due: str  # ISO 8601, for static/js/desk.js to keep the countdown ticking
    warning: str  # ISO 8601: when the response clock turns amber
    countdown: str


# The queue's own short countdown phrases (the ticket page keeps the long ones): a Time
# left column that fits one line in every language.
QUEUE_COUNTDOWN_TEXTS = {
    "queue": (_noop("{time} left"), _noop("{time} overdue")),
    "queue-customer": (_noop("customer: {time} left"), _noop("customer: {time} late")),
}


def _requester(ticket: QueueTicket) -> str:
    """Who asked: the customer who filed it, else the contact the request names (an agent
    filing on a caller's behalf is not the requester)."""
    return ticket.requester_name or ticket.contact_email or ticket.contact_phone or "—"


@register.simple_tag
def queue_row_views(rows: list[QueueTicket], user: User, now: datetime) -> list[QueueRow]:
    """The queue's rows as _row_html draws them. The labels, links and
    countdowns are worked out here in one pass (one URL reversal per page, not two per
    row): the page and its live fragment are the desk's hot path."""
    ticket_url = reverse("desk:ticket", kwargs={"number": "NUMBER"})
    assign_url = reverse("desk:ticket_assign", kwargs={"number": "NUMBER"})
    severities = {k: str(v) for k, v in Severity.choices}
    categories = {k: str(v) for k, v in Category.choices}
    statuses = {k: str(v) for k, v in Status.choices}
    texts = {kind: (_(future), _(past)) for kind, (future, past) in QUEUE_COUNTDOWN_TEXTS.items()}
    shapes = _span_shapes()
    supervisor = user.is_supervisor
    # Worked out here, once per page, so the row template has few conditions to evaluate:
    # it is drawn 50 times on every poll of every agent.
    # The button's own context: the ticket page's longer "Take over" does not fit a row.
    actions = {
        "claim": _("Claim"),
        "take-over": pgettext("queue row button", "Take over"),
        "": "",
    }
    chip_titles = {
        CLOCK_OK: "",
        CLOCK_AT_RISK: _("At risk"),
        CLOCK_BREACHED: _("Breached"),
        "paused": _("Waiting on customer"),
    }
    views: list[QueueRow] = []
    for t in rows:
        due: datetime | None
        warning: datetime | None = None
        state = CLOCK_OK
        if t.status == Status.AWAITING_CUSTOMER:
            clock, due, kind = "paused", t.customer_due_at, "queue-customer"
        elif t.response_due_at is not None:
            clock, due, kind = "response", t.response_due_at, "queue"
            warning = response_warning_moment(t)
            state = response_clock_state(t, now)
        else:
            clock, due, kind = "none", None, "queue"
        chip = "q-paused" if clock == "paused" else f"sla-{state}"
        mine = t.assignee_id is not None and t.assignee_id == user.pk
        if t.assignee_id is None:
            action = "claim"
        elif not mine and supervisor:
            action = "take-over"
        else:
            action = ""
        requester = _requester(t)
        views.append(
            QueueRow(
                pk=str(t.pk),
                ref=t.reference,
                url=ticket_url.replace("NUMBER", str(t.pk)),
                action=action,
                action_label=actions[action],
                assign_url=assign_url.replace("NUMBER", str(t.pk)) if action else "",
                severity=t.severity,
                severity_label=severities.get(t.severity, t.severity),
                organization=t.organization_name,
                requester=requester,
                who=f"{requester} · {t.organization_name}",
                customer_replied=t.customer_replied,
                title=t.title,
                category_label=categories.get(t.category, t.category),
                product=t.product_name,  # translated
                status=t.status,
                status_label=statuses.get(t.status, t.status),
                is_new=t.status == Status.NEW,
                mine=mine,
                assignee=_short_name(t.assignee_name, t.assignee_email),
                assignee_full=(t.assignee_name or t.assignee_email or ""),
                escalation_level=t.escalation_level,
                clock=clock,
                state=state,
                chip=chip,
                chip_title=chip_titles["paused" if clock == "paused" else state],
                kind=kind,
                due=due.isoformat() if due is not None else "",
                warning=warning.isoformat() if warning is not None else "",
                countdown=(
                    _countdown_text(due, now, texts[kind], shapes) if due is not None else ""
                ),
            )
        )
    return views


def _short_name(full_name: str | None, email: str | None) -> str | None:
    """User.get_short_name of a name and address read as values: the first name, else
    the address; None when there is nobody."""
    if email is None:
        return None
    return (full_name.split(" ")[0] if full_name else "") or email


def _countdown_text(
    due: datetime,
    now: datetime,
    texts: tuple[str, str],
    shapes: tuple[str, str, str] | None = None,
) -> str:
    left = int((due - now).total_seconds())
    return (texts[0] if left > 0 else texts[1]).replace("{time}", _span(abs(left), shapes))


class RowLabels(TypedDict):
    select: str
    you: str
    unassigned: str
    escalation: str
    new: str
    replied: str
    replied_short: str
    no_clock: str


def _row_labels() -> RowLabels:
    return {
        "select": _("Select"),
        "you": _("You"),
        "unassigned": _("Unassigned"),
        "escalation": _("Escalation level"),
        "new": _("New"),
        "replied": _("Customer replied"),
        "replied_short": pgettext("queue: the customer replied", "Replied"),
        "no_clock": _("No running clock"),
    }


def _row_html(row: QueueRow, labels: RowLabels) -> str:
    """One row of the desk queue, one line at 1024 px and wider. Long titles, names and
    organizations are cut with an ellipsis (the whole text in the tooltip), never the Time
    left or action column. Every value goes through _e (escaped)."""
    ref = _e(row["ref"])
    pk = _e(row["pk"])
    escalation = ""
    if row["escalation_level"]:
        label, level = _e(labels["escalation"]), _e(row["escalation_level"])
        escalation = (
            f' <span class="badge badge-escalation" title="{label} {level}">'
            f'<span aria-hidden="true">↑</span><span class="visually-hidden">{label} </span>'
            f"{level}</span>"
        )
    new_label = _e(labels["new"])
    new_marker = f'<span class="visually-hidden">{new_label}: </span>' if row["is_new"] else ""
    replied = ""
    if row["customer_replied"]:
        long, short = _e(labels["replied"]), _e(labels["replied_short"])
        replied = (
            f'<span class="badge badge-replied" title="{long}"><span aria-hidden="true">↩'
            f'<span class="q-word"> {short}</span></span>'
            f'<span class="visually-hidden">{long}</span></span>'
        )
    product = f" · {_e(row['product'])}" if row["product"] is not None else ""
    if row["mine"]:
        assignee = f"<strong>{_e(labels['you'])}</strong>"
    elif row["assignee"] is None:
        nobody = _e(labels["unassigned"])
        assignee = (
            f'<span class="muted" title="{nobody}" aria-hidden="true">—</span>'
            f'<span class="visually-hidden">{nobody}</span>'
        )
    else:
        assignee = (
            f'<span class="q-clip" title="{_e(row["assignee_full"])}">{_e(row["assignee"])}</span>'
        )
    if row["due"]:
        time_cell = (
            f'<time class="countdown q-chip {_e(row["chip"])}" datetime="{_e(row["due"])}" '
            f'data-warning="{_e(row["warning"])}" data-countdown="{_e(row["kind"])}" '
            f'title="{_e(row["chip_title"])}">{_e(row["countdown"])}</time>'
        )
    else:
        no_clock = _e(labels["no_clock"])
        time_cell = (
            f'<span class="muted" title="{no_clock}" aria-hidden="true">—</span>'
            f'<span class="visually-hidden">{no_clock}</span>'
        )
    action = ""
    if row["action"]:
        take_over = " queue-take-over" if row["action"] == "take-over" else ""
        action = (
            f'<button type="submit" class="btn btn-ghost btn-small queue-claim{take_over}" '
            f'form="claim-form" formaction="{_e(row["assign_url"])}">{_e(row["action_label"])}'
            f'<span class="visually-hidden"> {ref}</span></button>'
        )
    title = _e(row["title"])
    return (
        f'<tr class="queue-row{" row-escalated" if row["escalation_level"] else ""}" '
        f'data-ticket="{pk}">\n'
        f'<td class="q-pick"><input type="checkbox" class="queue-pick" id="pick-{pk}" '
        f'name="tickets" value="{pk}" form="bulk-form" '
        f'aria-label="{_e(labels["select"])} {ref}"></td>\n'
        f'<td class="ref"><a class="queue-open" href="{_e(row["url"])}">{ref}</a></td>\n'
        f'<td class="q-sev"><span class="badge sev-{_e(row["severity"])}" '
        f'title="{_e(row["severity_label"])}">{_e(row["severity"])}</span>{escalation}</td>\n'
        f'<td class="q-title{" q-new" if row["is_new"] else ""}"><div class="q-line">'
        f"{new_marker}{replied}"
        f'<span class="q-text" title="{new_label + ": " if row["is_new"] else ""}{title}">'
        f'{title}</span><span class="q-meta muted">{_e(row["category_label"])}{product}'
        f"</span></div></td>\n"
        f'<td class="q-who"><span class="q-clip" title="{_e(row["who"])}">'
        f'{_e(row["requester"])} <span class="muted">· {_e(row["organization"])}</span>'
        f"</span></td>\n"
        f'<td class="q-assignee">{assignee}</td>\n'
        f'<td class="q-time">{time_cell}</td>\n'
        f'<td class="q-action">{action}</td>\n'
        "</tr>\n"
    )


@register.simple_tag
def queue_rows(rows: list[QueueTicket], user: User, now: datetime) -> SafeString:
    """The queue's rows as HTML. Drawn in Python rather than by including a row template
    50 times: the queue and its live fragment are the desk's hot path (bench/desk.py), and
    the template engine's per-variable cost was most of the page's."""
    labels = _row_labels()
    # _row_html escapes every value it draws, so the joined text is safe as a whole.
    return mark_safe("".join(_row_html(row, labels) for row in queue_row_views(rows, user, now)))  # noqa: S308

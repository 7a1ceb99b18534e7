"""What the customer can expect, in plain words: the expected wait before filing
(POL-REQ-2) and a request's SLA state afterwards (POL-SLA-1, POL-SEV-7).

The arithmetic is pure (:func:`median_duration`, :func:`moment_phrase`); the two
selectors read the SLA target, the business calendar and the live queue. Every time is
shown in the organization's own zone, named, because the reader may sit elsewhere.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import formats
from django.utils.translation import gettext as _

from core import moments
from severity.calendars import BusinessCalendar
from severity.models import business_calendar, version_in_force, version_target
from tenants.models import Organization
from tickets.models import Status, Ticket

# POL-REQ-2 default: the queue's median first response over the last 7 days.
MEDIAN_WINDOW = timedelta(days=7)
# The median of the latest this many comparable requests is plenty, and bounds the read.
MEDIAN_SAMPLE = 500


def zone_label(zone: ZoneInfo | str) -> str:
    """``Beijing time``, ``Warsaw time``, ``New York time``; ``UTC`` for UTC; the city's
    name in the active language (CLDR, core.moments)."""
    return moments.zone_words(zone)


def support_hours_text(calendar: BusinessCalendar, *, reader: ZoneInfo, now: datetime) -> str:
    """``Support hours: 09:00–24:00 Beijing time, every day (02:00–17:00 Warsaw time).``
    Support's own hours with the reader's beside them, as the clocks stand today; empty
    for a calendar that is always open or whose week is not one plain pattern."""
    windows = calendar.windows
    spans = {(w.start, w.end) for w in windows}
    days = sorted({w.weekday for w in windows})
    if len(spans) != 1 or len(windows) != len(days) or spans == {(time(0), None)}:
        return ""
    if days == list(range(7)):
        week = _("every day")
    elif days == list(range(5)):
        week = _("Monday to Friday")
    else:
        return ""
    start, end = next(iter(spans))
    today = now.astimezone(calendar.tz).date()
    opens = datetime.combine(today, start, tzinfo=calendar.tz)
    closes = (
        datetime.combine(today + timedelta(days=1), time(0), tzinfo=calendar.tz)
        if end is None
        else datetime.combine(today, end, tzinfo=calendar.tz)
    )
    own = _("%(start)s–%(end)s %(zone)s") % {
        "start": start.strftime("%H:%M"),
        "end": "24:00" if end is None else end.strftime("%H:%M"),
        "zone": zone_label(calendar.tz),
    }
    if opens.utcoffset() == opens.astimezone(reader).utcoffset():
        return _("Support hours: %(hours)s, %(week)s.") % {"hours": own, "week": week}
    theirs = _("%(start)s–%(end)s %(zone)s") % {
        "start": moments.format_clock(opens, zone=reader),
        "end": moments.format_clock(closes, zone=reader),
        "zone": zone_label(reader),
    }
    return _("Support hours: %(hours)s, %(week)s (%(yours)s for you).") % {
        "hours": own,
        "week": week,
        "yours": theirs,
    }


def moment_phrase(moment: datetime, *, now: datetime, zone: ZoneInfo) -> str:
    """``16:30 today``, ``09:00 tomorrow`` or ``09:00 on Monday 15 June``, read in ``zone``
    (the reader's day is the organization's day, not the server's)."""
    local, today = moment.astimezone(zone), now.astimezone(zone).date()
    clock = formats.time_format(local, "H:i")
    if local.date() == today:
        return _("%(time)s today") % {"time": clock}
    if local.date() == today + timedelta(days=1):
        return _("%(time)s tomorrow") % {"time": clock}
    day = formats.date_format(local, "l j F" if local.year == today.year else "l j F Y")
    return _("%(time)s on %(day)s") % {"time": clock, "day": day}


def median_duration(durations: Sequence[timedelta]) -> timedelta | None:
    """The median, never below zero (a clock skew must not promise a negative wait)."""
    if not durations:
        return None
    middle = statistics.median(d.total_seconds() for d in durations)
    return timedelta(seconds=max(0.0, middle))


@dataclass(frozen=True, slots=True)
class ExpectedWait:
    """What the contact pane shows before "Contact me" (POL-REQ-2)."""

    severity: str
    respond_by: datetime  # the target on the business calendar, counted from now
    respond_by_text: str  # "Support will respond by 16:30 today, Beijing time."
    target: timedelta  # working time
    open_now: bool  # is support's calendar in working hours now?
    hours_text: str  # support's hours in its zone and the reader's; "" when always open
    waiting: int  # requests of this severity still waiting for a first response
    median: timedelta | None  # recent median first response of comparable requests
    sample: int  # how many requests the median is of


def expected_wait(
    *,
    organization: Organization,
    category: str,
    severity: str,
    now: datetime,
    zone: ZoneInfo | None = None,
) -> ExpectedWait:
    """The expected wait for a request filed now: the SLA target on its business calendar
    (POL-SLA-1, POL-SLA-3/4) and the live queue of that severity. Times read in ``zone``
    (the reader's), else the organization's."""
    version_id = version_in_force(
        policy_id=organization.sla_policy_id, contract=organization.contract
    )
    target = version_target(version_id, severity, category)
    calendar = business_calendar(target.calendar, organization_tz=organization.time_zone)
    respond_by = calendar.add(now, target.first_response)
    # Provider-wide counts: the queue is shared by every tenant; only numbers leave it.
    comparable = Ticket.objects.filter(severity=severity, category=category)
    waiting = comparable.waiting_on_support().filter(first_response_at__isnull=True).count()
    recent = list(
        comparable.filter(created_at__gte=now - MEDIAN_WINDOW, first_response_at__isnull=False)
        .order_by("-created_at")
        .values_list("created_at", "first_response_at")[:MEDIAN_SAMPLE]
    )
    median = median_duration(
        [answered - filed for filed, answered in recent if answered is not None]
    )
    zone = zone or organization.zone
    text = _("Support will respond by %(when)s, %(zone)s.") % {
        "when": moment_phrase(respond_by, now=now, zone=zone),
        "zone": zone_label(zone),
    }
    return ExpectedWait(
        severity=severity,
        respond_by=respond_by,
        respond_by_text=text,
        target=target.first_response,
        open_now=calendar.is_open(now),
        hours_text=support_hours_text(calendar, reader=zone, now=now),
        waiting=waiting,
        median=median,
        sample=len(recent),
    )


@dataclass(frozen=True, slots=True)
class SlaState:
    """A request's clock as its customer reads it."""

    kind: str  # responding | updating | working | overdue | waiting_on_you | resolved | closed
    text: str
    # Whether the customer's reply is what the request needs now.
    needs_you: bool = False


def sla_state(ticket: Ticket, *, now: datetime, zone: ZoneInfo | None = None) -> SlaState:
    """The request's SLA state in plain words, in ``zone`` (the reader's), else the
    organization's."""
    zone = zone or ticket.organization.zone

    def when(moment: datetime) -> str:
        return _("%(when)s, %(zone)s") % {
            "when": moment_phrase(moment, now=now, zone=zone),
            "zone": zone_label(zone),
        }

    if ticket.status == Status.CLOSED:
        return SlaState("closed", _("Closed %(when)s.") % {"when": when(ticket.closed_at or now)})
    if ticket.status == Status.RESOLVED:
        resolved_at = ticket.resolved_at or now
        until = resolved_at + timedelta(days=settings.SUPPORTDESK.REOPEN_WINDOW_DAYS)
        if now <= until:
            text = _("Resolved %(when)s. Not solved after all? Reopen it until %(until)s.") % {
                "when": when(resolved_at),
                "until": when(until),
            }
        else:
            text = _(
                "Resolved %(when)s. The time to reopen it has passed; for more help, "
                "file a new request."
            ) % {"when": when(resolved_at)}
        return SlaState("resolved", text)
    if ticket.status == Status.AWAITING_CUSTOMER:
        if ticket.customer_due_at is None:
            text = _("Waiting for your reply. Support's clock is paused until you answer.")
        elif ticket.severity == "C":
            # At C a lapse only reminds (POL-SEV-7 default): no threat of lowering.
            text = _(
                "Waiting for your reply — please answer by %(when)s so support can go on. "
                "Support's clock is paused until you answer."
            ) % {"when": when(ticket.customer_due_at)}
        else:
            text = _(
                "Waiting for your reply — please answer by %(when)s, or the severity may be "
                "lowered. Support's clock is paused until you answer."
            ) % {"when": when(ticket.customer_due_at)}
        return SlaState("waiting_on_you", text, needs_you=True)
    due = ticket.response_due_at
    if due is None:
        return SlaState("working", _("Support is working on your request."))
    if due < now:
        if ticket.escalation_level > 0:
            text = _(
                "Support's answer was due %(when)s and is late; the request has been raised "
                "with the support managers."
            )
        else:
            text = _("Support's answer was due %(when)s and is late.")
        return SlaState("overdue", text % {"when": when(due)})
    if ticket.first_response_at is None:
        return SlaState("responding", _("Support will respond by %(when)s.") % {"when": when(due)})
    # Severity A's continued work (POL-SLA-1): an update at least every hour.
    return SlaState(
        "updating", _("Support will send the next update by %(when)s.") % {"when": when(due)}
    )

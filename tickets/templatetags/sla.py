"""Template filters for SLA figures."""

from __future__ import annotations

from datetime import timedelta

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def working_time(value: timedelta | None) -> str:
    """``1 h 18 min``: a duration as people read an SLA, without seconds."""
    if value is None:
        return "—"
    if value < timedelta(0):
        return _("overdue by %(time)s") % {"time": working_time(-value)}
    minutes = int(value.total_seconds() // 60)
    if minutes < 1:
        return _("under a minute")
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    if hours:
        return _("%(hours)d h") % {"hours": hours}
    return _("%(minutes)d min") % {"minutes": minutes}


@register.filter
def is_overdue(value: timedelta | None) -> bool:
    """A remaining time below zero: the ledger then reads "Overdue by 45 h"."""
    return value is not None and value < timedelta(0)


@register.filter
def working_time_abs(value: timedelta | None) -> str:
    """``45 h``: a duration without its sign, for "Overdue by"."""
    return working_time(abs(value) if value is not None else None)

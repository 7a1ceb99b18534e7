"""``{% load slapolicies %}``: durations as the policy editor writes them (hours)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import template

from slapolicies.selectors import hours_text as _hours_text

register = template.Library()


@register.filter
def hours_text(value: dt.timedelta | None) -> str:
    """15 h, 1.5 h, — for none."""
    return _hours_text(value)


@register.filter
def percent(value: Decimal | None) -> str:
    """A share as a whole percentage: 0.75 → 75 %."""
    if value is None:
        return "—"
    return f"{int(value * 100)} %"

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


# Keys of an audit row holding a duration in seconds (slapolicies.services.version_snapshot).
_DURATIONS = {"first_response", "update_cadence", "cooperation_window"}


@register.filter
def change_lines(value: object) -> list[str]:
    """An audit row's ``before`` or ``after`` as short lines ("B/technical first_response:
    15 h"), nested keys joined, durations in hours. Plain text: the template escapes it."""
    lines: list[str] = []

    def walk(prefix: str, item: object) -> None:
        if isinstance(item, dict):
            for key, inner in item.items():
                walk(f"{prefix} {key}".strip(), inner)
            return
        name = prefix.rsplit(" ", 1)[-1]
        if name in _DURATIONS and isinstance(item, int):
            text = _hours_text(dt.timedelta(seconds=item))
        elif isinstance(item, list):
            text = ", ".join(str(i) for i in item) or "—"
        elif item is None or item == "":
            text = "—"
        else:
            text = str(item)
        lines.append(f"{prefix}: {text}")

    walk("", value)
    return lines

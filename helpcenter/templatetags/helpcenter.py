"""``{% load helpcenter %}``: self-help blocks other pages include."""

from __future__ import annotations

from typing import Any

from django import template

from helpcenter.selectors import current_incidents

register = template.Library()


@register.inclusion_tag("helpcenter/_service_health.html", takes_context=True)
def service_health(context: template.Context) -> dict[str, Any]:
    """The known incidents, shown at the top of the portal home (POL-SELF-1): an admin
    sees what is already being worked on before filing a request about it."""
    return {
        "organization": context.get("organization"),
        "incidents": list(current_incidents()),
    }

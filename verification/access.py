"""The one way views and API endpoints reach a Call: the agent's own, or 404."""

from __future__ import annotations

from django.http import Http404

from tenants.models import User
from verification.models import Call


def call_for_agent(agent: User, call_id: int) -> Call:
    """The agent's own call, or 404: another agent's call does not exist for them."""
    call = (
        Call.objects.select_related("organization", "organization__partner")
        .filter(pk=call_id, agent=agent)
        .first()
    )
    if call is None:
        raise Http404
    return call

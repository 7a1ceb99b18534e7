"""The refusal of a change to a service request (see ``core.refusals``)."""

from __future__ import annotations

from core.refusals import Refused


class TicketError(Refused):
    """A refused change of a request; ``message`` is shown to the person who tried it."""

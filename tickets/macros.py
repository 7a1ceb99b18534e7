"""Canned replies with placeholders, filled for one request.

A macro's text may name a fixed set of placeholders — ``{requester_name}``,
``{reference}``, ``{due_time}`` … — replaced by plain string substitution: no template
language runs on a supervisor's text, and a requester's name such as ``{{ x }}`` or
``<script>`` is inserted as the characters it is (the page escapes it like any text). An
unknown ``{word}`` is left as written, so the agent sees it before sending.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from audit import services as audit
from audit.actions import Action
from core import moments
from tenants.models import User
from tickets.models import Macro, Ticket

PLACEHOLDERS = (
    "requester_name",
    "reference",
    "title",
    "due_time",
    "organization",
    "agent_name",
)


@dataclass(frozen=True, slots=True)
class FilledMacro:
    pk: int
    name: str
    language: str
    body: str


def _when(moment: datetime | None) -> str:
    if moment is None:
        return _("as soon as possible")
    # The reader's zone in words ("Warsaw time"), never an abbreviation or an id.
    return moments.format_moment(moment)


def placeholder_values(ticket: Ticket, *, agent: User, requester_name: str) -> Mapping[str, str]:
    """The value of every placeholder for this request and agent."""
    return {
        "requester_name": requester_name or _("there"),
        "reference": ticket.reference,
        "title": ticket.title,
        "due_time": _when(ticket.response_due_at),
        "organization": ticket.organization.name,
        "agent_name": agent.get_short_name() or agent.get_full_name(),
    }


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each known ``{name}`` replaced, in one pass over the fixed set: a
    value that itself contains ``{reference}`` is not expanded again."""
    out: list[str] = []
    position = 0
    while True:
        start = text.find("{", position)
        if start == -1:
            out.append(text[position:])
            return "".join(out)
        end = text.find("}", start + 1)
        name = text[start + 1 : end] if end != -1 else ""
        if name in values:
            out.append(text[position:start])
            out.append(values[name])
            position = end + 1
        else:
            out.append(text[position : start + 1])
            position = start + 1


def filled_macros(
    macros: list[Macro], ticket: Ticket, *, agent: User, requester_name: str
) -> list[FilledMacro]:
    values = placeholder_values(ticket, agent=agent, requester_name=requester_name)
    return [
        FilledMacro(m.pk, m.name, m.get_language_display(), fill(m.body, values)) for m in macros
    ]


# --- Writes (supervisors, in the Django admin) ----------------------------------------------

MACRO_FIELDS = ("name", "language", "body", "is_active", "position")


def _values(macro: Macro, names: tuple[str, ...] | list[str]) -> dict[str, object]:
    return {name: getattr(macro, name) for name in names}


@transaction.atomic
def macro_save(*, macro: Macro, actor: User, now: datetime) -> Macro:
    """Create a macro or save its changes, with an audit row naming what changed (a
    save that changes nothing writes none)."""
    if macro._state.adding or macro.pk is None:
        macro.save()
        audit.record(
            action=Action.MACRO_CREATED,
            actor=actor,
            target=macro,
            after=_values(macro, MACRO_FIELDS),
            now=now,
        )
        return macro
    stored = Macro.objects.select_for_update().get(pk=macro.pk)
    changed = [name for name in MACRO_FIELDS if getattr(stored, name) != getattr(macro, name)]
    macro.save()
    if changed:
        audit.record(
            action=Action.MACRO_CHANGED,
            actor=actor,
            target=macro,
            before=_values(stored, changed),
            after=_values(macro, changed),
            now=now,
        )
    return macro


@transaction.atomic
def macro_delete(*, macro: Macro, actor: User, now: datetime) -> None:
    """Delete a macro; its audit row keeps what it said."""
    audit.record(
        action=Action.MACRO_DELETED,
        actor=actor,
        target=macro,
        before=_values(macro, MACRO_FIELDS),
        now=now,
    )
    macro.delete()

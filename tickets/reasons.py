"""Reasons in the customer's words.

The workers store the reasons of the Events they write in English (POL-SEV-7); the
ticket stores its severity reasons in the language of whoever filed it. A reader sees
them in their own language: each reason is re-rendered from what the Event keeps (the
assessment's reason codes, the severities before and after), and only a text that
cannot be re-rendered is shown as stored.

Customers never read a policy id or a worker's name: the ids stay in the texts as
stored (the desk shows them) and in the API's reason codes; a worker's step reads as
"Automatic SLA check".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from severity import assessment as sev

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

    from tickets.models import Event, Ticket

# The texts keep their policy ids: the desk shows them as stored, and a customer reads
# them through :func:`event_reason`, which drops the ids.
REASON_DOWNGRADE = gettext_noop(
    "We asked for information and did not hear back within the customer-cooperation "
    "window, so the severity was lowered from %(before)s to %(after)s (POL-SEV-7). Reply "
    "to the request to continue."
)
REASON_REMINDER = gettext_noop(
    "We are still waiting for the information we asked for. Reply to the request so that "
    "support can continue (POL-SEV-7)."
)
REASON_REPLY_IN_TIME = gettext_noop(
    "The customer's reply arrived within the cooperation window; the severity is restored."
)
REASON_ASSESSED_BY_EMAIL_FILER = gettext_noop(
    "Assessment completed by the admin who filed the request by e-mail (POL-SEV-1)."
)
REASON_AUTO_CLOSED = gettext_noop("Closed automatically %(days)d days after it was resolved.")

# What a customer reads for any step the workers took (sweep, deadline, re-measure…).
SYSTEM_ACTOR = _("Automatic SLA check")

# Texts stored before the reasons lost their policy ids, and any other stored text: the
# ids are dropped before a customer reads it ("(POL-SEV-7)", "(POL-SEV-1..6, POL-SLA-2)").
_POLICY_ID = re.compile(
    r"\s*\((?:POL-[A-Z]+-[\d.]+(?:[./–-]+\d+)*(?:,\s*)?)+\)|\s*POL-[A-Z]+-[\d.]*\d"
)
_OLD_DOWNGRADE = re.compile(r"severity was lowered from (?P<before>[ABC]) to (?P<after>[ABC])")
_OLD_DAYS = re.compile(r"(?P<days>\d+) days after it was resolved")


def without_policy_ids(text: str) -> str:
    """``text`` with every policy id removed, for a customer's eyes."""
    return _POLICY_ID.sub("", text)


# --- Severity reasons: one short line, the full explanation behind "why?" ------------------

# One line per assessment step, keyed by the reason code of severity.assessment.
_SHORT: Mapping[str, StrPromise] = {
    "matrix": _("Severity %(severity)s from your answers on the impact and who is affected."),
    "override": _("A support agent set the severity to %(severity)s."),
    "cap_category": _("Filed as %(severity)s: severity A is for technical requests only."),
    "cap_contract": _("Filed as %(severity)s: severity A needs the advanced support agreement."),
    "cap_business_impact": _(
        "Filed as %(severity)s: severity A needs a statement of the business impact."
    ),
    "cap_24x7_contact": _("Filed as %(severity)s: severity A needs a contact reachable 24x7."),
}


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a request has its severity: one line, and the sentences behind "why?"."""

    summary: str
    details: tuple[str, ...] = ()
    # The reason codes and policy ids, for the desk's tooltips and the API.
    codes: tuple[str, ...] = ()
    policies: tuple[str, ...] = field(default=())

    # The policy id of each detail ("" where unknown): the desk's tooltips.
    line_policies: tuple[str, ...] = ()

    @property
    def lines(self) -> list[tuple[str, str]]:
        """``(code, sentence)`` pairs of the details; the code is "" where unknown."""
        codes = self.codes if len(self.codes) == len(self.details) else ("",) * len(self.details)
        return list(zip(codes, self.details, strict=True))

    @property
    def desk_lines(self) -> list[tuple[str, str]]:
        """``(policy id, sentence)`` pairs of the details, for the desk."""
        policies = self.line_policies
        if len(policies) != len(self.details):
            policies = ("",) * len(self.details)
        return list(zip(policies, self.details, strict=True))


def explain_assessment(outcome: sev.Assessment) -> Explanation:
    """The summary is the step that decided the severity: the last cap that lowered it,
    else the matrix cell (or the agent's override)."""
    deciding = [r for r in outcome.reasons if r.code in _SHORT]
    summary = (
        str(_SHORT[deciding[-1].code]) % {"severity": outcome.severity.value}
        if deciding
        else outcome.reasons[0].message
    )
    return Explanation(
        summary=summary,
        details=tuple(r.message for r in outcome.reasons),
        codes=tuple(r.code for r in outcome.reasons),
        policies=tuple(dict.fromkeys(r.policy for r in outcome.reasons)),
        line_policies=tuple(r.policy for r in outcome.reasons),
    )


def _reassessed(ticket: Ticket, event: Event) -> sev.Assessment | None:
    """The assessment the Event recorded, again, in the active language; ``None`` when it
    no longer reproduces the stored outcome (the answers or the contract changed)."""
    codes = event.after.get("reasons")
    if not isinstance(codes, list):
        return None
    try:
        outcome = sev.assess(
            category=ticket.category,
            impact=ticket.impact,
            scope=ticket.scope,
            contract=ticket.organization.contract,
            has_business_impact_statement=bool(ticket.business_impact.strip()),
            has_24x7_contact=bool(ticket.contact_24x7.strip()),
        )
    except (TypeError, ValueError):
        return None
    same = (
        outcome.severity.value == event.after.get("severity")
        and [r.code for r in outcome.reasons] == codes
    )
    return outcome if same else None


def explain_severity(ticket: Ticket, events: Iterable[Event]) -> Explanation | None:
    """Why ``ticket`` has its severity now, in the reader's language.

    ``events`` are the ticket's Events (any order); the latest one that set the severity
    explains it. Falls back to the stored ``severity_reason`` (ids removed).
    """
    from tickets.models import EventKind

    setting = sorted(
        (
            e
            for e in events
            if e.kind in (EventKind.CREATED, EventKind.SEVERITY_CHANGED, EventKind.DOWNGRADED)
            and "severity" in (e.after or {})
        ),
        key=lambda e: (e.created_at, e.pk or 0),
    )
    stored = without_policy_ids(ticket.severity_reason or "").strip()
    latest = setting[-1] if setting else None
    if latest is not None and latest.kind == EventKind.DOWNGRADED:
        line = event_reason(latest)
        return Explanation(summary=line, details=())
    if latest is not None and "reasons" in latest.after:
        outcome = _reassessed(ticket, latest)
        if outcome is not None:
            return explain_assessment(outcome)
    if latest is not None and latest.kind == EventKind.SEVERITY_CHANGED and latest.reason:
        # An agent's override: their own words first, then the stored explanation.
        summary = str(_SHORT["override"]) % {"severity": ticket.severity}
        details = tuple(p for p in re.split(r"\n\s*\n", stored) if p.strip())
        return Explanation(summary=summary, details=details, codes=("override",))
    if not stored:
        return None
    first, _sep, rest = stored.partition(". ")
    return Explanation(
        summary=first if first.endswith(".") or not rest else first + ".",
        details=(stored,) if rest else (),
    )


# --- Timeline reasons ------------------------------------------------------------------------


def event_reason(event: Event) -> str:
    """The reason of a customer-visible Event in the reader's language, without ids."""
    from tickets.models import EventKind

    text = event.reason or ""
    before = (event.before or {}).get("severity")
    after = (event.after or {}).get("severity")
    if event.kind == EventKind.DOWNGRADED:
        if not (before and after) and (old := _OLD_DOWNGRADE.search(text)):
            before, after = old["before"], old["after"]
        if before and after:
            text = gettext(REASON_DOWNGRADE) % {"before": before, "after": after}
    elif event.kind == EventKind.REMINDED:
        text = gettext(REASON_REMINDER)
    elif event.kind == EventKind.CLOSED:
        days = (event.after or {}).get("auto_close_days")
        if days is None and (old := _OLD_DAYS.search(text)):
            days = int(old["days"])
        if isinstance(days, int):
            text = gettext(REASON_AUTO_CLOSED) % {"days": days}
    elif text.strip():
        # A stored msgid (the workers' reasons) translates; free text (an agent's) stays.
        text = gettext(text)
    return without_policy_ids(text).strip()

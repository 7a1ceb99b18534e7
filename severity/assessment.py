"""Severity assessment: the severity a new request gets, and why (POL-SEV-1..7, POL-SLA-1..4).

Pure domain code: plain values in, an :class:`Assessment` out. No models, no clock; the
only Django import is ``django.utils.translation`` so the reasons can be translated.

Base severity: the impact × scope matrix
=========================================

=================  ==============================  =====================
impact \\ scope     many (several users/services)   one (user / service)
=================  ==============================  =====================
``service_down``   **A**  (POL-SEV-2)              **B**  (POL-SEV-3)
``degraded``       **B**  (POL-SEV-3)              **B**  (POL-SEV-3)
``minimal``        **C**  (POL-SEV-4)              **C**  (POL-SEV-4)
=================  ==============================  =====================

- POL-SEV-2 defines A as a service "unavailable or unusable" *and* "several users or
  services affected", so only ``service_down × many`` is A.
- A service that is down for one user is B: POL-SEV-3 covers "one user, customer or
  service partially affected", and A needs several users or services.
- ``degraded`` means "the service is usable but impaired" (POL-SEV-3), which is B whatever
  the scope: impaired-for-many is still not "unavailable or unusable", so not A, and it is
  more than POL-SEV-4's "minimal impact", so not C.
- ``minimal`` means "minimal business impact ... with an acceptable workaround"
  (POL-SEV-4), which is C whatever the scope: the business impact stays minimal even
  when several users see it.

Caps (ceilings), in this order
==============================

1. POL-SEV-6 — A only for technical requests; billing and pre-sales at most B.
2. POL-SEV-5 — A only with the advanced support agreement; standard at most B.
3. POL-SLA-2 — A needs a statement of business impact *and* a contact reachable 24x7;
   without either the request is filed as B (one reason per missing item).

A cap adds a :class:`Reason` only when it actually lowers the severity, so a billing
request from a standard-contract organization shows the category reason only. The
first reason always explains the matrix cell; the last one states the customer's duty
(A) or the usual first-response target (B, C).

Translation
===========

:attr:`Reason.message` is a plain ``str``, rendered when :func:`assess` (or
:func:`check_override`) is called, in the language active at that moment. Callers that
need a given language wrap the call in ``translation.override(lang)``. A plain string is
what the ticket stores and what the API serialises, and it keeps :class:`Reason`
hashable and comparable; ``code`` and ``policy`` stay stable, so a reason can always be
re-rendered in another language by assessing again.

Response targets
================

The closing reason quotes the *usual* targets ("normally ...") from POLICY.md. These
sentences are the only place the target numbers appear in this module; the real targets
are data (admin-editable) and the ticket's deadlines are computed from them, not from
these texts. A caller that wants the live target can replace the reason with code
``"target"`` (or ``"duty_a"``) by its own text.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

__all__ = [
    "INVALID_CHOICE",
    "NOT_A_BOOL",
    "Assessment",
    "Category",
    "Contract",
    "Impact",
    "Reason",
    "Scope",
    "Severity",
    "assess",
    "check_override",
    "severity_cap",
]

# A ``gettext_lazy`` template: rendered with ``_render`` in the language active at call time.
type LazyText = str | StrPromise

# Error messages (module constants so tests and callers can reuse them).
INVALID_CHOICE = "Unknown {field} {value!r}; expected one of: {choices}."
NOT_A_BOOL = "{field} must be True or False, not {value!r}."


class Severity(enum.StrEnum):
    """Case severity; A is the most severe. Members are declared most severe first."""

    A = "A"
    B = "B"
    C = "C"

    @property
    def rank(self) -> int:
        """0 for A, 1 for B, 2 for C: a higher rank is a *lower* severity."""
        return list(Severity).index(self)

    def next_lower(self) -> Severity | None:
        """The next lower severity (A → B → C), or ``None`` at C."""
        order = list(Severity)
        return order[self.rank + 1] if self.rank + 1 < len(order) else None

    def next_higher(self) -> Severity | None:
        """The next higher severity (C → B → A), or ``None`` at A."""
        return list(Severity)[self.rank - 1] if self.rank > 0 else None


class Category(enum.StrEnum):
    TECHNICAL = "technical"
    PRESALES = "presales"
    BILLING = "billing"  # billing and subscription management


class Impact(enum.StrEnum):
    SERVICE_DOWN = "service_down"  # unavailable or unusable
    DEGRADED = "degraded"  # usable but impaired
    MINIMAL = "minimal"  # minimal impact, acceptable workaround


class Scope(enum.StrEnum):
    MANY = "many"  # several users or services
    ONE = "one"  # one user, or one service partially


class Contract(enum.StrEnum):
    STANDARD = "standard"
    ADVANCED = "advanced"  # the advanced (premium) online-services support agreement


@dataclass(frozen=True, slots=True)
class Reason:
    """One step of the assessment, in words.

    ``code`` is a stable machine code (``matrix``, ``override``, ``cap_category``,
    ``cap_contract``, ``cap_business_impact``, ``cap_24x7_contact``, ``duty_a``,
    ``target``); ``policy`` the POLICY.md id; ``message`` one translated sentence,
    already rendered in the language active when it was made.
    """

    code: str
    policy: str
    message: str


@dataclass(frozen=True, slots=True)
class Assessment:
    """The severity, the severity before caps, and the reasons, first to last."""

    severity: Severity
    #: What the impact × scope matrix gave (for an override: what the agent asked for).
    matrix_severity: Severity
    reasons: tuple[Reason, ...]

    @property
    def capped(self) -> bool:
        return self.severity != self.matrix_severity

    def as_text(self) -> str:
        """The reasons as one paragraph, for storing on the ticket."""
        return " ".join(reason.message for reason in self.reasons)


# --- Texts -------------------------------------------------------------------------------

# One full sentence per matrix cell, so translators never assemble sentences from parts.
_MATRIX: Mapping[tuple[Impact, Scope], tuple[Severity, LazyText]] = {
    # POL-SEV-2: unavailable or unusable, several users or services affected.
    (Impact.SERVICE_DOWN, Scope.MANY): (
        Severity.A,
        _("The service is unavailable for several users or services: severity A (critical)."),
    ),
    # POL-SEV-3: one user, customer or service partially affected; A needs several.
    (Impact.SERVICE_DOWN, Scope.ONE): (
        Severity.B,
        _(
            "The service is unavailable for one user or partially for one service: "
            "severity B (high)."
        ),
    ),
    # POL-SEV-3: usable but impaired; not "unavailable or unusable", even for many.
    (Impact.DEGRADED, Scope.MANY): (
        Severity.B,
        _("The service is usable but impaired for several users or services: severity B (high)."),
    ),
    (Impact.DEGRADED, Scope.ONE): (
        Severity.B,
        _("The service is usable but impaired for one user or service: severity B (high)."),
    ),
    # POL-SEV-4: minimal business impact with an acceptable workaround, whatever the scope.
    (Impact.MINIMAL, Scope.MANY): (
        Severity.C,
        _(
            "The impact is minimal and an acceptable workaround exists, even though several "
            "users or services are affected: severity C (non-critical)."
        ),
    ),
    (Impact.MINIMAL, Scope.ONE): (
        Severity.C,
        _("The impact is minimal and an acceptable workaround exists: severity C (non-critical)."),
    ),
}

_OVERRIDE = _("A support agent set the severity to %(severity)s.")

# POL-SEV-6 (pre-sales at most B is our default, see POLICY.md).
_CATEGORY_CAP: Mapping[Category, tuple[Severity, LazyText | None]] = {
    Category.TECHNICAL: (Severity.A, None),
    Category.BILLING: (
        Severity.B,
        _(
            "Severity A is available only for technical requests; billing and subscription "
            "requests are handled at most as %(severity)s, so this request is filed as "
            "%(severity)s."
        ),
    ),
    Category.PRESALES: (
        Severity.B,
        _(
            "Severity A is available only for technical requests; pre-sales questions are "
            "handled at most as %(severity)s, so this request is filed as %(severity)s."
        ),
    ),
}

# POL-SEV-5.
_CONTRACT_CAP: Mapping[Contract, tuple[Severity, LazyText | None]] = {
    Contract.ADVANCED: (Severity.A, None),
    Contract.STANDARD: (
        Severity.B,
        _(
            "Severity A needs an advanced support agreement; your organization has the "
            "standard one, so this request is filed as %(severity)s."
        ),
    ),
}

# POL-SLA-2: the customer's duties for A, checked when the customer files.
_NO_BUSINESS_IMPACT = _(
    "Severity A needs a statement of the business impact; without one, this request is "
    "filed as %(severity)s."
)
_NO_24X7_CONTACT = _(
    "Severity A needs a contact who is reachable 24 hours a day, 7 days a week; without "
    "one, this request is filed as %(severity)s."
)

# POL-SLA-1 (A: 1 hour, continued work), POL-SLA-2 (A: the customer's duties),
# POL-SLA-3 (A: 24x7). A is technical only (POL-SEV-6), so one text.
_DUTY_A = _(
    "Severity A (critical): support normally responds within 1 hour, 24 hours a day, "
    "7 days a week, and keeps working until the problem is resolved. In return, please "
    "keep the statement of business impact current and stay reachable, so the work can "
    "continue without breaks."
)

# POL-SLA-1 (B: 1 business day, C: 3), on the category's calendar: POL-SLA-3 for
# technical, POL-SLA-4 for billing and pre-sales. The only target numbers in this module.
_TARGETS: Mapping[tuple[Category, Severity], tuple[str, LazyText]] = {
    (Category.TECHNICAL, Severity.B): (
        "POL-SLA-1",
        _(
            "Severity B (high): support normally gives a first response within 1 business "
            "day (09:00–24:00 Beijing time, every day)."
        ),
    ),
    (Category.TECHNICAL, Severity.C): (
        "POL-SLA-1",
        _(
            "Severity C (non-critical): support normally gives a first response within "
            "3 business days (09:00–24:00 Beijing time, every day)."
        ),
    ),
    (Category.BILLING, Severity.B): (
        "POL-SLA-4",
        _(
            "Severity B (high): support normally gives a first response within 1 business "
            "day of the billing calendar (Monday to Friday, 09:00–17:00 Beijing time)."
        ),
    ),
    (Category.BILLING, Severity.C): (
        "POL-SLA-4",
        _(
            "Severity C (non-critical): support normally gives a first response within "
            "3 business days of the billing calendar (Monday to Friday, 09:00–17:00 "
            "Beijing time)."
        ),
    ),
    (Category.PRESALES, Severity.B): (
        "POL-SLA-4",
        _(
            "Severity B (high): support normally gives a first response within 1 business "
            "day (local business hours, Monday to Friday)."
        ),
    ),
    (Category.PRESALES, Severity.C): (
        "POL-SLA-4",
        _(
            "Severity C (non-critical): support normally gives a first response within "
            "3 business days (local business hours, Monday to Friday)."
        ),
    ),
}


# --- Public functions --------------------------------------------------------------------


def assess(
    *,
    category: Category | str,
    impact: Impact | str,
    scope: Scope | str,
    contract: Contract | str,
    has_business_impact_statement: bool,
    has_24x7_contact: bool,
) -> Assessment:
    """Assess a request as the customer files it: matrix, then caps, then duties/targets.

    Raises ``ValueError`` for an unknown category, impact, scope or contract, and
    ``TypeError`` if a ``has_*`` flag is not a bool (so a form's ``"false"`` cannot
    pass as true).
    """
    category = _coerce(Category, category, "category")
    impact = _coerce(Impact, impact, "impact")
    scope = _coerce(Scope, scope, "scope")
    contract = _coerce(Contract, contract, "contract")
    _require_bool(has_business_impact_statement, "has_business_impact_statement")
    _require_bool(has_24x7_contact, "has_24x7_contact")

    matrix_severity, matrix_message = _MATRIX[impact, scope]
    reasons = [Reason("matrix", _MATRIX_POLICY[matrix_severity], _render(matrix_message))]
    severity = _apply_caps(matrix_severity, category, contract, reasons)

    # POL-SLA-2 is one cap with two conditions: report every missing item, not just the
    # first, so the customer can fix both at once.
    if severity is Severity.A:
        lowered = _lower_one_step(severity)
        if not has_business_impact_statement:
            reasons.append(
                Reason(
                    "cap_business_impact",
                    "POL-SLA-2",
                    _render(_NO_BUSINESS_IMPACT, severity=lowered),
                )
            )
        if not has_24x7_contact:
            reasons.append(
                Reason("cap_24x7_contact", "POL-SLA-2", _render(_NO_24X7_CONTACT, severity=lowered))
            )
        if not (has_business_impact_statement and has_24x7_contact):
            severity = lowered

    reasons.append(_closing_reason(severity, category))
    return Assessment(severity=severity, matrix_severity=matrix_severity, reasons=tuple(reasons))


def severity_cap(*, category: Category | str, contract: Contract | str) -> Severity:
    """The highest severity the category and contract allow (POL-SEV-5, POL-SEV-6).

    It does not depend on the POL-SLA-2 duties: those are the customer's to meet, and an
    agent who sets a severity has checked them (see :func:`check_override`).
    """
    category = _coerce(Category, category, "category")
    contract = _coerce(Contract, contract, "contract")
    return _less_severe(_CATEGORY_CAP[category][0], _CONTRACT_CAP[contract][0])


def check_override(
    *,
    requested: Severity | str,
    category: Category | str,
    contract: Contract | str,
) -> Assessment:
    """The severity an agent may set: ``requested``, capped by POL-SEV-6 and POL-SEV-5.

    The POL-SLA-2 requirement (business-impact statement, 24x7 contact) does not block
    an agent's override: the agent sets A after talking to the customer, and so has
    verified the impact and the contact directly; the web form's flags are the
    customer's self-declaration, which is what :func:`assess` checks. The caps still
    apply, because they follow from the contract and the category, which no agent can
    change for one case.

    ``matrix_severity`` of the result is the requested severity.
    """
    requested = _coerce(Severity, requested, "severity")
    category = _coerce(Category, category, "category")
    contract = _coerce(Contract, contract, "contract")

    reasons = [Reason("override", "POL-SEV-1", _render(_OVERRIDE, severity=requested))]
    severity = _apply_caps(requested, category, contract, reasons)
    reasons.append(_closing_reason(severity, category))
    return Assessment(severity=severity, matrix_severity=requested, reasons=tuple(reasons))


# --- Helpers -----------------------------------------------------------------------------

_MATRIX_POLICY: Mapping[Severity, str] = {
    Severity.A: "POL-SEV-2",
    Severity.B: "POL-SEV-3",
    Severity.C: "POL-SEV-4",
}


def _coerce[E: enum.StrEnum](enum_type: type[E], value: object, field: str) -> E:
    """``value`` as a member of ``enum_type``; accepts members, their string values, and
    other enums with the same values (the Django ``TextChoices`` mirrors)."""
    if isinstance(value, enum_type):
        return value
    raw = value.value if isinstance(value, enum.Enum) else value
    if isinstance(raw, str):
        try:
            return enum_type(raw)
        except ValueError:
            pass
    choices = ", ".join(member.value for member in enum_type)
    raise ValueError(INVALID_CHOICE.format(field=field, value=value, choices=choices))


def _require_bool(value: object, field: str) -> None:
    if not isinstance(value, bool):
        raise TypeError(NOT_A_BOOL.format(field=field, value=value))


def _render(template: LazyText, **params: object) -> str:
    """The template in the active language; named placeholders let translators reorder."""
    text = str(template)
    return text % params if params else text


def _less_severe(first: Severity, second: Severity) -> Severity:
    return first if first.rank >= second.rank else second


def _lower_one_step(severity: Severity) -> Severity:
    lowered = severity.next_lower()
    if lowered is None:  # pragma: no cover - only called for A
        raise ValueError("C has no lower severity")
    return lowered


def _apply_caps(
    severity: Severity, category: Category, contract: Contract, reasons: list[Reason]
) -> Severity:
    """Apply POL-SEV-6 then POL-SEV-5; append a reason only for a cap that lowers."""
    caps = (
        ("cap_category", "POL-SEV-6", *_CATEGORY_CAP[category]),
        ("cap_contract", "POL-SEV-5", *_CONTRACT_CAP[contract]),
    )
    for code, policy, ceiling, message in caps:
        if ceiling.rank > severity.rank:
            assert message is not None  # only the A ceilings have no message
            severity = ceiling
            reasons.append(Reason(code, policy, _render(message, severity=severity)))
    return severity


def _closing_reason(severity: Severity, category: Category) -> Reason:
    if severity is Severity.A:
        return Reason("duty_a", "POL-SLA-2", _render(_DUTY_A))
    policy, message = _TARGETS[category, severity]
    return Reason("target", policy, _render(message))

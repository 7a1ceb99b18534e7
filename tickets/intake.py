"""Intake: what every channel files a request from, and the rules it must pass.

The portal's form, the REST API, phone intake and (next) e-mail are adapters: each turns
its input into a channel-neutral ``TicketDraft`` and calls ``tickets.services.
ticket_create``, which checks the draft here (``draft_problems``) before anything is
written. The portal's live panel and the API's ``severity/assess/`` both ask
``preview`` what a draft would get. A rule lives here once; a channel that skipped it
would be a defect (tests/tickets/test_channel_parity.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils.translation import gettext_lazy as _
from phonenumber_field.phonenumber import PhoneNumber

from helpcenter.models import Service
from severity import assessment as sev
from severity.choices import Category, Impact, Scope
from severity.models import SlaTarget
from tenants.models import Organization, Role
from tenants.roles import ROLE_CANNOT_FILE, may_file
from tickets.errors import TicketError
from tickets.expectations import ExpectedWait, expected_wait
from tickets.models import Channel, ContactMethod, Language

ERR_NO_CONTACT = _("Give a contact e-mail address or phone number.")
ERR_PHONE_FOR_PHONE = _("Give a contact phone number to be called back by phone.")
ERR_PRODUCT_REQUIRED = _("Choose the product the problem is with.")
ERR_PRODUCT_INACTIVE = _("This product is no longer offered; choose another one.")
ERR_UNKNOWN_CHOICE = _("%(value)s is not one of the choices.")
ERR_REQUIRED = _("This field is required.")


@dataclass(frozen=True, slots=True)
class TicketDraft:
    """What a customer (or an agent on the phone) asks for, from any channel."""

    title: str
    description: str
    category: str
    impact: str
    scope: str
    product: Service | None = None
    business_impact: str = ""
    contact_24x7: str = ""
    contact_phone: PhoneNumber | str | None = None
    contact_email: str = ""
    preferred_contact: str = ContactMethod.EMAIL
    language: str = "en"
    channel: str = Channel.WEB
    caller_phone: PhoneNumber | str | None = None

    def cleaned(self) -> TicketDraft:
        """The same draft with its free text trimmed, as it is stored."""
        return replace(
            self,
            title=self.title.strip(),
            description=self.description.strip(),
            business_impact=self.business_impact.strip(),
            contact_24x7=self.contact_24x7.strip(),
            contact_email=self.contact_email.strip(),
        )


def role_refusal(role: str | None, category: str) -> TicketError | None:
    """POL-WHO-2: the categories a member's role (or an API key's) may file. ``None`` for
    an agent filing on the organization's behalf during a verified call (POL-REQ-1)."""
    if role is None or category not in Category.values or may_file(role, category):
        return None
    return TicketError(
        ROLE_CANNOT_FILE
        % {
            "role": Role(role).label if role in Role.values else role,
            "category": Category(category).label,
        },
        code="forbidden_category",
        field="category",
    )


def draft_problems(draft: TicketDraft, *, role: str | None) -> list[TicketError]:
    """Every rule the draft breaks, one refusal per field, in the order of the form.

    The channels' own parsers (form, serializer) only check shapes (types, lengths); the
    rules of what may be filed are these."""
    problems: list[TicketError] = []
    for field in ("title", "description"):
        if not str(getattr(draft, field) or "").strip():
            problems.append(TicketError(ERR_REQUIRED, code="required", field=field))
    for field, choices in (
        ("category", Category),
        ("impact", Impact),
        ("scope", Scope),
        ("preferred_contact", ContactMethod),
        ("language", Language),
    ):
        value = getattr(draft, field)
        if value not in choices.values:
            problems.append(
                TicketError(
                    ERR_UNKNOWN_CHOICE % {"value": repr(value)}, code="invalid_choice", field=field
                )
            )
    if (refusal := role_refusal(role, draft.category)) is not None:
        problems.append(refusal)
    if draft.product is None:
        # Support needs to know which product a technical problem is with (POL-REQ-3).
        if draft.category == Category.TECHNICAL:
            problems.append(TicketError(ERR_PRODUCT_REQUIRED, code="required", field="product"))
    elif not draft.product.is_active:
        problems.append(TicketError(ERR_PRODUCT_INACTIVE, code="invalid", field="product"))
    # POL-REQ-1 / POL-SLA-2: support must be able to reach the customer.
    if not draft.contact_email and not draft.contact_phone:
        problems.append(TicketError(ERR_NO_CONTACT, code="required", field="contact_email"))
    elif draft.preferred_contact == ContactMethod.PHONE and not draft.contact_phone:
        problems.append(TicketError(ERR_PHONE_FOR_PHONE, code="required", field="contact_phone"))
    return problems


def assess_draft(draft: TicketDraft, *, organization: Organization) -> sev.Assessment:
    """The severity at opening (POL-SEV-1..6, POL-SLA-2): the matrix, then the caps."""
    return sev.assess(
        category=draft.category,
        impact=draft.impact,
        scope=draft.scope,
        contract=organization.contract,
        has_business_impact_statement=bool(draft.business_impact.strip()),
        has_24x7_contact=bool(draft.contact_24x7.strip()),
    )


@dataclass(frozen=True, slots=True)
class Preview:
    """What a draft would get if filed now: the portal's live panel, the API's
    ``severity/assess/``."""

    # POL-WHO-2: the role may not file this category (the message says why).
    refusal: TicketError | None = None
    assessment: sev.Assessment | None = None
    # A is within reach: the matrix gives A and neither cap forbids it, so the POL-SLA-2
    # duties (impact statement, 24x7 contact) matter.
    a_possible: bool = False
    wait: ExpectedWait | None = None

    @property
    def role_refused(self) -> bool:
        return self.refusal is not None


def preview(
    *,
    organization: Organization,
    role: str | None,
    answers: Mapping[str, object],
    now: datetime,
    zone: ZoneInfo | None = None,
) -> Preview:
    """The assessment and the expected wait (POL-REQ-2) for the answers so far, its times
    read in ``zone`` (the reader's; else the organization's); only the refusal where the
    answers are not enough to assess yet."""
    category = str(answers.get("category") or "")
    refusal = role_refusal(role, category)
    draft = TicketDraft(
        title="",
        description="",
        category=category,
        impact=str(answers.get("impact") or ""),
        scope=str(answers.get("scope") or ""),
        business_impact=_text(answers.get("business_impact")),
        contact_24x7=_text(answers.get("contact_24x7")),
    )
    try:
        outcome = assess_draft(draft, organization=organization)
    except ValueError:  # not answered (or not a choice) yet
        return Preview(refusal=refusal)
    cap = sev.severity_cap(category=category, contract=organization.contract)
    try:
        wait: ExpectedWait | None = expected_wait(
            organization=organization,
            category=category,
            severity=outcome.severity.value,
            now=now,
            zone=zone,
        )
    except SlaTarget.DoesNotExist:  # a supervisor removed the target: no promise to show
        wait = None
    return Preview(
        refusal=refusal,
        assessment=outcome,
        a_possible=outcome.matrix_severity is sev.Severity.A and cap is sev.Severity.A,
        wait=wait,
    )


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""

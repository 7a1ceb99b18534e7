"""The texts verification sends: the code (e-mail or SMS) and the notices to the
organization's global admins. Rendering only; ``verification.services`` decides when.

The code is passed in, rendered into the message and handed to the backend; nothing
here stores or logs it. Every text is rendered in its reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

from core import moments
from tenants.mail import HEADERS, KIND_HEADER, language
from tenants.models import Organization, Role, User
from tenants.zones import zone_for


class Notice:
    """What a notice to the global admins is about (``emails/pin_notice*``)."""

    SENT = "sent"
    USED = "used"
    LOCKED = "locked"
    UNLOCKED = "unlocked"


@dataclass(frozen=True, slots=True)
class CodeText:
    """Who asked for the code, for the message that carries it."""

    organization: Organization
    agent: User
    valid_minutes: int


def _code_context(text: CodeText, code: str) -> dict[str, Any]:
    return {
        "code": code,
        "organization": text.organization.name,
        "agent": text.agent.get_full_name(),
        "valid_minutes": text.valid_minutes,
    }


def code_email(*, text: CodeText, code: str, to: str, lang: str) -> EmailMultiAlternatives:
    context = _code_context(text, code)
    with translation.override(lang):
        subject = " ".join(render_to_string("emails/pin_code_subject.txt", context).split())
        body = render_to_string("emails/pin_code.txt", context)
        html = render_to_string("emails/pin_code.html", context)
    email = EmailMultiAlternatives(
        subject=subject,
        body=body,
        to=[to],
        headers={**HEADERS, KIND_HEADER: "verification-code"},
    )
    email.attach_alternative(html, "text/html")
    return email


def code_sms(*, text: CodeText, code: str, lang: str) -> str:
    with translation.override(lang):
        return " ".join(render_to_string("emails/pin_sms.txt", _code_context(text, code)).split())


def global_admins(organization: Organization) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True,
            memberships__organization=organization,
            memberships__role=Role.GLOBAL_ADMIN,
        )
        .distinct()
        .order_by("email")
    )


def _when(moment: datetime, organization: Organization, reader: User) -> str:
    # In the reader's own zone, else the organization's, with the zone in words ("Warsaw
    # time") in the reader's language; never its id.
    return moments.format_moment(moment, zone=zone_for(reader, organization=organization))


def notice_emails(
    *,
    notice: str,
    organization: Organization,
    staff: User,
    at: datetime,
    channel: str = "",
    caller_number: str = "",
    failures: int = 0,
) -> list[EmailMultiAlternatives]:
    """One e-mail per global admin of the organization, each in the admin's language."""
    emails = []
    for admin in global_admins(organization):
        with translation.override(language(admin.language)):
            context = {
                "notice": notice,
                "organization": organization.name,
                "staff": staff.get_full_name(),
                "when": _when(at, organization, admin),
                "channel": channel,
                "caller_number": caller_number,
                "failures": failures,
            }
            subject = " ".join(render_to_string("emails/pin_notice_subject.txt", context).split())
            body = render_to_string("emails/pin_notice.txt", context)
            html = render_to_string("emails/pin_notice.html", context)
        email = EmailMultiAlternatives(
            subject=subject,
            body=body,
            to=[admin.email],
            headers={**HEADERS, KIND_HEADER: f"verification-{notice}"},
        )
        email.attach_alternative(html, "text/html")
        emails.append(email)
    return emails

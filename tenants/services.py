"""Registered contacts (POL-PIN-1, POL-PIN-3): the use cases. The only writers of
``RegisteredPhone``, ``RegisteredEmail`` and ``ContactChange``, for the portal and the
Django admin alike.

Managing the account's verification contacts is a global-admin task (POL-WHO-2). Every
change needs the admin's password again, is recorded as a ``ContactChange`` (values
masked), and, once committed, is told by e-mail to every e-mail contact registered
*before* the change and to every global admin: if an attacker took over an admin
session, the real owners learn of it while the new contact is still in its 48-hour
cool-off and cannot receive codes (POLICY.md PIN defaults).

A refused attempt is recorded and committed before ``ContactError`` is raised, so wrong
passwords count even though nothing changes: after :data:`PASSWORD_MAX_WRONG` wrong
passwords within :data:`PASSWORD_WINDOW`, the user's contact changes are refused for
:data:`PASSWORD_LOCKOUT`. Callers must not run these services inside a transaction they
roll back on ``ContactError``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from phonenumber_field.phonenumber import PhoneNumber, to_python

from audit import services as audit
from audit.actions import Action
from core import moments
from core.refusals import Refused
from tenants.mail import HEADERS, KIND_HEADER, contact_language, contact_zone
from tenants.masking import mask_email, mask_phone
from tenants.models import (
    CONTACT_COOL_OFF,
    ContactAction,
    ContactChange,
    Membership,
    MembershipAction,
    MembershipChange,
    Organization,
    Partner,
    RegisteredEmail,
    RegisteredPhone,
    Role,
    User,
)
from tenants.zones import known_zones

logger = logging.getLogger(__name__)

# Wrong passwords: this many within the window refuse further changes for the lockout.
PASSWORD_MAX_WRONG = 5
PASSWORD_WINDOW = timedelta(minutes=15)
PASSWORD_LOCKOUT = timedelta(minutes=15)

LABEL_MAX_LENGTH = 100
# An input longer than this is not a phone number; parsing it would only cost time.
PHONE_INPUT_MAX_LENGTH = 64

# Error messages are module constants so tests and views can reuse them.
ERR_NOT_GLOBAL_ADMIN = _(
    "Only a global admin of the organization can change its registered contacts. "
    "Ask one of your global admins."
)
ERR_WRONG_PASSWORD = _("That is not your password. Nothing was changed.")
ERR_TOO_MANY_PASSWORDS = _(
    "Too many wrong passwords. For your security, contact changes are refused for "
    "%(minutes)d more minutes. Nothing was changed."
)
ERR_INVALID_PHONE = _(
    "This is not a valid phone number. Type it with the country code, for example +48 600 100 200."
)
ERR_INVALID_EMAIL = _("This is not a valid e-mail address.")
ERR_DUPLICATE_PHONE = _("This phone number is already registered for the organization.")
ERR_DUPLICATE_EMAIL = _("This e-mail address is already registered for the organization.")
ERR_LABEL_TOO_LONG = _("Keep the label under %(max)d characters.")
ERR_CONTACT_GONE = _("This contact is no longer registered.")


class ContactKind(models.TextChoices):
    """The two kinds of registered contact; also the ``kind`` part of the portal URLs."""

    PHONE = "phone", _("phone number")
    EMAIL = "email", _("e-mail address")


class ContactError(Refused):
    """A refused change of the registered contacts."""


class TimeZoneError(Refused):
    """A zone the database does not know."""


type Contact = RegisteredPhone | RegisteredEmail


# --- Pure rules ----------------------------------------------------------------------------


def may_manage_contacts(membership: Membership) -> bool:
    """POL-WHO-2 default: only global admins manage the verification contacts."""
    return membership.role == Role.GLOBAL_ADMIN and membership.user.is_active


def password_lock_ends(
    failures: Sequence[datetime],
    *,
    limit: int = PASSWORD_MAX_WRONG,
    window: timedelta = PASSWORD_WINDOW,
    lockout: timedelta = PASSWORD_LOCKOUT,
) -> datetime | None:
    """When the lock earned by these wrong-password times (oldest first) ends, or None.

    A lock starts at the wrong password that makes ``limit`` of them within ``window``
    and lasts ``lockout``. Pure: the caller compares the result with its ``now``.
    """
    ends = None
    for index in range(limit - 1, len(failures)):
        if failures[index] - failures[index - limit + 1] <= window:
            ends = failures[index] + lockout
    return ends


def masked(contact: Contact) -> str:
    if isinstance(contact, RegisteredPhone):
        return mask_phone(contact.number)
    return mask_email(contact.email)


def contact_kind(contact: Contact) -> ContactKind:
    return ContactKind.PHONE if isinstance(contact, RegisteredPhone) else ContactKind.EMAIL


def is_usable(contact: Contact, now: datetime) -> bool:
    """Past its cool-off: support may send it codes (and match its number) at ``now``."""
    return contact.active_from <= now


# --- Reads ---------------------------------------------------------------------------------


def contact_model(kind: str) -> type[RegisteredPhone] | type[RegisteredEmail] | None:
    if kind == ContactKind.PHONE:
        return RegisteredPhone
    if kind == ContactKind.EMAIL:
        return RegisteredEmail
    return None


def contact_pk(value: int | str) -> int | None:
    """``value`` as a primary key, or None: a huge number would overflow the database's
    integer before it could simply match nothing."""
    try:
        pk = int(value)
    except (TypeError, ValueError):
        return None
    return pk if 0 < pk < 2**63 else None


def usable_contacts_count(organization: Organization, now: datetime) -> int:
    return (
        RegisteredPhone.objects.filter(organization=organization).usable_at(now).count()
        + RegisteredEmail.objects.filter(organization=organization).usable_at(now).count()
    )


# --- Audit and refusals --------------------------------------------------------------------


def _actor_label(user: User) -> str:
    return user.email


def _record(
    *,
    organization: Organization,
    actor: User,
    action: ContactAction,
    now: datetime,
    masked_value: str = "",
    reason: str = "",
) -> ContactChange:
    # Ids and reasons only in the log: never a contact, never a password.
    logger.log(
        logging.WARNING if action == ContactAction.REFUSED else logging.INFO,
        "registered contacts %s organization=%s actor=%s reason=%s",
        action.value,
        organization.pk,
        actor.pk,
        reason or "-",
    )
    change = ContactChange.objects.create(
        organization=organization,
        actor=actor,
        actor_label=_actor_label(actor),
        action=action,
        reason=reason,
        masked_value=masked_value,
        created_at=now,
    )
    added = action in (ContactAction.PHONE_ADDED, ContactAction.EMAIL_ADDED)
    detail = {"change": action.value, "value": masked_value, "reason": reason}
    audit.record(
        action=(
            Action.CONTACT_REFUSED
            if action == ContactAction.REFUSED
            else Action.CONTACT_ADDED
            if added
            else Action.CONTACT_REMOVED
        ),
        actor=actor,
        organization=organization,
        target_label=masked_value,
        # Masked values only, as the ContactChange row keeps them.
        before={} if added or action == ContactAction.REFUSED else {"value": masked_value},
        after={key: value for key, value in detail.items() if value},
        now=now,
    )
    return change


def require_contact_manager(
    *, organization: Organization, actor_membership: Membership, now: datetime
) -> None:
    """Refuse (recorded) unless the actor is an active global admin of ``organization``."""
    if actor_membership.organization_id != organization.pk:
        # A membership of another organization: a programming error, never a user's.
        raise ContactError(ERR_NOT_GLOBAL_ADMIN, code="forbidden")
    if not may_manage_contacts(actor_membership):
        _record(
            organization=organization,
            actor=actor_membership.user,
            action=ContactAction.REFUSED,
            reason="forbidden",
            now=now,
        )
        raise ContactError(ERR_NOT_GLOBAL_ADMIN, code="forbidden")


def _lock_ends(user: User, now: datetime) -> datetime | None:
    failures = list(
        ContactChange.objects.filter(
            actor=user,
            reason="wrong_password",
            created_at__gt=now - PASSWORD_WINDOW - PASSWORD_LOCKOUT,
            created_at__lte=now,
        )
        .order_by("created_at", "pk")
        .values_list("created_at", flat=True)
    )
    ends = password_lock_ends(failures)
    return ends if ends is not None and ends > now else None


def _throttled(ends: datetime, now: datetime) -> ContactError:
    minutes = max(1, math.ceil((ends - now).total_seconds() / 60))
    return ContactError(
        ERR_TOO_MANY_PASSWORDS % {"minutes": minutes}, code="throttled", field="password"
    )


def _confirm_password(
    *, organization: Organization, user: User, password: str, now: datetime
) -> None:
    """Check the re-entered password, counting wrong ones; refusals are committed."""
    refusal: ContactError | None = None
    with transaction.atomic():
        # Serialise one user's attempts, so parallel guesses cannot all slip under the limit.
        User.objects.select_for_update().only("pk").get(pk=user.pk)
        ends = _lock_ends(user, now)
        if ends is not None:
            _record(
                organization=organization,
                actor=user,
                action=ContactAction.REFUSED,
                reason="throttled",
                now=now,
            )
            refusal = _throttled(ends, now)
        elif not user.check_password(password or ""):
            _record(
                organization=organization,
                actor=user,
                action=ContactAction.REFUSED,
                reason="wrong_password",
                now=now,
            )
            ends = _lock_ends(user, now)
            refusal = (
                _throttled(ends, now)
                if ends is not None
                else ContactError(ERR_WRONG_PASSWORD, code="wrong_password", field="password")
            )
    if refusal is not None:
        raise refusal


# --- Input ---------------------------------------------------------------------------------


def _clean_label(label: str | None) -> str:
    label = " ".join((label or "").split())
    if len(label) > LABEL_MAX_LENGTH:
        raise ContactError(
            ERR_LABEL_TOO_LONG % {"max": LABEL_MAX_LENGTH}, code="invalid", field="label"
        )
    return label


def parse_phone(number: str | None, organization: Organization) -> PhoneNumber:
    """The number in E.164, read with the organization's country as the default region."""
    text = (number or "").strip()
    if not text or len(text) > PHONE_INPUT_MAX_LENGTH or "\x00" in text:
        raise ContactError(ERR_INVALID_PHONE, code="invalid_number", field="number")
    parsed = to_python(text, region=organization.country.code or None)
    if not isinstance(parsed, PhoneNumber) or not parsed.is_valid():
        raise ContactError(ERR_INVALID_PHONE, code="invalid_number", field="number")
    return parsed


def clean_email(email: str | None) -> str:
    """The address, trimmed and lower-cased (as user accounts store theirs)."""
    text = (email or "").strip().lower()
    try:
        validate_email(text)
    except ValidationError:
        raise ContactError(ERR_INVALID_EMAIL, code="invalid_email", field="email") from None
    return text


# --- Notices -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Notice:
    """What the notice of one change says; every value is already masked."""

    change_id: int
    organization: Organization
    action: ContactAction
    masked_value: str
    actor: str
    at: datetime
    active_from: datetime | None
    recipients: tuple[str, ...]


def _who(user: User) -> str:
    """The actor as the notice names them: a name and a masked address, since the
    readers include outside addresses registered in the profile."""
    if user.full_name:
        return f"{user.full_name} ({mask_email(user.email)})"
    return mask_email(user.email)


def _when(moment: datetime, zone: ZoneInfo) -> str:
    # The zone in words ("Warsaw time"), in the recipient's language; never its id.
    return moments.format_moment(moment, zone=zone)


def _recipients_before_change(organization: Organization) -> tuple[str, ...]:
    """Every e-mail contact registered now (before the change, in cool-off or not) and
    every active global admin; each address once."""
    addresses = list(
        RegisteredEmail.objects.filter(organization=organization)
        .order_by("created_at", "pk")
        .values_list("email", flat=True)
    )
    addresses += list(
        User.objects.filter(
            is_active=True,
            memberships__organization=organization,
            memberships__role=Role.GLOBAL_ADMIN,
        )
        .order_by("email")
        .values_list("email", flat=True)
    )
    seen: dict[str, str] = {}
    for address in addresses:
        seen.setdefault(address.lower(), address)
    return tuple(seen.values())


def notice_email(
    notice: _Notice, *, to: str, lang: str, zone: ZoneInfo | None = None
) -> EmailMultiAlternatives:
    """The notice of one change for one reader, in the reader's language and time zone
    (``zone``; None: the organization's)."""
    zone = zone or notice.organization.zone
    with translation.override(lang):
        context = {
            "organization": notice.organization.name,
            "action": notice.action.value,
            "value": notice.masked_value,
            "actor": notice.actor,
            "when": _when(notice.at, zone),
            "active_from": _when(notice.active_from, zone) if notice.active_from else "",
        }
        subject = " ".join(render_to_string("emails/contacts_changed_subject.txt", context).split())
        body = render_to_string("emails/contacts_changed.txt", context)
        html = render_to_string("emails/contacts_changed.html", context)
    email = EmailMultiAlternatives(
        subject=subject,
        body=body,
        to=[to],
        headers={**HEADERS, KIND_HEADER: "contacts-changed"},
    )
    email.attach_alternative(html, "text/html")
    return email


def _send_notices(notice: _Notice) -> None:
    """Runs after commit: one e-mail per reader (no reader sees another's address). A
    mail failure is logged and noted in the audit trail, never raised: the change is
    already committed."""
    try:
        emails = [
            notice_email(
                notice,
                to=address,
                lang=contact_language(notice.organization, email=address),
                zone=contact_zone(notice.organization, email=address),
            )
            for address in notice.recipients
        ]
        if emails:
            with get_connection() as connection:
                connection.send_messages(emails)
        # The audit trail is written in English, whatever language the request has.
        outcome = f"{len(emails)} reader(s) told by e-mail."
    except Exception:
        logger.warning(
            "registered contacts notice %s could not be sent", notice.change_id, exc_info=True
        )
        outcome = "Notices NOT sent: the mail server refused them."
    ContactChange.objects.filter(pk=notice.change_id).update(outcome=outcome)


def _notify_after_commit(
    *,
    change: ContactChange,
    organization: Organization,
    actor: User,
    recipients: tuple[str, ...],
    active_from: datetime | None = None,
) -> None:
    notice = _Notice(
        change_id=change.pk,
        organization=organization,
        action=ContactAction(change.action),
        masked_value=change.masked_value,
        actor=_who(actor),
        at=change.created_at,
        active_from=active_from,
        recipients=recipients,
    )
    transaction.on_commit(lambda: _send_notices(notice), robust=True)


# --- Use cases -----------------------------------------------------------------------------


def phone_to_register(*, organization: Organization, number: str | None) -> PhoneNumber:
    """``number`` as it would be registered for ``organization``; refuses a number that is
    not valid, or is registered already however it is written."""
    parsed = parse_phone(number, organization)
    if RegisteredPhone.objects.filter(organization=organization, number=parsed).exists():
        raise ContactError(ERR_DUPLICATE_PHONE, code="duplicate", field="number")
    return parsed


def email_to_register(*, organization: Organization, email: str | None) -> str:
    """``email`` as it would be registered for ``organization``; refuses an address that is
    not valid, or is registered already in any letter case."""
    address = clean_email(email)
    if RegisteredEmail.objects.filter(organization=organization, email__iexact=address).exists():
        raise ContactError(ERR_DUPLICATE_EMAIL, code="duplicate", field="email")
    return address


def _register_phone(
    *, organization: Organization, actor: User, number: PhoneNumber, label: str, now: datetime
) -> RegisteredPhone:
    """Write an accepted phone number: the cool-off, the audit row and, after commit, the
    notices, in one transaction."""
    with transaction.atomic():
        recipients = _recipients_before_change(organization)
        try:
            with transaction.atomic():
                phone = RegisteredPhone.objects.create(
                    organization=organization,
                    number=number,
                    label=label,
                    created_at=now,
                    active_from=now + CONTACT_COOL_OFF,
                )
        except IntegrityError:  # registered at the same moment by someone else
            raise ContactError(ERR_DUPLICATE_PHONE, code="duplicate", field="number") from None
        change = _record(
            organization=organization,
            actor=actor,
            action=ContactAction.PHONE_ADDED,
            masked_value=mask_phone(number),
            now=now,
        )
        _notify_after_commit(
            change=change,
            organization=organization,
            actor=actor,
            recipients=recipients,
            active_from=phone.active_from,
        )
    return phone


def _register_email(
    *, organization: Organization, actor: User, email: str, label: str, now: datetime
) -> RegisteredEmail:
    """Write an accepted e-mail address: the cool-off, the audit row and, after commit,
    the notices, in one transaction."""
    with transaction.atomic():
        recipients = _recipients_before_change(organization)
        try:
            with transaction.atomic():
                registered = RegisteredEmail.objects.create(
                    organization=organization,
                    email=email,
                    label=label,
                    created_at=now,
                    active_from=now + CONTACT_COOL_OFF,
                )
        except IntegrityError:
            raise ContactError(ERR_DUPLICATE_EMAIL, code="duplicate", field="email") from None
        change = _record(
            organization=organization,
            actor=actor,
            action=ContactAction.EMAIL_ADDED,
            masked_value=mask_email(email),
            now=now,
        )
        _notify_after_commit(
            change=change,
            organization=organization,
            actor=actor,
            recipients=recipients,
            active_from=registered.active_from,
        )
    return registered


def _remove_contact(
    *,
    organization: Organization,
    actor: User,
    model: type[RegisteredPhone] | type[RegisteredEmail],
    pk: int,
    now: datetime,
) -> str:
    """Delete a contact with its audit row and, after commit, the notices; return its
    masked value."""
    with transaction.atomic():
        contact = model.objects.select_for_update().filter(organization=organization, pk=pk).first()
        if contact is None:  # removed meanwhile by another admin
            raise ContactError(ERR_CONTACT_GONE, code="not_found")
        # The removed address is among the readers: it existed before the change.
        recipients = _recipients_before_change(organization)
        value = masked(contact)
        contact.delete()
        change = _record(
            organization=organization,
            actor=actor,
            action=(
                ContactAction.PHONE_REMOVED
                if model is RegisteredPhone
                else ContactAction.EMAIL_REMOVED
            ),
            masked_value=value,
            now=now,
        )
        _notify_after_commit(
            change=change, organization=organization, actor=actor, recipients=recipients
        )
    return value


def contact_phone_add(
    *,
    organization: Organization,
    actor_membership: Membership,
    number: str,
    label: str,
    password: str,
    now: datetime,
) -> RegisteredPhone:
    """Register a phone number; it receives codes (and verifies calls from it) only after
    the 48-hour cool-off."""
    require_contact_manager(organization=organization, actor_membership=actor_membership, now=now)
    parsed = phone_to_register(organization=organization, number=number)
    label = _clean_label(label)
    actor = actor_membership.user
    _confirm_password(organization=organization, user=actor, password=password, now=now)
    return _register_phone(
        organization=organization, actor=actor, number=parsed, label=label, now=now
    )


def contact_email_add(
    *,
    organization: Organization,
    actor_membership: Membership,
    email: str,
    label: str,
    password: str,
    now: datetime,
) -> RegisteredEmail:
    """Register an e-mail address; it receives codes only after the 48-hour cool-off."""
    require_contact_manager(organization=organization, actor_membership=actor_membership, now=now)
    address = email_to_register(organization=organization, email=email)
    label = _clean_label(label)
    actor = actor_membership.user
    _confirm_password(organization=organization, user=actor, password=password, now=now)
    return _register_email(
        organization=organization, actor=actor, email=address, label=label, now=now
    )


def contact_remove(
    *,
    organization: Organization,
    actor_membership: Membership,
    kind: str,
    contact_id: int | str,
    password: str,
    now: datetime,
) -> str:
    """Remove a registered contact at once; return its masked value. Removing the last
    usable contact is allowed (the portal warns first): callers from unregistered numbers
    then cannot be verified until a new contact is past its cool-off."""
    require_contact_manager(organization=organization, actor_membership=actor_membership, now=now)
    model = contact_model(kind)
    pk = contact_pk(contact_id)
    if model is None or pk is None:
        raise ContactError(ERR_CONTACT_GONE, code="not_found")
    if not model.objects.filter(organization=organization, pk=pk).exists():
        raise ContactError(ERR_CONTACT_GONE, code="not_found")
    actor = actor_membership.user
    _confirm_password(organization=organization, user=actor, password=password, now=now)
    return _remove_contact(organization=organization, actor=actor, model=model, pk=pk, now=now)


# --- Registered contacts changed by provider staff (the Django admin) -----------------------
# A supervisor registers or removes a contact when the organization asks support to. The
# rules are the portal's: the same parsing and duplicates, the 48-hour cool-off (POL-PIN-1,
# POLICY.md PIN defaults), the ContactChange row in the same transaction, and the notice to
# the organization's e-mail contacts and global admins after commit, so the owners learn of
# a change they did not ask for while the new contact still cannot receive codes. Staff are
# signed in to the admin; there is no customer password to confirm.

ERR_NOT_PROVIDER_STAFF = _("Only provider staff with admin access can make this change here.")


def _is_provider_staff(user: User) -> bool:
    return user.is_active and user.is_staff


def contact_phone_add_by_staff(
    *, organization: Organization, staff: User, number: str, label: str, now: datetime
) -> RegisteredPhone:
    """Register a phone number for ``organization``; it receives codes only after the
    48-hour cool-off."""
    if not _is_provider_staff(staff):
        raise ContactError(ERR_NOT_PROVIDER_STAFF, code="forbidden")
    parsed = phone_to_register(organization=organization, number=number)
    label = _clean_label(label)
    return _register_phone(
        organization=organization, actor=staff, number=parsed, label=label, now=now
    )


def contact_email_add_by_staff(
    *, organization: Organization, staff: User, email: str, label: str, now: datetime
) -> RegisteredEmail:
    """Register an e-mail address for ``organization``; it receives codes only after the
    48-hour cool-off."""
    if not _is_provider_staff(staff):
        raise ContactError(ERR_NOT_PROVIDER_STAFF, code="forbidden")
    address = email_to_register(organization=organization, email=email)
    label = _clean_label(label)
    return _register_email(
        organization=organization, actor=staff, email=address, label=label, now=now
    )


def contact_remove_by_staff(*, contact: Contact, staff: User, now: datetime) -> str:
    """Remove a registered contact at once; return its masked value."""
    if not _is_provider_staff(staff):
        raise ContactError(ERR_NOT_PROVIDER_STAFF, code="forbidden")
    return _remove_contact(
        organization=contact.organization,
        actor=staff,
        model=type(contact),
        pk=contact.pk,
        now=now,
    )


# --- Members and roles (organization settings) ---------------------------------------------
# POL-WHO-2 default: the roles decide who may talk to support about what, so changing them
# is a global-admin task, audited like the registered contacts.

ERR_NOT_GLOBAL_ADMIN_MEMBERS = _(
    "Only a global admin of the organization can change its members and their roles. "
    "Ask one of your global admins."
)
ERR_LAST_GLOBAL_ADMIN = _(
    "Your organization needs at least one global admin, and you are the last one. "
    "Make another member a global admin first."
)
ERR_MEMBER_GONE = _("This person is no longer a member of the organization.")
ERR_SAME_ROLE = _("The member already has this role.")
ERR_UNKNOWN_ROLE = _("Choose one of the roles in the list.")


class MembershipError(Refused):
    """A refused change of members or roles."""


def may_manage_members(membership: Membership) -> bool:
    return membership.role == Role.GLOBAL_ADMIN and membership.user.is_active


def _member_for_change(
    organization: Organization, actor_membership: Membership, member_id: int
) -> Membership:
    """The member under a row lock, after checking the actor may change members."""
    if actor_membership.organization_id != organization.pk or not may_manage_members(
        actor_membership
    ):
        raise MembershipError(ERR_NOT_GLOBAL_ADMIN_MEMBERS, code="forbidden")
    return _locked_member(organization, member_id)


def _locked_member(organization: Organization, member_id: int) -> Membership:
    member = (
        Membership.objects.select_for_update()
        .select_related("user")
        .filter(organization=organization, pk=member_id)
        .first()
    )
    if member is None:
        raise MembershipError(ERR_MEMBER_GONE, code="not_found")
    return member


def _require_another_global_admin(
    organization: Organization, member: Membership, *, refusal: object = ERR_LAST_GLOBAL_ADMIN
) -> None:
    """At least one active global admin must remain once ``member`` stops being one.

    The other global admins' rows are locked, so two admins demoting each other at the
    same moment cannot both succeed and leave nobody."""
    if member.role != Role.GLOBAL_ADMIN:
        return
    others = list(
        Membership.objects.select_for_update()
        .filter(organization=organization, role=Role.GLOBAL_ADMIN, user__is_active=True)
        .exclude(pk=member.pk)
        .values_list("pk", flat=True)
    )
    if not others:
        raise MembershipError(refusal, code="last_global_admin", field="role")


def _record_membership(
    *,
    organization: Organization,
    actor: User,
    member: Membership,
    action: MembershipAction,
    role_after: str,
    now: datetime,
) -> MembershipChange:
    logger.info(
        "membership %s organization=%s actor=%s member=%s",
        action.value,
        organization.pk,
        actor.pk,
        member.user_id,
    )
    change = MembershipChange.objects.create(
        organization=organization,
        actor=actor,
        actor_label=_actor_label(actor),
        member=member.user,
        member_label=member.user.email,
        action=action,
        role_before=member.role,
        role_after=role_after,
        created_at=now,
    )
    audit.record(
        action={
            MembershipAction.ADDED: Action.MEMBER_ADDED,
            MembershipAction.ROLE_CHANGED: Action.MEMBER_ROLE_CHANGED,
            MembershipAction.REMOVED: Action.MEMBER_REMOVED,
        }[action],
        actor=actor,
        organization=organization,
        target=member.user,
        target_label=member.user.email,
        before={"role": member.role} if member.role else {},
        after={"role": role_after} if role_after else {},
        now=now,
    )
    return change


@transaction.atomic
def membership_change_role(
    *,
    organization: Organization,
    actor_membership: Membership,
    member_id: int,
    role: str,
    now: datetime,
) -> Membership:
    """Give a member another role; never leaves the organization without a global admin."""
    if role not in Role.values:
        raise MembershipError(ERR_UNKNOWN_ROLE, field="role")
    member = _member_for_change(organization, actor_membership, member_id)
    if member.role == role:
        raise MembershipError(ERR_SAME_ROLE, code="unchanged", field="role")
    if role != Role.GLOBAL_ADMIN:
        _require_another_global_admin(organization, member)
    _record_membership(
        organization=organization,
        actor=actor_membership.user,
        member=member,
        action=MembershipAction.ROLE_CHANGED,
        role_after=role,
        now=now,
    )
    member.role = role
    member.save(update_fields=["role"])
    return member


@transaction.atomic
def membership_remove(
    *, organization: Organization, actor_membership: Membership, member_id: int, now: datetime
) -> None:
    """Remove a member from the organization (their account stays); never the last
    global admin."""
    member = _member_for_change(organization, actor_membership, member_id)
    _require_another_global_admin(organization, member)
    _record_membership(
        organization=organization,
        actor=actor_membership.user,
        member=member,
        action=MembershipAction.REMOVED,
        role_after="",
        now=now,
    )
    member.delete()


# --- Members and roles changed by provider staff (the Django admin) ------------------------
# The same rules as the members page: the same roles, never an organization without a
# global admin, a MembershipChange row in the same transaction for every role change and
# removal.

ERR_LAST_GLOBAL_ADMIN_STAFF = _(
    "The organization needs at least one global admin, and this is its last one. "
    "Make another member a global admin first."
)
ERR_ALREADY_MEMBER = _("This person is already a member of the organization.")


def _require_staff_for_members(staff: User) -> None:
    if not _is_provider_staff(staff):
        raise MembershipError(ERR_NOT_PROVIDER_STAFF, code="forbidden")


@transaction.atomic
def membership_add_by_staff(
    *, organization: Organization, user: User, role: str, staff: User, now: datetime
) -> Membership:
    """Make ``user`` a member of ``organization`` (how an organization gets its first
    global admin)."""
    _require_staff_for_members(staff)
    if role not in Role.values:
        raise MembershipError(ERR_UNKNOWN_ROLE, field="role")
    if Membership.objects.filter(organization=organization, user=user).exists():
        raise MembershipError(ERR_ALREADY_MEMBER, code="duplicate", field="user")
    try:
        with transaction.atomic():
            member = Membership.objects.create(organization=organization, user=user, role=role)
    except IntegrityError:  # added at the same moment by someone else
        raise MembershipError(ERR_ALREADY_MEMBER, code="duplicate", field="user") from None
    # Recorded with no role before: who now belongs, and as what.
    _record_membership(
        organization=organization,
        actor=staff,
        member=Membership(organization=organization, user=user, role=""),
        action=MembershipAction.ADDED,
        role_after=role,
        now=now,
    )
    return member


@transaction.atomic
def membership_change_role_by_staff(
    *, member: Membership, role: str, staff: User, now: datetime
) -> Membership:
    """Give a member another role; never leaves the organization without a global admin."""
    _require_staff_for_members(staff)
    if role not in Role.values:
        raise MembershipError(ERR_UNKNOWN_ROLE, field="role")
    organization = member.organization
    member = _locked_member(organization, member.pk)
    if member.role == role:
        raise MembershipError(ERR_SAME_ROLE, code="unchanged", field="role")
    if role != Role.GLOBAL_ADMIN:
        _require_another_global_admin(organization, member, refusal=ERR_LAST_GLOBAL_ADMIN_STAFF)
    _record_membership(
        organization=organization,
        actor=staff,
        member=member,
        action=MembershipAction.ROLE_CHANGED,
        role_after=role,
        now=now,
    )
    member.role = role
    member.save(update_fields=["role"])
    return member


@transaction.atomic
def membership_remove_by_staff(*, member: Membership, staff: User, now: datetime) -> None:
    """Remove a member from the organization (their account stays); never the last
    global admin."""
    _require_staff_for_members(staff)
    organization = member.organization
    member = _locked_member(organization, member.pk)
    _require_another_global_admin(organization, member, refusal=ERR_LAST_GLOBAL_ADMIN_STAFF)
    _record_membership(
        organization=organization,
        actor=staff,
        member=member,
        action=MembershipAction.REMOVED,
        role_after="",
        now=now,
    )
    member.delete()


def user_set_time_zone(*, user: User, time_zone: str) -> User:
    """The zone the person reads times in; blank: their organization's (a customer) or
    the desk's (staff). An unknown zone is refused."""
    time_zone = time_zone.strip()
    if time_zone and time_zone not in known_zones():
        raise TimeZoneError(
            _("%(value)s is not a known time zone.") % {"value": time_zone}, field="time_zone"
        )
    user.time_zone = time_zone
    user.save(update_fields=["time_zone"])
    return user


# --- Organization settings and staff access (the Django admin) -----------------------------
# Written by the admin's forms; each change leaves an audit row in the admin's transaction
# (issue 17): the values before and after, by field name.


def organization_settings_record(
    *,
    organization: Organization,
    actor: User,
    before: dict[str, object],
    after: dict[str, object],
    now: datetime,
) -> bool:
    """Audit a change of an organization's settings (``before`` empty: created); False
    when no value differs."""
    old = {name: audit.plain(value) for name, value in before.items()}
    new = {name: audit.plain(value) for name, value in after.items()}
    changed = sorted(name for name in new if old.get(name) != new[name] or name not in old)
    if not changed:
        return False
    audit.record(
        action=Action.ORGANIZATION_CHANGED,
        actor=actor,
        organization=organization,
        target=organization,
        before={name: old[name] for name in changed if name in old},
        after={name: new[name] for name in changed},
        now=now,
    )
    return True


# --- Partners (POL-WHO-4) -------------------------------------------------------------------

# What a partner's audit rows name with their values: every field the admin edits. The
# rows belong to no organization: a partner serves several.
PARTNER_FIELDS = ("name", "phone", "email", "url")


@transaction.atomic
def partner_save(*, partner: Partner, actor: User | None, now: datetime) -> Partner:
    """Create a partner or save its changes, with an audit row naming what changed (a
    save that changes nothing writes none)."""
    return audit.save_recorded(
        partner,
        fields=PARTNER_FIELDS,
        created=Action.PARTNER_CREATED,
        changed=Action.PARTNER_CHANGED,
        actor=actor,
        now=now,
    )


@transaction.atomic
def partner_delete(*, partner: Partner, actor: User | None, now: datetime) -> None:
    """Delete a partner (one no organization names: they protect it); the audit row keeps
    its details."""
    audit.delete_recorded(
        partner, fields=PARTNER_FIELDS, deleted=Action.PARTNER_DELETED, actor=actor, now=now
    )


# What decides a staff account's reach: the admin site, the desk, every permission.
ACCESS_FIELDS = ("is_active", "is_staff", "staff_role", "is_superuser", "groups")


def account_access_record(
    *, user: User, actor: User, before: dict[str, object], after: dict[str, object], now: datetime
) -> bool:
    """Audit a change of what an account may do (active, staff, role, superuser, groups);
    False when none of those changed."""
    old = {name: audit.plain(before[name]) for name in ACCESS_FIELDS if name in before}
    new = {name: audit.plain(after[name]) for name in ACCESS_FIELDS if name in after}
    changed = sorted(name for name in new if name in old and old[name] != new[name])
    if not changed:
        return False
    audit.record(
        action=Action.ACCOUNT_ACCESS_CHANGED,
        actor=actor,
        target=user,
        target_label=user.email,
        before={name: old.get(name) for name in changed},
        after={name: new[name] for name in changed},
        now=now,
    )
    return True


@transaction.atomic
def user_delete_by_staff(*, user: User, staff: User, now: datetime) -> None:
    """Delete an account: each membership is removed through the members' rule first (never
    an organization's last global admin; one audit row each), then the account."""
    _require_staff_for_members(staff)
    for member in Membership.objects.filter(user=user).select_related("organization"):
        membership_remove_by_staff(member=member, staff=staff, now=now)
    if user.is_staff or user.is_superuser or user.staff_role:
        account_access_record(
            user=user,
            actor=staff,
            before={"is_active": user.is_active, "is_staff": user.is_staff,
                    "staff_role": user.staff_role, "is_superuser": user.is_superuser},
            after={"is_active": False, "is_staff": False, "staff_role": "",
                   "is_superuser": False},
            now=now,
        )  # fmt: skip
    user.delete()


@transaction.atomic
def organization_delete_by_staff(*, organization: Organization, staff: User, now: datetime) -> None:
    """Delete an organization with everything it owns; the audit row keeps its name (the
    row's link to it is cleared with it)."""
    _require_staff_for_members(staff)
    audit.record(
        action=Action.ORGANIZATION_CHANGED,
        actor=staff,
        organization=organization,
        target=organization,
        before={"name": organization.name, "slug": organization.slug},
        after={"deleted": True},
        now=now,
    )
    organization.delete()

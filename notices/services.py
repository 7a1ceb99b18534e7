"""Every write of the notices app: follow, CC, read marks, preferences, and the outbox
handler that writes the in-app notices. Keyword-only, one transaction each."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from audit import services as audit
from audit.actions import Action
from core.refusals import Refused
from notices import rules
from notices.models import (
    CcAction,
    CcChange,
    NoticeKind,
    NoticePreference,
    StaffNotice,
    TicketCc,
    TicketFollower,
)
from tenants.models import Membership, User
from tickets.models import Event, EventKind, Ticket

ERR_NOT_AGENT = _("Only support staff can follow a request.")
ERR_NOT_COLLEAGUE = _("Only members of the request's organization can be kept informed.")
ERR_NOT_CC = _("This person is not kept informed of the request.")

# The customer-facing public updates CC'd colleagues receive (issue 14, item 6): never
# the internal ones, nor the confirmation and severity mails meant for the contact.
CC_EVENT_KINDS = frozenset({EventKind.REPLIED, EventKind.INFORMATION_REQUESTED, EventKind.RESOLVED})


class NoticeError(Refused):
    pass


# --- The outbox's handler and the e-mail sources ----------------------------------------------


def notices_for_events(events: list[Event], *, now: datetime) -> int:
    """Write the in-app notices of these Events; a second run writes none again (the
    unique recipient and Event), as the outbox may hand an Event over more than once."""
    told = rules.told(events)
    rows = [
        StaffNotice(
            recipient=person,
            ticket=event.ticket,
            event=event,
            kind=kind,
            created_at=event.created_at,
        )
        for event in events
        for person, kind in told.get(event.pk, [])
    ]
    if not rows:
        return 0
    StaffNotice.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def staff_mail_recipients(events: Sequence[Event]) -> Mapping[int, Sequence[User | str]]:
    """For ``tickets.notifications``: the staff e-mailed about each Event — those the rules
    tell whose preference keeps that kind's e-mail on, and the duty manager's address on
    an escalation to level 2 and above."""
    told = rules.told(events)
    user_ids = {person.pk for people in told.values() for person, _kind in people}
    preferences = {
        preference.user_id: preference
        for preference in NoticePreference.objects.filter(user_id__in=user_ids)
    }
    result: dict[int, list[User | str]] = {}
    for event in events:
        wanted: list[User | str] = [
            person
            for person, kind in told.get(event.pk, [])
            if person.pk not in preferences or preferences[person.pk].wants_email(kind)
        ]
        if event.kind == EventKind.ESCALATED and rules.escalation_level(event) >= 2:
            known = {person.email.lower() for person, _kind in told.get(event.pk, [])}
            for duty in rules.duty_addresses(event):
                if duty.lower() not in known:
                    wanted.append(duty)
                    known.add(duty.lower())
        if wanted:
            result[event.pk] = wanted
    return result


def cc_mail_recipients(
    events: Sequence[Event],
) -> Mapping[int, Sequence[tuple[str, str, str]]]:
    """For ``tickets.notifications``: by ticket id, the (address, language, time zone) of
    the active colleagues kept informed of the tickets whose public updates are among
    ``events``; the zone is "" for someone reading in their organization's."""
    organization_of = {
        event.ticket_id: event.organization_id
        for event in events
        if event.kind in CC_EVENT_KINDS and event.ticket_id is not None
    }
    if not organization_of:
        return {}
    ccs = list(
        TicketCc.objects.filter(ticket_id__in=organization_of, user__is_active=True)
        .select_related("user")
        .order_by("created_at", "pk")
    )
    # Someone who has left the organization is kept informed no longer (POL-WHO-1).
    members = set(
        Membership.objects.filter(user_id__in={cc.user_id for cc in ccs}).values_list(
            "organization_id", "user_id"
        )
    )
    result: dict[int, list[tuple[str, str, str]]] = {}
    for cc in ccs:
        if (organization_of[cc.ticket_id], cc.user_id) in members:
            result.setdefault(cc.ticket_id, []).append(
                (cc.user.email, cc.user.language, cc.user.time_zone)
            )
    return result


# --- Followers ----------------------------------------------------------------------------------


def _record_following(*, ticket: Ticket, agent: User, action: str, now: datetime) -> None:
    # The request's reference, not its title: the title is the customer's words, and the
    # trail outlives the request (retention, erasure).
    audit.record(
        action=action,
        actor=agent,
        organization=ticket.organization_id,
        target=ticket,
        target_label=ticket.reference,
        now=now,
    )


@transaction.atomic
def follow(*, ticket: Ticket, agent: User, now: datetime) -> TicketFollower:
    """Tell ``agent`` about the request as its assignee is told; one audit row when they
    start following, none when they already did."""
    if not agent.is_agent:
        raise NoticeError(ERR_NOT_AGENT, code="forbidden")
    follower, created = TicketFollower.objects.get_or_create(
        ticket=ticket, user=agent, defaults={"created_at": now}
    )
    if created:
        _record_following(ticket=ticket, agent=agent, action=Action.TICKET_FOLLOWED, now=now)
    return follower


@transaction.atomic
def unfollow(*, ticket: Ticket, agent: User, now: datetime) -> bool:
    """Stop following; False (and no audit row) when ``agent`` did not follow it."""
    deleted, _by_model = TicketFollower.objects.filter(ticket=ticket, user=agent).delete()
    if deleted:
        _record_following(ticket=ticket, agent=agent, action=Action.TICKET_UNFOLLOWED, now=now)
    return deleted > 0


def is_following(*, ticket: Ticket, user: User) -> bool:
    return TicketFollower.objects.filter(ticket=ticket, user=user).exists()


# --- CC -----------------------------------------------------------------------------------------


@transaction.atomic
def cc_add(*, ticket: Ticket, user: User, actor: Membership, now: datetime) -> TicketCc:
    """Keep a colleague informed: a member of the ticket's organization only; the acting
    admin's organization is the ticket's (POL-WHO-1: admins act, the colleague may be a
    plain user)."""
    if actor.organization_id != ticket.organization_id or not actor.is_admin:
        raise NoticeError(ERR_NOT_COLLEAGUE, code="forbidden")
    if not (
        user.is_active
        and Membership.objects.filter(organization_id=ticket.organization_id, user=user).exists()
    ):
        raise NoticeError(ERR_NOT_COLLEAGUE, code="not_colleague", field="user")
    cc, created = TicketCc.objects.get_or_create(
        ticket=ticket, user=user, defaults={"added_by": actor.user, "created_at": now}
    )
    if created:
        CcChange.objects.create(
            ticket=ticket, user=user, action=CcAction.ADDED, actor=actor.user, created_at=now
        )
    return cc


@transaction.atomic
def cc_remove(*, ticket: Ticket, user: User, actor: Membership, now: datetime) -> None:
    if actor.organization_id != ticket.organization_id or not actor.is_admin:
        raise NoticeError(ERR_NOT_COLLEAGUE, code="forbidden")
    deleted, _by_model = TicketCc.objects.filter(ticket=ticket, user=user).delete()
    if not deleted:
        raise NoticeError(ERR_NOT_CC, code="not_found", field="user")
    CcChange.objects.create(
        ticket=ticket, user=user, action=CcAction.REMOVED, actor=actor.user, created_at=now
    )


# --- Reading and preferences ------------------------------------------------------------------


@transaction.atomic
def mark_read(*, notice: StaffNotice, now: datetime) -> StaffNotice:
    StaffNotice.objects.filter(pk=notice.pk, read_at__isnull=True).update(read_at=now)
    notice.refresh_from_db(fields=["read_at"])
    return notice


@transaction.atomic
def mark_all_read(*, user: User, now: datetime) -> int:
    return StaffNotice.objects.for_user(user).unread().update(read_at=now)


@transaction.atomic
def set_preferences(*, user: User, email: Mapping[str, bool]) -> NoticePreference:
    """Switch the e-mail of each named notice kind on or off; unnamed kinds keep theirs."""
    preference, _created = NoticePreference.objects.get_or_create(user=user)
    for kind in NoticeKind.values:
        if kind in email:
            setattr(preference, f"email_{kind}", bool(email[kind]))
    preference.save()
    return preference
